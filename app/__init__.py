"""The application layer every front end calls (CLI, HTTP API, web, Python users)."""

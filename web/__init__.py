"""The web app for the sales team: server-rendered pages (Jinja2), served by `dealflow serve`."""

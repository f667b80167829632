"""Run the dealflow worker: `python worker.py` is `dealflow worker`.

With TEMPORAL_ADDRESS / DATABASE_URL unset it starts (or reuses) the embedded Temporal dev server
and PostgreSQL under DEALFLOW_DATA_DIR (default .dealflow/) and keeps them up while it runs.
Stop it with Ctrl-C or SIGTERM; a killed worker loses nothing: Temporal re-delivers its work.
"""

from cli.main import run

if __name__ == "__main__":
    run(["worker"])

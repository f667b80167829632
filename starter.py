"""dealflow's command line: `python starter.py …` is `dealflow …` (see `dealflow --help`)."""

from cli.main import main, run

__all__ = ["main"]  # `await starter.main([...])` runs a command line and returns its exit code

if __name__ == "__main__":
    run()

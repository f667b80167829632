"""The command line `dealflow` (and `python starter.py`): one module per command group, rendering
in render*.py and chart.py, the entry point and exit codes in main.py."""

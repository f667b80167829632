"""Subcommands of starter.py that live in modules of their own."""

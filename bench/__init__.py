"""Benchmarks and the large-history generator (see BENCHMARKS.md)."""

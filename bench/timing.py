"""Latency figures the benchmarks share."""

import statistics


def p50_p95(milliseconds: list[float]) -> dict[str, float]:
    """Median and 95th percentile (nearest rank) of a list of timings."""
    ordered = sorted(milliseconds)
    return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)]}

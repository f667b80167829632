"""The results table in BENCHMARKS.md: rewritten between its markers, the prose around it kept."""

from pathlib import Path
from typing import Any

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def _table(r: dict[str, Any]) -> str:
    m, rs, ing, lc, ws, mem = (
        r["machine"],
        r["read_side"],
        r["ingest"],
        r["lifecycle"],
        r["worker_scaling"],
        r["memory"],
    )
    copy_in = ing.get("copy_into_events_per_s", 0.0)
    lines = [
        f"Measured {r['date']} with `{r['command']}` ({r['size']} size, {r['seconds']:.0f} s in all) on "
        f"{m['cpus']} CPUs, {m['platform']}, Python {m['python']}, PostgreSQL {m['postgresql']} "
        f"({m['database']}), Temporal: {m['temporal']}.",
        "",
        "| what | dealflow | reference (same run) | ratio | target |",
        "|---|---|---|---|---|",
        f"| 1. lifecycles through 7 stages ({lc['lifecycles']} each, {lc['concurrency']} in flight) "
        f"| {lc['dealflow']['lifecycles_per_s']:.2f}/s, {lc['dealflow']['moves_per_s']:.1f} moves/s "
        f"| bare workflow {lc['bare']['lifecycles_per_s']:.2f}/s, {lc['bare']['moves_per_s']:.1f} moves/s "
        f"| {lc['ratio']:.2f}x | >= 0.8x |",
        f"| 2. event store ingest ({ing['events']:,} events, {ing['append_batch']} per append) "
        f"| append {ing['append_per_s']:,.0f} events/s | raw COPY {ing['copy_per_s']:,.0f} events/s "
        f"| {ing['ratio']:.2f}x | >= 0.5x |",
        "| 2. COPY into the indexed events table (`copy_in`) "
        f"| {copy_in:,.0f} events/s | raw COPY {ing['copy_per_s']:,.0f} events/s "
        f"| {copy_in / ing['copy_per_s']:.2f}x | |",
        f"| 2. single-event append latency ({ing['singles']} appends) "
        f"| p50 {ing['single_p50_ms']:.2f} ms, p95 {ing['single_p95_ms']:.2f} ms | | | |",
        f"| 3. projector full rebuild ({rs['events']:,} events) "
        f"| {rs['rebuild_s']:.1f} s, {rs['rebuild_events_per_s']:,.0f} events/s "
        f"| `INSERT … SELECT` of the stage visits alone: {rs['reference_s']:.1f} s "
        f"({rs['reference_rows_differing']} rows differ) "
        f"| {rs['reference_s'] / rs['rebuild_s']:.2f}x | |",
        "| 3. projector catch-up, read models full size "
        f"| {rs['incremental_events_per_s'] or 0:,.0f} events/s | | | |",
    ]
    for name, q in rs["queries"].items():
        verdict = "met" if q["p95_ms"] < 50 else "missed"
        lines.append(
            f"| 4. {name} | p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms | | | p95 < 50 ms: {verdict} |"
        )
    lines += [
        "| 5. worker processes (dealflow lifecycles) "
        f"| 2 processes {ws['2_process']['lifecycles_per_s']:.2f}/s "
        f"| 1 process {ws['1_process']['lifecycles_per_s']:.2f}/s | {ws['ratio']:.2f}x | |",
        f"| 5. worker RSS, {mem['open']:,} relationships waiting on timers | {mem['rss_loaded_mb']:.0f} MB "
        f"| idle worker {mem['rss_idle_mb']:.0f} MB | | |",
    ]
    return "\n".join(lines)


def write_markdown(results: dict[str, Any], path: Path) -> None:
    block = f"{BEGIN}\n{_table(results)}\n{END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + block + tail)

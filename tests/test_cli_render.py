"""The report's tables say what their figures are: the team rows hold one statistic per column."""

import io
from datetime import UTC, datetime

from rich.console import Console

from cli.render import print_report
from reports.cycle_times import Breakdown, CycleTimeReport, Stats
from reports.period import Period


def _stats(n: int, mean: float) -> Stats:
    return Stats(n=n, mean=mean, median=mean, p90=mean)


def test_the_team_mean_row_shows_deals_won_per_rep_not_the_team_total() -> None:
    period = Period.until(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    reps = {"an.li": _stats(6, 30.0), "bo.wang": _stats(2, 50.0), "cy.zhao": None}
    cycle = Breakdown(team=_stats(8, 35.0), by_rep={r: s for r, s in reps.items() if s})
    lead = Breakdown(
        team=_stats(12, 4.0),
        by_rep={"an.li": _stats(6, 3.0), "bo.wang": _stats(3, 5.0), "cy.zhao": _stats(3, 4.0)},
    )
    report = CycleTimeReport(
        period=period,
        pipeline=None,
        cycles={"lead_conversion": lead, "sales_cycle": cycle, "total_sales": cycle},
        stages={},
    )
    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    rows = {
        line.split("│")[1].strip().removesuffix(" ⚑"): line.split("│")[-2].strip()
        for line in out.getvalue().splitlines()
        if "│" in line
    }
    assert (rows["an.li"], rows["bo.wang"], rows["cy.zhao"]) == ("6", "2", "0")
    assert rows["team mean"] == "2.7"  # (6 + 2 + 0) / 3 reps, not the team's 8
    assert rows["team median"] == "2"
    assert "the team won 8 deals in the period (3 reps)" in out.getvalue()

"""Which reps run slow, and where their time goes (004's 小A): a pure function of a report."""

from datetime import UTC, datetime

from reports.cycle_times import Breakdown, CycleTimeReport, Stats, laggards
from reports.period import Period

T = datetime(2026, 1, 1, tzinfo=UTC)


def _stats(mean: float) -> Stats:
    return Stats(n=3, mean=mean, median=mean, p90=mean)


def _report(by_rep: dict[str, float], stages: dict[str, dict[str, float]]) -> CycleTimeReport:
    team = sum(by_rep.values()) / len(by_rep)
    return CycleTimeReport(
        period=Period.until(T, T.replace(year=2027)),
        pipeline=None,
        cycles={"sales_cycle": Breakdown(_stats(team), {r: _stats(m) for r, m in by_rep.items()})},
        stages={
            stage: Breakdown(_stats(sum(reps.values()) / len(reps)), {r: _stats(m) for r, m in reps.items()})
            for stage, reps in stages.items()
        },
    )


def test_a_slow_rep_is_flagged_with_the_stage_where_the_time_goes() -> None:
    report = _report(
        {"xiao.a": 60, "an.li": 40},
        {"contact": {"xiao.a": 5, "an.li": 5}, "negotiation": {"xiao.a": 30, "an.li": 10}},
    )
    (lag,) = laggards(report)
    assert (lag.rep, lag.stage, lag.stage_excess_days) == ("xiao.a", "negotiation", 10.0)
    assert (lag.sales_cycle_days, lag.team_days) == (60, 50)


def test_no_stage_is_named_when_the_rep_is_no_slower_in_any() -> None:
    # Slower over the whole cycle (more visits, say), yet never slower per visit than the team.
    report = _report({"xiao.a": 60, "an.li": 40}, {"negotiation": {"xiao.a": 10, "an.li": 10}})
    (lag,) = laggards(report)
    assert lag.stage is None


def test_stages_outside_the_sales_cycle_do_not_count() -> None:
    report = _report({"xiao.a": 60, "an.li": 40}, {"deal": {"xiao.a": 30, "an.li": 1}})
    assert laggards(report)[0].stage is None

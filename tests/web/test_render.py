"""What the pages are made of, without servers: the timeline's lines, the charts, the filters."""

from datetime import UTC, datetime, timedelta

from tests.factories import script
from web import charts
from web.render import age, days, money, until
from web.timeline import timeline


def test_the_timeline_says_what_each_move_added_newest_first() -> None:
    steps: list[tuple[float, str]] = [(0, "identify"), (1, "contact"), (2, "needs_analysis"), (3, "lost")]
    lines = timeline(script("A", "an.li", "software", steps))
    assert [x.title for x in lines] == [
        "Lost in needs analysis: price",
        "Moved to needs analysis",
        "Moved to contact",
        "Lead opened for an.li",
    ]
    assert "pain points" in lines[2].detail  # the first move sent every fact: each is new then
    assert lines[1].detail == ""  # the same facts again add nothing
    assert [x.kind for x in lines] == ["lost", "stage", "stage", "stage"]


def test_charts_escape_what_people_typed() -> None:
    svg = charts.bars(
        "Reps", [charts.Bar("<script>", 3.0, "3 d", marker=2.0, flagged=True)], marker_label="team"
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'class="bar flagged"' in svg
    assert str(charts.columns("Months", ["Jan"], [charts.Series("won", "s-won", [0])])).startswith("<svg")


def test_filters() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert money(1234567) == "1,234,567"
    assert days(0.01) == "< 1 h"
    assert days(0.5) == "12 h"
    assert days(3.25) == "3.2 d"
    assert age(now - timedelta(days=2), now) == "2.0 d"
    assert until(now - timedelta(hours=1), now) == "overdue"

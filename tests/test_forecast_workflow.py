"""The forecast's commands through the workflow: the expected close date set by a move's facts and
alone (a push, a pull-in), the forecast category set and cleared; refusals named, nothing recorded."""

import uuid
from datetime import date

import pytest

from app.deal_client import DealClient, DealRefused
from domain.commands import MarkLost, SetExpectedCloseDate, SetForecastCategory
from domain.events import ExpectedCloseDateSet, ForecastCategorySet
from domain.opportunity import replay
from domain.stages import LossReason, Stage
from store.event_store import EventStore
from tests.factories import advance_to, open_cmd


async def test_close_dates_and_categories_are_events(deals: DealClient, store: EventStore) -> None:
    oid = f"fc-{uuid.uuid4().hex[:8]}"
    await deals.open(open_cmd(oid))
    state = await deals.advance(oid, advance_to(Stage.CONTACT))  # ALL_FACTS: closing 2026-06-30
    assert (state.expected_close_date, state.version) == (date(2026, 6, 30), 3)
    state = await deals.set_close_date(oid, SetExpectedCloseDate(expected_close_date="2026-09-30"))
    assert (state.expected_close_date, state.close_date_pushes) == (date(2026, 9, 30), 1)
    state = await deals.set_close_date(oid, SetExpectedCloseDate(expected_close_date="2026-08-31"))
    assert (state.expected_close_date, state.close_date_pushes) == (date(2026, 8, 31), 1)  # a pull-in
    state = await deals.set_forecast_category(oid, SetForecastCategory(category="commit"))
    assert state.forecast_category == "commit"
    state = await deals.set_forecast_category(oid, SetForecastCategory(category=None))
    assert (state.forecast_category, state.version) == (None, 7)

    for cmd, rule in (
        (SetExpectedCloseDate(expected_close_date="2026-02-30"), "close-date-format"),
        (SetExpectedCloseDate(expected_close_date="31/08/2026"), "close-date-format"),
        (SetExpectedCloseDate(expected_close_date="2207-01-01"), "close-date-range"),
        (SetExpectedCloseDate(expected_close_date="2026-08-31"), "close-date-unchanged"),
        (SetForecastCategory(category="upside"), "forecast-category"),
        (SetForecastCategory(category=None), "forecast-category-unchanged"),
    ):
        call = (
            deals.set_close_date(oid, cmd)
            if isinstance(cmd, SetExpectedCloseDate)
            else deals.set_forecast_category(oid, cmd)
        )
        with pytest.raises(DealRefused) as refused:
            await call
        assert refused.value.rule == rule
    with pytest.raises(DealRefused) as refused:  # a move whose close-date fact is no date
        await deals.advance(oid, advance_to(Stage.NEEDS_ANALYSIS, facts={"expected_close_date": "soon"}))
    assert refused.value.rule == "close-date-format"
    await deals.mark_lost(oid, MarkLost(reason=LossReason.PRICE))
    with pytest.raises(DealRefused) as refused:
        await deals.set_close_date(oid, SetExpectedCloseDate(expected_close_date="2026-12-31"))
    assert refused.value.rule == "forecast-open-only"

    stored = await store.read_stream(oid)
    assert len(stored) == 8  # nothing of the refused ones
    sets = [e for e in stored if isinstance(e, ExpectedCloseDateSet)]
    assert [(e.previous, e.expected_close_date) for e in sets] == [
        (None, date(2026, 6, 30)),
        (date(2026, 6, 30), date(2026, 9, 30)),
        (date(2026, 9, 30), date(2026, 8, 31)),
    ]
    assert [e.category for e in stored if isinstance(e, ForecastCategorySet)] == ["commit", None]
    assert replay(stored) == await deals.show(oid)

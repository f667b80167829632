"""The read models behind the board and the dashboard, on events with times of their own: cards
in their current stage with the stalled flag, the money open per stage and the months, as of a day."""

from datetime import timedelta
from decimal import Decimal

from domain.pipeline import load_catalog
from reports.board import board, open_money
from reports.monthly_trend import monthly_trend
from reports.projector import Projector
from store.event_store import EventStore
from tests.factories import T0, script

CATALOG = load_catalog()


async def test_the_board_and_the_dashboard_as_of_a_day(store: EventStore) -> None:
    idle = script("A", "an.li", "software", [(0, "identify"), (1, "contact")], company="Idle Co")
    busy = script("B", "bo.wang", "software", [(0, "identify"), (1, "contact"), (12, "needs_analysis")])
    lost = script("C", "an.li", "software", [(0, "identify"), (2, "lost")])
    steps: list[tuple[float, str]] = [(0, "identify"), (0, "contact"), (40, "needs_analysis")]
    steps += [(41, "proposal"), (42, "negotiation"), (45, "deal")]
    won = script("D", "chen.zhao", "software", steps)
    await store.append([*idle, *busy, *lost, *won])
    await Projector(store).catch_up()
    async with store.pool.connection() as conn:
        columns = {c.stage: c for c in await board(conn, CATALOG, T0 + timedelta(days=14))}
        mine = await board(
            conn, CATALOG, T0 + timedelta(days=14), owner="bo.wang", stages=("needs_analysis",)
        )
        early = await open_money(conn, T0 + timedelta(days=1, hours=1))
        months = await monthly_trend(conn, T0, T0 + timedelta(days=50))
        before = await monthly_trend(conn, T0, T0 + timedelta(days=20))
    [card] = columns["contact"].cards
    assert (card.opportunity_id, card.company, card.stalled, card.sla_days) == ("A", "Idle Co", True, 10)
    assert [(c.opportunity_id, c.stalled) for c in columns["needs_analysis"].cards] == [("B", False)]
    assert columns["identify"].total == 0  # C was lost there: off the board
    assert [c.opportunity_id for c in columns["deal"].cards] == ["D"]
    assert [c.opportunity_id for c in mine[0].cards] == ["B"]
    assert early == {"contact": (3, Decimal(300000)), "identify": (1, Decimal(100000))}  # C not lost yet
    assert sum(m.opened for m in months) == 4
    assert sum(m.won for m in months) == 1
    assert sum(m.lost for m in months) == 1
    assert sum(m.won for m in before) == 0  # as of day 20 the deal was not won yet

"""The reports read read models now; before, each read the events' JSON with SQL of its own. That
SQL is kept here as the reference: over random whole lives of deals (tests/random_lives.py) and
random periods, every report gives exactly what the event SQL gave."""

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from psycopg import AsyncConnection

from domain.approvals import check_vote
from domain.errors import RuleViolation
from domain.opportunity import replay
from domain.pipeline import load_catalog
from domain.stages import Stage
from reports.approvals import approval_report
from reports.event_log import stage_moves
from reports.outcomes import Outcomes, outcomes
from reports.pending_approvals import pending_approvals
from reports.period import Period
from reports.period_summary import period_summary
from reports.projector import Projector
from reports.sales_brief import compile_brief
from reports.stalled import escalations, stalled_deals
from store.event_store import EventStore
from tests.factories import T0
from tests.random_lives import random_life

CATALOG = load_catalog()
PIPELINES = (None, "software", "services")
MOVES = "type IN ('OpportunityOpened', 'StageAdvanced', 'OpportunityLost', 'OpportunityReopened')"
STAGE_AFTER_MOVE = "coalesce(payload->>'to_stage', payload->>'stage', 'identify')"


@pytest.fixture
async def lives(store: EventStore) -> EventStore:
    rng = random.Random(11)
    for i in range(40):
        for stream in random_life(f"deal-{i:02d}", rng):
            await store.append(stream)
    await Projector(store, batch_size=50).catch_up()
    return store


def periods(seed: int, n: int = 12) -> list[Period]:
    """Periods over the lives' years, as of their end or of a moment inside or after them."""
    rng, out = random.Random(seed), []
    for _ in range(n):
        start = T0 + timedelta(days=rng.uniform(-10, 700))
        end = start + timedelta(days=rng.uniform(1, 500))
        as_of = rng.choice((end, start + (end - start) * rng.random(), end + timedelta(days=30)))
        out.append(Period(start, end, as_of))
    return out


async def rows(conn: AsyncConnection[Any], query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    cur = await conn.execute(query, params)
    return list(await cur.fetchall())


def params(period: Period, pipeline: str | None) -> dict[str, Any]:
    return {"start": period.start, "end": period.end, "as_of": period.as_of, "pipeline": pipeline}


# --- approvals ----------------------------------------------------------------------------------

_SCOPE = """
WITH opened AS (
    SELECT stream_id, payload->>'owner' AS owner FROM events
    WHERE type = 'OpportunityOpened' AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s)
), d AS (
    SELECT e.stream_id, e.version, e.type, e.occurred_at, e.payload, o.owner
    FROM events e JOIN opened o USING (stream_id)
    WHERE e.type LIKE 'Discount%%' AND e.occurred_at <= %(as_of)s
)"""
OLD_DECISION_TIMES = (
    _SCOPE
    + """, level_start AS (
    SELECT payload->>'request_id' AS rid, payload->>'level_name' AS level, occurred_at AS started FROM d
    WHERE (type = 'DiscountRequested' AND payload->'level' <> 'null'::jsonb) OR type = 'DiscountEscalated'
), decided AS (
    SELECT d.payload->>'level_name' AS level, extract(epoch FROM d.occurred_at - s.started) / 3600 AS hours
    FROM d JOIN level_start s ON s.rid = d.payload->>'request_id' AND s.level = d.payload->>'level_name'
    WHERE d.type IN ('DiscountApproved', 'DiscountRejected') AND d.payload->>'level_name' <> 'owner'
      AND d.occurred_at >= %(start)s AND d.occurred_at < %(end)s
)
SELECT level, count(*), avg(hours)::float8, (percentile_cont(0.5) WITHIN GROUP (ORDER BY hours))::float8
FROM decided GROUP BY level ORDER BY level"""
)
OLD_REQUEST_OUTCOMES = (
    _SCOPE
    + """, reqs AS (
    SELECT payload->>'request_id' AS rid FROM d
    WHERE type = 'DiscountRequested' AND payload->'level' <> 'null'::jsonb
      AND occurred_at >= %(start)s AND occurred_at < %(end)s
)
SELECT count(*),
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM d WHERE d.type = 'DiscountEscalated'
                                 AND d.payload->>'request_id' = reqs.rid)),
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM d WHERE d.type = 'DiscountExpired'
                                 AND d.payload->>'request_id' = reqs.rid)),
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM d WHERE d.type = 'DiscountRejected'
                                 AND d.payload->>'request_id' = reqs.rid))
FROM reqs"""
)
OLD_GRANTED = (
    _SCOPE
    + """, last_grant AS (
    SELECT DISTINCT ON (stream_id) stream_id, owner, (payload->>'discount')::numeric AS pct
    FROM d WHERE type = 'DiscountApproved' AND occurred_at >= %(start)s AND occurred_at < %(end)s
    ORDER BY stream_id, version DESC
)
SELECT owner, count(*), avg(pct)::float8 FROM last_grant GROUP BY owner HAVING count(*) > 0"""
)


async def test_approval_report_equals_the_event_sql(lives: EventStore) -> None:
    checked = 0
    async with lives.pool.connection() as conn:
        for period in periods(1):
            for pipeline in PIPELINES:
                p = params(period, pipeline)
                report = await approval_report(conn, period, pipeline)
                times = [
                    (lvl, n, round(m, 6), round(md, 6))
                    for lvl, n, m, md in await rows(conn, OLD_DECISION_TIMES, p)
                ]
                assert [
                    (t.level, t.decisions, round(t.mean_hours, 6), round(t.median_hours, 6))
                    for t in report.decision_times
                ] == times
                assert [(report.requests, report.escalated, report.expired, report.rejected)] == await rows(
                    conn, OLD_REQUEST_OUTCOMES, p
                )
                granted = {o: (n, round(pct, 9)) for o, n, pct in await rows(conn, OLD_GRANTED, p)}
                assert {
                    o: (g.deals, round(g.mean_discount, 9)) for o, g in report.granted_by_rep.items()
                } == granted
                checked += report.requests + len(times)
    assert checked > 20  # the lives asked for discounts in these periods


# --- the approvals inbox ------------------------------------------------------------------------


async def old_pending(store: EventStore, approver: str | None) -> list[tuple[Any, ...]]:
    """The inbox as it was: every stream with an open request folded, routed by today's catalog."""
    async with store.pool.connection() as conn:
        ids = [
            str(r[0])
            for r in await rows(
                conn,
                "SELECT stream_id FROM (SELECT DISTINCT ON (stream_id) stream_id, type FROM events"
                " WHERE type IN ('DiscountRequested', 'DiscountApproved', 'DiscountRejected',"
                " 'DiscountExpired') ORDER BY stream_id, version DESC) latest"
                " WHERE type = 'DiscountRequested' ORDER BY stream_id",
                {},
            )
        ]
    found = []
    for oid in ids:
        state = replay(await store.read_stream(oid))
        request = state.discount_request if state else None
        if state is None or request is None or request.level is None:
            continue
        policy = CATALOG.get(state.pipeline).approvals
        assert policy is not None
        may = []
        for person in policy.approvers:
            try:
                check_vote(policy, request, state.owner, person.name)
            except RuleViolation:
                continue
            may.append(person.name)
        if approver is not None and approver not in may:
            continue
        level = policy.levels[request.level].name
        escalates = request.level_since + timedelta(hours=policy.timeout_hours)
        found.append(
            (
                oid,
                state.owner,
                request.request_id,
                request.discount,
                level,
                request.level_since,
                escalates,
                tuple(may),
            )
        )
    return found


@pytest.mark.parametrize("approver", [None, "mei.chen", "jun.wu", "hua.zhang"])
async def test_pending_approvals_equal_a_fold_of_each_stream(lives: EventStore, approver: str | None) -> None:
    async with lives.pool.connection() as conn:
        found = await pending_approvals(conn, approver)
    got = [
        (
            p.opportunity_id,
            p.owner,
            p.request_id,
            p.discount,
            p.level,
            p.waiting_since,
            p.escalates_at,
            p.approvers,
        )
        for p in found
    ]
    assert got == await old_pending(lives, approver)
    if approver is None:
        assert len(got) >= 2  # some requests are still open


# --- stalled deals and escalations --------------------------------------------------------------

OLD_OPEN_DEALS = f"""
WITH last_move AS (
    SELECT DISTINCT ON (stream_id) stream_id, type, {STAGE_AFTER_MOVE} AS stage FROM events
    WHERE {MOVES} AND occurred_at <= %(as_of)s ORDER BY stream_id, version DESC
), last_activity AS (
    SELECT stream_id, max(occurred_at) AS at FROM events
    WHERE type NOT IN ('StallReminded', 'StallEscalated', 'DiscountDecisionRefused')
      AND occurred_at <= %(as_of)s GROUP BY stream_id
)
SELECT m.stream_id, o.payload->>'owner', o.payload->>'pipeline', m.stage, a.at
FROM last_move m JOIN last_activity a USING (stream_id)
JOIN events o ON o.stream_id = m.stream_id AND o.version = 1
WHERE m.type <> 'OpportunityLost' AND m.stage = ANY(%(open_stages)s)"""
OLD_ESCALATIONS = """
SELECT payload->>'owner', payload->>'stage', count(*) FROM events
WHERE type = 'StallEscalated'
  AND occurred_at >= %(start)s AND occurred_at < %(end)s AND occurred_at <= %(as_of)s
GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"""


async def test_stalled_deals_and_escalations_equal_the_event_sql(lives: EventStore) -> None:
    open_stages = [s.value for s in Stage if s.is_open]
    stalled_seen = 0
    async with lives.pool.connection() as conn:
        for period in periods(2, 80):  # enough moments inside an idle spell to see stalled deals
            found = await stalled_deals(conn, CATALOG, period.as_of)
            expected = set()
            for oid, owner, pipeline, stage, last in await rows(
                conn, OLD_OPEN_DEALS, {"as_of": period.as_of, "open_stages": open_stages}
            ):
                sla = CATALOG.get(pipeline).stage(Stage(stage)).sla_days
                idle = (period.as_of - last) / timedelta(days=1)
                if sla is not None and idle > sla:
                    expected.add((oid, owner, pipeline, stage, last, round(idle, 1)))
            assert {
                (d.opportunity_id, d.owner, d.pipeline, d.stage, d.last_activity_at, d.idle_days)
                for d in found
            } == expected
            stalled_seen += len(found)
            got = [(e.owner, e.stage, e.count) for e in await escalations(conn, period)]
            assert got == await rows(conn, OLD_ESCALATIONS, params(period, None))
    assert stalled_seen > 5


# --- outcomes -----------------------------------------------------------------------------------

OLD_OUTCOMES = f"""
WITH opened AS (
    SELECT stream_id FROM events
    WHERE type = 'OpportunityOpened' AND occurred_at >= %(start)s AND occurred_at < %(end)s
      AND occurred_at <= %(as_of)s AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s)
), last_move AS (
    SELECT DISTINCT ON (e.stream_id) e.stream_id, e.type, e.payload
    FROM events e JOIN opened USING (stream_id)
    WHERE e.occurred_at <= %(as_of)s AND e.{MOVES}
    ORDER BY e.stream_id, e.version DESC
)
SELECT type, {STAGE_AFTER_MOVE}, payload->>'reason', count(*) FROM last_move GROUP BY 1, 2, 3"""
OLD_REOPENED = """
SELECT count(DISTINCT e.stream_id) FROM events e
WHERE e.type = 'OpportunityReopened' AND e.occurred_at <= %(as_of)s AND e.stream_id IN (
    SELECT stream_id FROM events WHERE type = 'OpportunityOpened'
      AND occurred_at >= %(start)s AND occurred_at < %(end)s
      AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s))"""


async def test_outcomes_equal_the_event_sql(lives: EventStore) -> None:
    async with lives.pool.connection() as conn:
        for period in periods(3):
            for pipeline in PIPELINES:
                expected = Outcomes()
                for kind, stage, reason, n in await rows(conn, OLD_OUTCOMES, params(period, pipeline)):
                    expected.opened += n
                    if kind == "OpportunityLost":
                        expected.lost_by_stage[stage] += n
                        expected.lost_by_reason[reason] += n
                    elif stage in ("deal", "after_sales"):
                        expected.won += n
                    else:
                        expected.open_by_stage[stage] += n
                [(expected.reopened,)] = await rows(conn, OLD_REOPENED, params(period, pipeline))
                assert await outcomes(conn, period, pipeline) == expected


# --- the stage log ------------------------------------------------------------------------------

OLD_MOVES = f"""
WITH cases AS (
    SELECT stream_id, payload->>'owner' AS owner, payload->>'pipeline' AS pipeline FROM events
    WHERE type = 'OpportunityOpened' AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s)
      AND (%(start)s::timestamptz IS NULL OR occurred_at >= %(start)s)
      AND (%(end)s::timestamptz IS NULL OR occurred_at < %(end)s)
)
SELECT e.stream_id, CASE e.type WHEN 'OpportunityLost' THEN 'lost' ELSE {STAGE_AFTER_MOVE} END,
       e.occurred_at, c.owner, c.pipeline, e.payload->>'reason'
FROM events e JOIN cases c USING (stream_id) WHERE e.{MOVES} ORDER BY e.stream_id, e.version"""


async def test_the_stage_log_equals_the_event_sql(lives: EventStore) -> None:
    windows: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    windows += [(p.start, p.end) for p in periods(4, 4)]
    async with lives.pool.connection() as conn:
        for start, end in windows:
            for pipeline in PIPELINES:
                got = [
                    (m.case_id, m.activity, m.timestamp, m.resource, m.pipeline, m.reason)
                    async for m in stage_moves(conn, pipeline, start, end)
                ]
                expected = await rows(conn, OLD_MOVES, {"pipeline": pipeline, "start": start, "end": end})
                assert got == expected
                assert start is not None or pipeline is not None or len(got) > 200


# --- the period summary (the demo's counts) and the brief's after-sales figures -----------------

OLD_COUNT = (
    "SELECT count(*) FROM events WHERE type = %(type)s AND occurred_at >= %(start)s AND occurred_at < %(end)s"
    " AND occurred_at <= %(as_of)s AND ({condition})"
)
SUMMARY_EVENTS = {
    "reminders": ("StallReminded", "TRUE"),
    "escalations": ("StallEscalated", "TRUE"),
    "failed_clause_checks": ("ContractChecked", "payload->'failures' <> '[]'::jsonb"),
    "relationships_started": ("AfterSalesStarted", "TRUE"),
    "revisits_due": ("RevisitDue", "TRUE"),
    "feedback_recorded": ("FeedbackRecorded", "TRUE"),
    "revisits_missed": ("RevisitMissed", "TRUE"),
    "renewals_opened": ("RenewalOpened", "TRUE"),
}


async def test_the_period_summary_equals_counting_events(lives: EventStore) -> None:
    totals: Counter[str] = Counter()
    async with lives.pool.connection() as conn:
        for period in periods(5):
            summary = await period_summary(conn, period)
            for name, (kind, condition) in SUMMARY_EVENTS.items():
                query = OLD_COUNT.format(condition=condition)
                [(n,)] = await rows(conn, query, {**params(period, None), "type": kind})
                assert getattr(summary, name) == n, name
                totals[name] += n
    assert min(totals.values()) > 0  # every count was seen above zero somewhere


OLD_AFTER_SALES = """
SELECT CASE e.type WHEN 'RevisitDue' THEN 'revisit' WHEN 'RevisitMissed' THEN 'missed' ELSE 'feedback' END,
       r.payload->>'owner', count(*), sum((e.payload->>'score')::numeric)
FROM events e JOIN events r ON r.stream_id = e.stream_id AND r.version = 1
WHERE e.type IN ('RevisitDue', 'RevisitMissed', 'FeedbackRecorded')
  AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
  AND (%(pipeline)s::text IS NULL OR r.payload->>'pipeline' = %(pipeline)s)
GROUP BY 1, 2"""


async def test_the_briefs_after_sales_figures_equal_the_event_sql(lives: EventStore) -> None:
    seen = 0
    async with lives.pool.connection() as conn:
        for weeks in range(0, 120, 3):
            start = T0.date() + timedelta(weeks=weeks)
            for pipeline in PIPELINES:
                brief = await compile_brief(conn, "month", start, start + timedelta(days=30), pipeline)
                expected: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
                for kind, owner, n, score in await rows(conn, OLD_AFTER_SALES, _day_params(start, pipeline)):
                    figures = expected[owner]
                    if kind == "revisit":
                        figures[0] += n
                    elif kind == "missed":
                        figures[1] += n
                    else:
                        figures[2], figures[3] = figures[2] + n, figures[3] + int(score)
                got = {
                    rep: [f.revisits, f.revisits_missed, f.feedback, f.feedback_score_sum]
                    for rep, f in brief.per_rep.items()
                    if f.revisits or f.revisits_missed or f.feedback
                }
                assert got == dict(expected)
                seen += sum(figures[0] for figures in expected.values())
    assert seen > 20


def _day_params(start: date, pipeline: str | None) -> dict[str, Any]:
    midnight = datetime(start.year, start.month, start.day, tzinfo=T0.tzinfo)
    return {"start": midnight, "end": midnight + timedelta(days=30), "pipeline": pipeline}

"""The analytics recomputed naively, in Python, from the events alone (no read model, no SQL):
what tests/test_analytics_properties.py holds the read-model queries to. Each function reads one
deal's stream as it stood at a moment, by folding the events up to then."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.events import (
    DomainEvent,
    ExpectedCloseDateSet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    StageAdvanced,
)
from domain.forecast import category_of
from domain.opportunity import apply, replay
from domain.pipeline import PipelineCatalog
from domain.stages import Stage
from reports.period import Period
from reports.velocity import Velocity
from tests.test_metric_properties import NEXT, days, entries

ENTRY = (OpportunityOpened, StageAdvanced, OpportunityReopened)


@dataclass
class Deal:
    """One opportunity's stream."""

    events: list[DomainEvent]

    @property
    def id(self) -> str:
        return self.events[0].stream_id

    @property
    def opened(self) -> OpportunityOpened:
        first = self.events[0]
        assert isinstance(first, OpportunityOpened)
        return first

    def until(self, t: datetime) -> list[DomainEvent]:
        return [e for e in self.events if e.occurred_at <= t]

    def open_at(self, t: datetime) -> bool:
        state = replay(self.until(t))
        return state is not None and state.lost is None and state.stage.is_open

    def stage_at(self, t: datetime) -> tuple[Stage, datetime]:
        """The stage it is in at t, and when that visit began."""
        entry = [e for e in self.until(t) if isinstance(e, ENTRY)][-1]
        return entries([entry])[0]

    def amount_at(self, t: datetime) -> Decimal:
        state = replay(self.until(t))
        assert state is not None
        return state.amount

    def win(self, by: datetime) -> tuple[datetime, Decimal] | None:
        """When it entered `deal` (by `by`) and its amount then."""
        for i, e in enumerate(self.events):
            if isinstance(e, StageAdvanced) and e.to_stage is Stage.DEAL and e.occurred_at <= by:
                state = replay(self.events[: i + 1])
                assert state is not None
                return e.occurred_at, state.amount
        return None

    def standing_losses(self, by: datetime) -> list[OpportunityLost]:
        """Its losses by `by` that were not undone by a reopen by then."""
        seen = self.until(by)
        return [
            e
            for i, e in enumerate(seen)
            if isinstance(e, OpportunityLost)
            and not any(isinstance(x, OpportunityReopened) for x in seen[i:])
        ]

    def visits(self, by: datetime) -> list[tuple[Stage, datetime, datetime | None]]:
        """(stage, entered, ended or None) of every visit, as known at `by`."""
        out: list[tuple[Stage, datetime, datetime | None]] = []
        for e in self.until(by):
            if isinstance(e, StageAdvanced | OpportunityLost) and out and out[-1][2] is None:
                out[-1] = (out[-1][0], out[-1][1], e.occurred_at)
            if isinstance(e, ENTRY):
                out.append((*entries([e])[0], None))
        return out


def deals(histories: list[list[DomainEvent]], pipeline: str | None) -> list[Deal]:
    """The opportunity streams (not relationships) of `pipeline` (None: all)."""
    return [
        Deal(h)
        for h in histories
        if isinstance(h[0], OpportunityOpened) and pipeline in (None, h[0].pipeline)
    ]


def within(p: Period, t: datetime) -> bool:
    return p.start <= t < p.end and t <= p.as_of


@dataclass
class RepNaive:
    entered: Counter[str] = field(default_factory=Counter)
    moved_on: Counter[str] = field(default_factory=Counter)
    won: int = 0
    lost_by_reason: Counter[str] = field(default_factory=Counter)
    lost_by_stage: Counter[str] = field(default_factory=Counter)


def rep_figures(all_deals: list[Deal], p: Period) -> dict[str | None, RepNaive]:
    """Funnel, won and standing losses per owner (None: the team)."""
    out: dict[str | None, RepNaive] = defaultdict(RepNaive)
    for d in all_deals:
        ent = entries(d.until(p.as_of))
        for who in (None, d.opened.owner):
            f = out[who]
            for stage in {s for s, t in ent if within(p, t) and s is not Stage.AFTER_SALES}:
                f.entered[stage.value] += 1
                f.moved_on[stage.value] += any(s is NEXT[stage] for s, _ in ent)
            f.won += any(s is Stage.DEAL and within(p, t) for s, t in ent)
            for loss in d.standing_losses(p.as_of):
                if within(p, loss.occurred_at):
                    f.lost_by_reason[loss.reason.value] += 1
                    f.lost_by_stage[loss.stage.value] += 1
    return out


def velocity(all_deals: list[Deal], p: Period) -> dict[str | None, Velocity]:
    out: dict[str | None, Velocity] = defaultdict(Velocity)
    cycles: dict[str | None, list[tuple[float, float]]] = defaultdict(list)
    for d in all_deals:
        firsts: dict[Stage, datetime] = {}
        for s, t in entries(d.until(p.as_of)):
            firsts.setdefault(s, t)
        for who in (None, d.opened.owner):
            v = out[who]
            if d.open_at(p.as_of):
                v.open += 1
                v.open_value += d.amount_at(p.as_of)
            won = d.win(p.as_of)
            if won is not None and within(p, won[0]):
                v.won += 1
                v.won_value += won[1]
                cycles[who].append(
                    (days(firsts[Stage.IDENTIFY], won[0]), days(firsts[Stage.CONTACT], won[0]))
                )
            v.lost += sum(within(p, loss.occurred_at) for loss in d.standing_losses(p.as_of))
    for who, pairs in cycles.items():
        out[who].cycle_days = sum(a for a, _ in pairs) / len(pairs)
        out[who].sales_cycle_days = sum(b for _, b in pairs) / len(pairs)
    out.setdefault(None, Velocity())
    return out


def open_ages(all_deals: list[Deal], at: datetime) -> dict[str, tuple[str, datetime, float, float]]:
    """Open deal id: (stage, entered its visit, days in stage, days open)."""
    out = {}
    for d in all_deals:
        if d.open_at(at):
            stage, entered = d.stage_at(at)
            out[d.id] = (stage.value, entered, days(entered, at), days(d.opened.occurred_at, at))
    return out


def closed_visits(all_deals: list[Deal], p: Period) -> dict[str, list[float]]:
    """Days of each visit of an open stage that ended in the period, by stage."""
    out: dict[str, list[float]] = defaultdict(list)
    for d in all_deals:
        for stage, entered, ended in d.visits(p.as_of):
            if ended is not None and stage.is_open and within(p, ended):
                out[stage.value].append(days(entered, ended))
    return out


def calibration(all_deals: list[Deal], p: Period) -> dict[tuple[str, str], tuple[int, int]]:
    """(pipeline, stage): (closed deals of the period that had entered it, of them won)."""
    out: Counter[tuple[str, str, bool]] = Counter()
    for d in all_deals:
        won = d.win(p.as_of)
        is_won = won is not None and within(p, won[0])
        is_lost = any(within(p, loss.occurred_at) for loss in d.standing_losses(p.as_of))
        if not (is_won or is_lost):
            continue
        for stage in {s for s, _ in entries(d.until(p.as_of)) if s.is_open}:
            out[(d.opened.pipeline, stage.value, is_won)] += 1
    keys = {(pl, s) for pl, s, _ in out}
    return {(pl, s): (out[(pl, s, True)] + out[(pl, s, False)], out[(pl, s, True)]) for pl, s in keys}


def month_backtest(
    all_deals: list[Deal], catalog: PipelineCatalog, m0: datetime, m1: datetime, as_of: datetime
) -> tuple[int, Decimal, int, Decimal, Decimal]:
    """(open at m0, forecast at m0, won in the month, its value, realised of the open ones)."""
    n, forecast, won, won_value, realised = 0, Decimal(0), 0, Decimal(0), Decimal(0)
    for d in all_deals:
        if d.open_at(m0):
            n += 1
            stage, _ = d.stage_at(m0)
            pipeline = catalog.pipelines.get(d.opened.pipeline)
            weight = Decimal(str(pipeline.stage(stage).win_probability)) if pipeline else Decimal(0)
            forecast += d.amount_at(m0) * weight
            if (later := d.win(as_of)) is not None:
                realised += later[1]
        win = d.win(as_of)
        if win is not None and m0 <= win[0] < m1:
            won, won_value = won + 1, won_value + win[1]
    return n, forecast, won, won_value, realised


def waterfall(
    all_deals: list[Deal], t0: datetime, t1: datetime
) -> dict[str | None, dict[str, tuple[int, Decimal]]]:
    """Per owner (None: the team): each flow's (count, value) from t0 to t1, folding every event
    after t0 up to t1 and asking what it did to the deal's standing (reports/waterfall.py)."""
    out: dict[str | None, dict[str, tuple[int, Decimal]]] = defaultdict(dict)

    def add(who: str, name: str, value: Decimal, count: int = 1) -> None:
        for key in (None, who):
            n, v = out[key].get(name, (0, Decimal(0)))
            out[key][name] = (n + count, v + value)

    for d in all_deals:
        who = d.opened.owner
        for name, t in (("start", t0), ("end", t1)):
            if d.open_at(t):
                add(who, name, d.amount_at(t))
        state = replay(d.until(t0))
        for e in d.events:
            if not t0 < e.occurred_at <= t1:
                continue
            before, state = state, apply(state, e)
            was_open = before is not None and before.lost is None and before.stage.is_open
            if isinstance(e, OpportunityOpened):
                add(who, "new", state.amount)
            elif isinstance(e, OpportunityReopened):
                add(who, "reopened", state.amount)
            elif isinstance(e, OpportunityLost):
                add(who, "lost", state.amount)
            elif isinstance(e, StageAdvanced) and was_open and before is not None:
                if state.amount != before.amount:
                    add(who, "amount", state.amount - before.amount)
                add(who, "won" if e.to_stage is Stage.DEAL else "advanced", state.amount)
            elif isinstance(e, ExpectedCloseDateSet) and e.previous not in (None, e.expected_close_date):
                assert e.previous is not None
                add(who, "pushed_out" if e.expected_close_date > e.previous else "pulled_in", state.amount)
    return out


def forecast(
    all_deals: list[Deal], catalog: PipelineCatalog, at: datetime
) -> dict[tuple[str | None, str], tuple[int, Decimal, Decimal]]:
    """(close month or None, category): (open deals, amount, weighted amount) at `at`."""
    out: dict[tuple[str | None, str], tuple[int, Decimal, Decimal]] = {}
    for d in all_deals:
        state = replay(d.until(at))
        if state is None or state.lost is not None or not state.stage.is_open:
            continue
        pipeline = catalog.get(state.pipeline)
        category = category_of(state, pipeline)
        assert category is not None
        day = state.expected_close_date
        key = (None if day is None else f"{day:%Y-%m}", category.value)
        weight = Decimal(str(pipeline.stage(state.stage).win_probability))
        n, amount, weighted = out.get(key, (0, Decimal(0), Decimal(0)))
        out[key] = (n + 1, amount + state.amount, weighted + state.amount * weight)
    return out

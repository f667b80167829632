"""The forecast's facts about a deal: when it is expected to close, and how sure the rep is.

The expected close date is an event of its own (`ExpectedCloseDateSet`) whenever it is set or
changes, by a move's `expected_close_date` fact (`decide_move`) or alone (`decide_close_date`), so
pushes and pull-ins are counted from the log. The forecast category comes from the deal's stage
(the pipeline's `forecast_category`) unless set on the deal (`decide_forecast_category`). Both are
for open deals only. Rules, by name:

- `close-date-format`: a real calendar date written `YYYY-MM-DD`;
- `close-date-range`: not before `CLOSE_DATE_EARLIEST` (nobody forecasts the last century) and
  at most `CLOSE_DATE_YEARS_AHEAD` years after the command (a year typed 2207 is a typo);
- `close-date-unchanged`, `forecast-category-unchanged`: the command would change nothing;
- `forecast-category`: one of commit, best_case, pipeline (or none: the stage's);
- `forecast-open-only`: a won or lost deal has no close date to move nor category to change.
"""

from datetime import date, datetime

from domain.commands import AdvanceStage, SetExpectedCloseDate, SetForecastCategory, sent_by
from domain.errors import RuleViolation
from domain.event_envelope import EventMeta, envelope
from domain.events import DomainEvent
from domain.inputs import shown
from domain.opportunity import decide_advance
from domain.opportunity_events import ExpectedCloseDateSet, ForecastCategorySet
from domain.opportunity_state import OpportunityState
from domain.pipeline import Pipeline
from domain.stages import ForecastCategory

CLOSE_DATE_FACT = "expected_close_date"
CLOSE_DATE_EARLIEST = date(2000, 1, 1)
CLOSE_DATE_YEARS_AHEAD = 10


def check_close_date(value: object, at: datetime) -> date:
    """`value` (a date, or its `YYYY-MM-DD` text) as a date within the sane range around `at`."""
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise RuleViolation("close-date-format", f"expected close date must be a date, not {shown(value)}")
    day = value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) != 10:
                raise ValueError(text)
            day = date.fromisoformat(text)
        except ValueError:
            raise RuleViolation(
                "close-date-format",
                f"expected close date must be a real date written YYYY-MM-DD, not {shown(value)}",
            ) from None
    assert isinstance(day, date)
    latest = date(min(at.year + CLOSE_DATE_YEARS_AHEAD, 9999), 12, 31)
    if not CLOSE_DATE_EARLIEST <= day <= latest:
        raise RuleViolation(
            "close-date-range",
            f"expected close date {day} is out of range: from {CLOSE_DATE_EARLIEST} to {latest}"
            f" ({CLOSE_DATE_YEARS_AHEAD} years ahead at most)",
        )
    return day


def _require_open(state: OpportunityState, what: str) -> None:
    if state.lost is not None or not state.stage.is_open:
        status = f"lost in {state.lost.stage}" if state.lost else f"won ({state.stage})"
        raise RuleViolation(
            "forecast-open-only", f"{state.opportunity_id} is {status}: its {what} is no longer forecast"
        )


def _close_date_set(
    state: OpportunityState, day: date, meta: EventMeta, version: int
) -> ExpectedCloseDateSet:
    return ExpectedCloseDateSet(
        **envelope(state.opportunity_id, version, meta),
        expected_close_date=day,
        previous=state.expected_close_date,
    )


def decide_close_date(
    state: OpportunityState, cmd: SetExpectedCloseDate, meta: EventMeta
) -> ExpectedCloseDateSet:
    meta = sent_by(cmd, meta)  # its events record who sent it
    _require_open(state, "close date")
    day = check_close_date(cmd.expected_close_date, meta.occurred_at)
    if day == state.expected_close_date:
        raise RuleViolation(
            "close-date-unchanged", f"{state.opportunity_id} is expected to close on {day} already"
        )
    return _close_date_set(state, day, meta, state.version + 1)


def decide_move(
    state: OpportunityState, pipeline: Pipeline, cmd: AdvanceStage, meta: EventMeta
) -> list[DomainEvent]:
    """`decide_advance`, and an `ExpectedCloseDateSet` after it when the move's facts set the close
    date or change it (a move into `deal` closes the deal: its date is no longer forecast)."""
    text = cmd.facts.get(CLOSE_DATE_FACT)
    day = None if text is None or not text.strip() else check_close_date(text, meta.occurred_at)
    if day is not None:  # recorded as the date it is, whatever its spelling
        cmd = cmd.model_copy(update={"facts": {**cmd.facts, CLOSE_DATE_FACT: day.isoformat()}})
    advanced = decide_advance(state, pipeline, cmd, meta)
    if day is None or day == state.expected_close_date or not cmd.to_stage.is_open:
        return [advanced]
    # the second event of one decision: its id is the first's with ".1" (as `StreamWriter` numbers them)
    second = sent_by(cmd, meta).model_copy(update={"event_id": f"{meta.event_id}.1"})
    return [advanced, _close_date_set(state, day, second, advanced.version + 1)]


def decide_forecast_category(
    state: OpportunityState, cmd: SetForecastCategory, meta: EventMeta
) -> ForecastCategorySet:
    meta = sent_by(cmd, meta)  # its events record who sent it
    _require_open(state, "forecast category")
    known = ", ".join(c.value for c in ForecastCategory)
    raw = None if cmd.category is None else cmd.category.strip()
    if raw is not None and raw not in {c.value for c in ForecastCategory}:
        raise RuleViolation(
            "forecast-category", f"forecast category must be one of {known} (or none), not {shown(raw)}"
        )
    category = None if raw is None else ForecastCategory(raw)
    if category == state.forecast_category:
        raise RuleViolation(
            "forecast-category-unchanged",
            f"{state.opportunity_id}'s forecast category is {category or 'that of its stage'} already",
        )
    return ForecastCategorySet(**envelope(state.opportunity_id, state.version + 1, meta), category=category)


def category_of(state: OpportunityState, pipeline: Pipeline) -> ForecastCategory | None:
    """The deal's forecast category: set on it, else its stage's; None once won or lost."""
    if state.lost is not None or not state.stage.is_open:
        return None
    return state.forecast_category or pipeline.stage(state.stage).forecast_category

"""The forecast's updates of an opportunity's workflow (a base class of `OpportunityWorkflow`,
whose handlers Temporal finds by inheritance): the expected close date and the forecast category,
set without a move, and the move that may set the close date through its facts.

Moves recorded before a move's facts became an `ExpectedCloseDateSet` replay as they were decided:
the handler asks `workflow.patched(CLOSE_DATE_EVENTS)` (False only when replaying such a history),
so an old history neither gains an event nor has its recorded close-date fact judged by the new
rules. The validators, which never run on replay, always apply them."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.commands import AdvanceStage, SetExpectedCloseDate, SetForecastCategory
    from domain.events import DomainEvent, EventMeta
    from domain.forecast import decide_close_date, decide_forecast_category, decide_move
    from domain.opportunity import OpportunityState, decide_advance
    from domain.pipeline import Pipeline
    from workflows.event_sourcing import Decide

CLOSE_DATE_EVENTS = "close-date-events"


class ForecastUpdates:
    _pipeline: Pipeline

    @property
    def _state(self) -> OpportunityState:
        raise NotImplementedError

    async def _handle(self, decide: Decide) -> OpportunityState:
        raise NotImplementedError

    def _validate(self, decide: Decide) -> None:
        raise NotImplementedError

    def _move(self, cmd: AdvanceStage, meta: EventMeta) -> list[DomainEvent]:
        """The move as the handler decides it (see the module's note on replay)."""
        if workflow.patched(CLOSE_DATE_EVENTS):
            return decide_move(self._state, self._pipeline, cmd, meta)
        return [decide_advance(self._state, self._pipeline, cmd, meta)]

    @workflow.update
    async def set_close_date(self, cmd: SetExpectedCloseDate) -> OpportunityState:
        """Set or change the expected close date without a move (a later date is a push)."""
        return await self._handle(lambda meta: decide_close_date(self._state, cmd, meta))

    @set_close_date.validator
    def _validate_set_close_date(self, cmd: SetExpectedCloseDate) -> None:
        self._validate(lambda meta: decide_close_date(self._state, cmd, meta))

    @workflow.update
    async def set_forecast_category(self, cmd: SetForecastCategory) -> OpportunityState:
        """Put the deal in a forecast category (None: back to its stage's)."""
        return await self._handle(lambda meta: decide_forecast_category(self._state, cmd, meta))

    @set_forecast_category.validator
    def _validate_set_forecast_category(self, cmd: SetForecastCategory) -> None:
        self._validate(lambda meta: decide_forecast_category(self._state, cmd, meta))

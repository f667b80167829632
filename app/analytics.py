"""The analytics a front end asks for (issue 16), each read from the read models once they have
caught up (`Connections.read_models`): per rep against the team, the age of the open stage,
velocity, calibration with the forecast's backtest, the monthly trend, the pipeline waterfall and
the forecast by close month and category. Every one is for a period as of a date
(`app.reports.report_period`), for one pipeline or all."""

from dataclasses import dataclass

from app.connections import Connections
from app.errors import BadInput
from reports.backtest import Backtest, backtest
from reports.calibration import Calibration, calibration
from reports.forecast_categories import ForecastByCategory, forecast_by_category
from reports.open_age import OpenAgeReport, open_age_report
from reports.period import Period
from reports.rep_performance import RepReport, rep_report
from reports.trend import Trend, trend
from reports.velocity import VelocityReport, velocity_report
from reports.waterfall import WaterfallReport, waterfall


@dataclass(frozen=True)
class CalibrationReport:
    calibration: Calibration
    backtest: Backtest
    currency: str


class Analytics:
    def __init__(self, connections: Connections) -> None:
        self._c = connections

    def currency(self, pipeline: str | None) -> str:
        """The currency of the amounts (the pipeline's; "mixed" when pipelines of several are summed)."""
        self._known(pipeline)
        return self._c.catalog.currency(pipeline)

    def _known(self, pipeline: str | None) -> None:
        catalog = self._c.catalog
        if pipeline is not None and pipeline not in catalog.pipelines:
            known = ", ".join(sorted(catalog.pipelines))
            raise BadInput(f"no pipeline {pipeline!r} is configured (known: {known})")

    async def reps(self, period: Period, pipeline: str | None = None) -> RepReport:
        """Funnel conversion, win rate and lost reasons per rep, beside the team's."""
        self._known(pipeline)
        async with self._c.read_models() as conn:
            return await rep_report(conn, period, pipeline)

    async def open_age(
        self, period: Period, pipeline: str | None = None, limit: int | None = None
    ) -> OpenAgeReport:
        """The deals open at the as-of date, longest in their stage first (at most `limit`), and
        per stage their ages beside the visits that ended in the period."""
        self._known(pipeline)
        if limit is not None and limit < 0:
            raise BadInput("--limit must be 0 or more")
        async with self._c.read_models() as conn:
            return await open_age_report(conn, period, pipeline, limit)

    async def velocity(self, period: Period, pipeline: str | None = None) -> VelocityReport:
        """Velocity per rep and for the team, with its four factors."""
        self._known(pipeline)
        async with self._c.read_models() as conn:
            return await velocity_report(conn, period, pipeline)

    async def calibration(self, period: Period, pipeline: str | None = None) -> CalibrationReport:
        """The empirical win probability per stage beside the configured one, and the forecast
        made at each month's start against what the month won."""
        currency = self.currency(pipeline)
        catalog = self._c.catalog
        async with self._c.read_models() as conn:
            return CalibrationReport(
                await calibration(conn, catalog, period, pipeline),
                await backtest(conn, catalog, period, pipeline),
                currency,
            )

    async def backtest(self, period: Period, pipeline: str | None = None) -> Backtest:
        """The forecast made at each month's start against what the month won."""
        self._known(pipeline)
        async with self._c.read_models() as conn:
            return await backtest(conn, self._c.catalog, period, pipeline)

    async def trend(self, period: Period, pipeline: str | None = None) -> Trend:
        """The headline figures month by month, each as it stood at the month's end."""
        self._known(pipeline)
        async with self._c.read_models() as conn:
            return await trend(conn, period, pipeline)

    async def waterfall(self, period: Period, pipeline: str | None = None) -> WaterfallReport:
        """The open pipeline at the period's start, every flow in and out after it, and the open
        pipeline at its end (or its as-of date, if earlier): start + flows = end."""
        self._known(pipeline)
        async with self._c.read_models() as conn:
            return await waterfall(conn, period.start, min(period.end, period.as_of), pipeline)

    async def forecast(self, period: Period, pipeline: str | None = None) -> ForecastByCategory:
        """The deals open at the as-of date by expected close month and forecast category."""
        self._known(pipeline)
        async with self._c.read_models() as conn:
            return await forecast_by_category(conn, self._c.catalog, period.as_of, pipeline)

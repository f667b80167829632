"""The application every front end calls (CLI, HTTP API, web, Python), wired in one place.

    async with open_dealflow(Settings.from_env()) as app:
        deals = await app.deals()                       # commands: Temporal updates
        await deals.advance("acme-01", AdvanceStage(...))
        state = await app.queries.show("acme-01")       # the read side
        report = await app.reports.sales_report(period)

Servers are reached on first use and released when the block ends (`app.connections`). Results
are typed objects; failures are `app.errors` errors, which each front end maps for its users.
"""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import cached_property

from app.analytics import Analytics
from app.brief_schedule import ScheduledBrief, schedule_weekly_brief
from app.connections import Connections
from app.deal_client import DealClient
from app.faults import postgres_faults, temporal_faults
from app.identity import Identity
from app.queries import Queries
from app.reconcile import Reconciliation
from app.reports import Reports
from domain.pipeline import PipelineCatalog
from runtime.settings import Settings


@dataclass(frozen=True)
class Dealflow:
    connections: Connections
    queries: Queries
    reports: Reports
    reconciliation: Reconciliation
    analytics: Analytics

    @property
    def settings(self) -> Settings:
        return self.connections.settings

    @property
    def catalog(self) -> PipelineCatalog:
        return self.connections.catalog

    async def deals(self) -> DealClient:
        """The commands (open, advance, lose, …, discounts, contracts, after-sales)."""
        return await self.connections.deals()

    async def identity(self) -> Identity:
        """Who callers are (tokens, API keys); a bad identity configuration fails here, not at start."""
        return self._identity

    @cached_property
    def _identity(self) -> Identity:  # made on first use (a frozen dataclass allows a cached property)
        return Identity(self.settings, self.catalog.people, self.connections.store)

    async def schedule_weekly_brief(self, hour: int = 7, time_zone: str = "UTC") -> ScheduledBrief:
        return await schedule_weekly_brief(self.connections, hour, time_zone)


@asynccontextmanager
async def open_dealflow(settings: Settings) -> AsyncIterator[Dealflow]:
    async with AsyncExitStack() as stack:
        connections = Connections(settings, stack)
        # The last net: a server fault on any path not translated where it happened still
        # reaches the caller as `Unavailable`, never as a driver's error.
        async with (
            postgres_faults(lambda: connections.postgres_where),
            temporal_faults(connections.temporal_address),
        ):
            yield Dealflow(
                connections=connections,
                queries=Queries(connections),
                reports=Reports(connections),
                reconciliation=Reconciliation(connections),
                analytics=Analytics(connections),
            )

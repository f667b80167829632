"""The weekly sales brief as a Temporal Schedule: every Monday at 07:00 (UTC unless told otherwise),
the schedule starts a SalesBriefWorkflow that compiles the week just ended and stores it.

`ensure_weekly_brief_schedule` creates the schedule or brings an existing one up to date, so running
it again (every `dealflow brief schedule`) is safe.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from app.connections import Connections
from app.errors import BadInput
from workflows.messages import BriefRequest
from workflows.sales_brief import WEEKLY_BRIEF_SCHEDULE_ID, SalesBriefWorkflow

MONDAY = 1  # Temporal counts days of the week from Sunday = 0


def weekly_brief_schedule(task_queue: str, hour: int = 7, time_zone: str = "UTC") -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SalesBriefWorkflow.run,
            BriefRequest(period="week"),
            id=f"{WEEKLY_BRIEF_SCHEDULE_ID}-run",  # the schedule appends the scheduled time
            task_queue=task_queue,
            execution_timeout=timedelta(hours=1),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=[ScheduleRange(MONDAY)],
                    hour=[ScheduleRange(hour)],
                    comment="weekly sales brief",
                )
            ],
            time_zone_name=time_zone,
        ),
        # A brief missed while the cluster was down is still worth compiling within a day.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_weekly_brief_schedule(
    client: Client, task_queue: str, hour: int = 7, time_zone: str = "UTC"
) -> ScheduleHandle:
    schedule = weekly_brief_schedule(task_queue, hour, time_zone)
    try:
        return await client.create_schedule(WEEKLY_BRIEF_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(WEEKLY_BRIEF_SCHEDULE_ID)

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await handle.update(replace)
        return handle


@dataclass(frozen=True)
class ScheduledBrief:
    schedule_id: str
    next_runs: list[datetime]


async def schedule_weekly_brief(
    connections: Connections, hour: int = 7, time_zone: str = "UTC"
) -> ScheduledBrief:
    """Create or update the weekly brief's schedule; return when it runs next."""
    if not 0 <= hour <= 23:
        raise BadInput(f"the hour is 0 to 23, got {hour}")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"no time zone {time_zone!r} (an IANA name, e.g. Asia/Shanghai)") from None
    client, task_queue = await connections.temporal(), connections.settings.task_queue
    handle = await ensure_weekly_brief_schedule(client, task_queue, hour, time_zone)
    upcoming = (await handle.describe()).info.next_action_times[:3]
    return ScheduledBrief(schedule_id=handle.id, next_runs=list(upcoming))

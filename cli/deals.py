"""`dealflow start | advance | lose | reopen | touch | close-date | forecast-category`: open an
opportunity, move it, and set what the forecast knows of it."""

import uuid
from decimal import Decimal
from typing import Annotated

import typer

from cli.common import (
    RequestId,
    build,
    console,
    deferred,
    facts,
    on_deal,
    open_app,
    parse_amount,
    parse_fact,
    request_id,
)
from cli.render_deals import print_started
from domain.commands import (
    AdvanceStage,
    LogTouch,
    MarkLost,
    OpenOpportunity,
    Reopen,
    SetExpectedCloseDate,
    SetForecastCategory,
)
from domain.stages import LossReason, Stage

commands = typer.Typer()
PANEL = "Opportunities"

Id = Annotated[str, typer.Argument(metavar="ID", help="the opportunity's id")]
Note = Annotated[str, typer.Option(help="a free-text note kept with the event")]


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow start --id acme-01 --owner an.li --company Acme --contact 'Wang Li'"
    " --source referral --amount 120000",
)
@deferred
async def start(
    owner: Annotated[str, typer.Option(help="the rep who owns it")],
    company: Annotated[str, typer.Option()],
    contact: Annotated[str, typer.Option(help="contact person")],
    source: Annotated[str, typer.Option(help="source channel (website, referral, …)")],
    opportunity_id: Annotated[
        str | None, typer.Option("--id", help="opportunity id (default: a new one)")
    ] = None,
    pipeline: Annotated[str, typer.Option(help="the pipeline it follows")] = "software",
    amount: Annotated[Decimal, typer.Option(parser=parse_amount, metavar="NUMBER")] = Decimal(0),
    rid: RequestId = None,
) -> None:
    """Open a new opportunity (a lead) in a pipeline."""
    oid = opportunity_id if opportunity_id is not None else f"opp-{uuid.uuid4().hex[:10]}"
    cmd = build(
        OpenOpportunity,
        opportunity_id=oid,
        pipeline=pipeline,
        owner=owner,
        company=company,
        contact_person=contact,
        source=source,
        amount=amount,
    )
    async with open_app() as app:
        await (await app.deals()).open(cmd, request_id=request_id(rid))
    print_started(oid, console)


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow advance acme-01 --to needs_analysis --fact pain_points='manual reports'"
    " --fact budget=150k --fact decision_makers=CFO --fact expected_close_date=2026-03-31",
)
@deferred
async def advance(
    opportunity_id: Id,
    to: Annotated[Stage, typer.Option(help="the next stage (one forward)")],
    fact: Annotated[
        list[str] | None,
        typer.Option(
            parser=parse_fact,
            metavar="KEY=VALUE",
            help="a fact the stage's exit criteria ask for (repeatable)",
        ),
    ] = None,
    amount: Annotated[Decimal | None, typer.Option(parser=parse_amount, metavar="NUMBER")] = None,
    rid: RequestId = None,
) -> None:
    """Move an opportunity forward one stage, recording the facts its exit criteria ask for."""
    cmd = build(AdvanceStage, to_stage=to, facts=facts(fact), amount=amount)
    await on_deal(rid, lambda deals, key: deals.advance(opportunity_id, cmd, request_id=key))


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow lose acme-01 --reason competitor --note 'went with a rival'",
)
@deferred
async def lose(
    opportunity_id: Id,
    reason: Annotated[LossReason, typer.Option(help="why it was lost")],
    note: Note = "",
    rid: RequestId = None,
) -> None:
    """Mark an opportunity lost, with a reason."""
    cmd = build(MarkLost, reason=reason, note=note)
    await on_deal(rid, lambda deals, key: deals.mark_lost(opportunity_id, cmd, request_id=key))


@commands.command(rich_help_panel=PANEL, epilog="Example: dealflow reopen acme-01 --note 'budget is back'")
@deferred
async def reopen(opportunity_id: Id, note: Note = "", rid: RequestId = None) -> None:
    """Reopen a lost opportunity into the stage it was lost from."""
    cmd = build(Reopen, note=note)
    await on_deal(rid, lambda deals, key: deals.reopen(opportunity_id, cmd, request_id=key))


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow touch acme-01 --kind call --by an.li --note 'budget talk next week'",
)
@deferred
async def touch(
    opportunity_id: Id,
    kind: Annotated[str, typer.Option(help="call, visit, mail, …")],
    by: Annotated[str, typer.Option(help="who was in touch")],
    note: Note = "",
    rid: RequestId = None,
) -> None:
    """Log an activity with the customer (restarts the stage's idle clock)."""
    cmd = build(LogTouch, kind=kind, by=by, note=note)
    await on_deal(rid, lambda deals, key: deals.log_touch(opportunity_id, cmd, request_id=key))


@commands.command(
    "close-date", rich_help_panel=PANEL, epilog="Example: dealflow close-date acme-01 2027-04-30"
)
@deferred
async def close_date(
    opportunity_id: Id,
    day: Annotated[str, typer.Argument(metavar="YYYY-MM-DD", help="the date it is expected to close")],
    rid: RequestId = None,
) -> None:
    """Set or change an open deal's expected close date without moving it (a later date is a push)."""
    cmd = build(SetExpectedCloseDate, expected_close_date=day)
    await on_deal(rid, lambda deals, key: deals.set_close_date(opportunity_id, cmd, request_id=key))


@commands.command(
    "forecast-category", rich_help_panel=PANEL, epilog="Example: dealflow forecast-category acme-01 commit"
)
@deferred
async def forecast_category(
    opportunity_id: Id,
    category: Annotated[
        str, typer.Argument(metavar="CATEGORY", help="commit, best_case, pipeline, or stage (its stage's)")
    ],
    rid: RequestId = None,
) -> None:
    """Put an open deal in a forecast category, whatever its stage's (`stage`: back to the stage's)."""
    cmd = build(SetForecastCategory, category=None if category == "stage" else category)
    await on_deal(rid, lambda deals, key: deals.set_forecast_category(opportunity_id, cmd, request_id=key))

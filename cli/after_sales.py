"""`dealflow aftersales …`: a won deal's customer relationship (revisits, feedback, renewals)."""

from decimal import Decimal
from typing import Annotated

import typer

from cli import render_json
from cli.common import JsonFlag, RequestId, build, console, deferred, open_app, parse_amount, request_id
from cli.render_deals import print_relationship, print_renewal_opened
from domain.after_sales import CloseRelationship, OpenRenewal, RecordFeedback

aftersales = typer.Typer(help="A won deal's after-sales: revisits, feedback, renewals.", no_args_is_help=True)

DealId = Annotated[str, typer.Argument(metavar="ID", help="the won deal's opportunity id")]
By = Annotated[str, typer.Option(help="who did it")]


@aftersales.command(epilog="Example: dealflow aftersales show acme-01 --json")
@deferred
async def show(deal_id: DealId, as_json: JsonFlag = False) -> None:
    """The relationship: revisits with their feedback, renewals."""
    async with open_app() as app:
        state = await app.queries.relationship(deal_id)
    if as_json:
        render_json.print_json(state)
    else:
        print_relationship(state, console)


@aftersales.command(
    epilog="Example: dealflow aftersales feedback acme-01 --score 4 --comment 'rollout went well' --by an.li"
)
@deferred
async def feedback(
    deal_id: DealId,
    score: Annotated[int, typer.Option(help="1 (unhappy) to 5 (delighted)")],
    by: Annotated[str, typer.Option(help="who took the feedback")],
    comment: Annotated[str, typer.Option()] = "",
    revisit: Annotated[int | None, typer.Option(help="which revisit (default: the latest)")] = None,
    rid: RequestId = None,
) -> None:
    """Record the customer's feedback on a revisit."""
    cmd = build(RecordFeedback, score=score, comment=comment, by=by, revisit=revisit)
    async with open_app() as app:
        print_relationship(
            await (await app.deals()).record_feedback(deal_id, cmd, request_id=request_id(rid)), console
        )


@aftersales.command(
    epilog="Example: dealflow aftersales renew acme-01 --amount 60000 --by an.li --note '20 more seats'"
)
@deferred
async def renew(
    deal_id: DealId,
    amount: Annotated[Decimal, typer.Option(parser=parse_amount, metavar="NUMBER")],
    by: By,
    note: Annotated[str, typer.Option()] = "",
    rid: RequestId = None,
) -> None:
    """Open a renewal opportunity for the customer."""
    cmd = build(OpenRenewal, amount=amount, by=by, note=note)
    async with open_app() as app:
        state = await (await app.deals()).open_renewal(deal_id, cmd, request_id=request_id(rid))
    print_renewal_opened(state, console)


@aftersales.command(
    epilog="Example: dealflow aftersales close acme-01 --reason 'company acquired' --by mei.chen"
)
@deferred
async def close(
    deal_id: DealId, reason: Annotated[str, typer.Option()], by: By, rid: RequestId = None
) -> None:
    """End the relationship: no more revisits."""
    cmd = build(CloseRelationship, reason=reason, by=by)
    async with open_app() as app:
        print_relationship(
            await (await app.deals()).close_relationship(deal_id, cmd, request_id=request_id(rid)), console
        )

"""`dealflow discount …` and `dealflow contract …`: discounts asked and decided, contracts checked
and signed off (the negotiation stage)."""

from decimal import Decimal
from typing import Annotated

import typer
from rich.markup import escape

from cli.common import RequestId, build, console, deferred, on_deal, open_app, parse_amount, request_id
from domain.commands import DecideContract, DecideDiscount, RequestDiscount, SubmitContract
from domain.contracts import Contract

discount = typer.Typer(help="Request, approve or reject a discount.", no_args_is_help=True)
contract = typer.Typer(help="Submit a contract for review, or sign it off.", no_args_is_help=True)

Id = Annotated[str, typer.Argument(metavar="ID", help="the opportunity's id")]
Comment = Annotated[str, typer.Option(help="a comment kept with the decision")]
Approver = Annotated[str, typer.Option(help="who decides (checked against the approval policy)")]
Legal = Annotated[str, typer.Option(help="a person with the legal (or legal_lead) role")]


@discount.command(
    epilog='Example: dealflow discount request acme-01 --pct 12 --comment "matching a rival\'s quote"'
)
@deferred
async def request(
    opportunity_id: Id,
    pct: Annotated[Decimal, typer.Option(parser=parse_amount, metavar="PERCENT", help="e.g. 12.5")],
    comment: Comment = "",
    rid: RequestId = None,
) -> None:
    """The owner asks for a discount (percent off the amount)."""
    cmd = build(RequestDiscount, discount=pct, comment=comment)
    await on_deal(rid, lambda deals, key: deals.request_discount(opportunity_id, cmd, request_id=key))


NoWait = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="send the decision as a signal and return at once; a decision the rules refuse is"
        " recorded and shown by `dealflow approvals refused`",
    ),
]


async def _decide_discount(
    opportunity_id: str, approver: str, comment: str, approve: bool, rid: str | None, no_wait: bool
) -> None:
    cmd = build(DecideDiscount, approver=approver, approve=approve, comment=comment)
    if not no_wait:
        await on_deal(rid, lambda deals, key: deals.decide_discount(opportunity_id, cmd, request_id=key))
        return
    key = request_id(rid)
    async with open_app() as app:
        await (await app.deals()).signal_discount_decision(opportunity_id, cmd, request_id=key)
    console.print(f"sent the decision on {escape(opportunity_id)} as a signal (request id {key})")


@discount.command(epilog="Example: dealflow discount approve acme-01 --approver mei.chen --comment ok")
@deferred
async def approve(
    opportunity_id: Id,
    approver: Approver,
    comment: Comment = "",
    rid: RequestId = None,
    no_wait: NoWait = False,
) -> None:
    """Approve the open discount request, as an approver."""
    await _decide_discount(opportunity_id, approver, comment, approve=True, rid=rid, no_wait=no_wait)


@discount.command(epilog="Example: dealflow discount reject acme-01 --approver mei.chen --comment 'too deep'")
@deferred
async def reject(
    opportunity_id: Id,
    approver: Approver,
    comment: Comment = "",
    rid: RequestId = None,
    no_wait: NoWait = False,
) -> None:
    """Reject the open discount request, as an approver."""
    await _decide_discount(opportunity_id, approver, comment, approve=False, rid=rid, no_wait=no_wait)


@contract.command(
    epilog="Example: dealflow contract submit acme-01 --contract-id C-1 --total 105600 --discount 12"
    " --payment-days 30 --liability-cap 120000"
)
@deferred
async def submit(
    opportunity_id: Id,
    contract_id: Annotated[str, typer.Option("--contract-id")],
    total: Annotated[
        Decimal,
        typer.Option(parser=parse_amount, metavar="NUMBER", help="contract total (quote less the discount)"),
    ],
    payment_days: Annotated[int, typer.Option("--payment-days", help="payment terms in days")],
    discount: Annotated[
        Decimal,
        typer.Option(parser=parse_amount, metavar="PERCENT", help="discount in the contract, percent"),
    ] = Decimal(0),
    liability_cap: Annotated[
        Decimal | None,
        typer.Option(
            "--liability-cap", parser=parse_amount, metavar="NUMBER", help="omit if the contract has none"
        ),
    ] = None,
    rid: RequestId = None,
) -> None:
    """Submit the drafted contract; the clause checks run at once and their verdict is shown."""
    draft = build(
        Contract,
        contract_id=contract_id,
        total=total,
        discount=discount,
        payment_terms_days=payment_days,
        liability_cap=liability_cap,
    )
    cmd = SubmitContract(contract=draft)
    await on_deal(rid, lambda deals, key: deals.submit_contract(opportunity_id, cmd, request_id=key))


async def _decide_contract(
    opportunity_id: str, by: str, comment: str, approve: bool, rid: str | None
) -> None:
    cmd = build(DecideContract, by=by, approve=approve, comment=comment)
    await on_deal(rid, lambda deals, key: deals.decide_contract(opportunity_id, cmd, request_id=key))


@contract.command(epilog="Example: dealflow contract sign acme-01 --by lin.ma")
@deferred
async def sign(opportunity_id: Id, by: Legal, comment: Comment = "", rid: RequestId = None) -> None:
    """Legal: sign off the contract under review."""
    await _decide_contract(opportunity_id, by, comment, approve=True, rid=rid)


@contract.command(
    "reject", epilog="Example: dealflow contract reject acme-01 --by lin.ma --comment 'redraft 7.2'"
)
@deferred
async def reject_contract(
    opportunity_id: Id, by: Legal, comment: Comment = "", rid: RequestId = None
) -> None:
    """Legal: send the contract under review back for redrafting."""
    await _decide_contract(opportunity_id, by, comment, approve=False, rid=rid)

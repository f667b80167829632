"""The bad inputs of tests/test_bad_inputs.py, by the state they meet: a new lead, a deal in
identify, a deal in negotiation with a pending 12 % discount, a won deal whose first revisit is due.

A CLI case is (name, argv, expected): `{id}` in argv is the group's deal; expected is a rule's
name (exit 3, `refused [rule] …` on one line of stderr) or (exit code, what stderr says). A client
case is (name, make, expected): `make(id)` returns the call on a `DealClient`, expected is the
rule of the `Refused` it raises, or `BUILD` when building the command itself is refused (pydantic:
NaN, Infinity, lone surrogates, which no payload could carry).
"""

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from app.deal_client import DealClient
from domain.after_sales import CloseRelationship, OpenRenewal, RecordFeedback
from domain.commands import (
    AdvanceStage,
    DecideContract,
    DecideDiscount,
    LogTouch,
    MarkLost,
    OpenOpportunity,
    RequestDiscount,
    SubmitContract,
)
from domain.contracts import Contract
from domain.stages import LossReason, Stage

Expected = str | tuple[int, str]
CliCase = tuple[str, list[str], Expected]
Make = Callable[[DealClient, str], Awaitable[Any]]
ClientCase = tuple[str, Callable[[], Make], str]
BUILD = "build"  # refused while the command is built (pydantic), before anything is sent

LONG_NOTE = "n" * 2001
CYRILLIC_A = "\u0430"


def lead(oid: str = "{id}", **over: str) -> list[str]:
    fields = {"owner": "an.li", "company": "Acme", "contact": "Wang Li", "source": "web", "amount": "1000"}
    fields |= over
    return ["start", "--id", oid, *(a for k, v in fields.items() for a in (f"--{k}", v))]


START: list[CliCase] = [
    ("amount 1e400", lead(amount="1e400"), "amount-maximum"),
    ("amount 1e30", lead(amount="1e30"), "amount-maximum"),
    ("amount over the pipeline max", lead(amount="1000000000000.01"), "amount-maximum"),
    ("amount three decimals", lead(amount="10.001"), "amount-precision"),
    ("amount negative", lead(amount="-10"), "amount-not-negative"),
    ("amount NaN", lead(amount="NaN"), (2, "not a finite number")),
    ("amount Infinity", lead(amount="-Infinity"), (2, "not a finite number")),
    ("amount words", lead(amount="lots"), (2, "not a number")),
    ("owner 2049 chars", lead(owner="o" * 2049), "id-format"),
    ("owner with NUL", lead(owner="an.li\x00"), "id-format"),
    ("owner with a space", lead(owner="an li"), "id-format"),
    ("owner empty", lead(owner=""), "lead-recorded"),
    ("company whitespace", lead(company="   "), "lead-recorded"),
    ("company with NUL", lead(company="Acme\x00"), "text-characters"),
    ("company 201 chars", lead(company="C" * 201), "text-length"),
    ("contact two lines", lead(contact="Wang\nLi"), "text-characters"),
    ("source bidi override", lead(source="\u202ebew"), "text-characters"),
    ("source escape sequence", lead(source="\x1b[31mweb"), "text-characters"),
    ("id with a space", lead("acme 01"), "id-format"),
    ("id with a slash", lead("acme/01"), "id-format"),
    ("id look-alike", lead(f"{CYRILLIC_A}cme-01"), "id-format"),
    ("id 65 chars", lead("i" * 65), "id-format"),
    ("id reserved relationship", lead("acme-01.after-sales"), "id-reserved"),
    ("id reserved renewal", lead("acme-01-renewal-1"), "id-reserved"),
    ("id empty", lead(""), (2, "must not be empty")),
    ("unknown pipeline", [*lead(), "--pipeline", "hardware"], "unknown-pipeline"),
    ("pipeline with NUL", [*lead(), "--pipeline", "software\x00"], "unknown-pipeline"),
    ("undecodable bytes", lead(company="Acme\udcff"), (2, "[text-characters]")),
]


def cmd(*words: str, **options: str) -> list[str]:
    """argv: the words, then `--option value` for each option (`_` spelled `-`)."""
    return [*words, *(a for k, v in options.items() for a in (f"--{k.replace('_', '-')}", v))]


def advance(*facts: str, **options: str) -> list[str]:
    return [
        *cmd("advance", "{id}", **({"to": "contact"} | options)),
        *(a for f in facts for a in ("--fact", f)),
    ]


def touch(**over: str) -> list[str]:
    return cmd("touch", "{id}", **({"kind": "call", "by": "an.li"} | over))


def contract(**over: str) -> list[str]:
    return cmd(
        "contract", "submit", "{id}", **({"contract_id": "C-1", "total": "1", "payment_days": "30"} | over)
    )


def feedback(**over: str) -> list[str]:
    return cmd("aftersales", "feedback", "{id}", **({"score": "4", "by": "an.li"} | over))


def renew(**over: str) -> list[str]:
    return cmd("aftersales", "renew", "{id}", **({"amount": "1", "by": "an.li"} | over))


def close(**over: str) -> list[str]:
    return cmd("aftersales", "close", "{id}", **({"reason": "gone", "by": "mei.chen"} | over))


IDENTIFY: list[CliCase] = [
    ("skip a stage", cmd("advance", "{id}", to="proposal"), "forward-one-stage"),
    ("move backward", cmd("advance", "{id}", to="identify"), "forward-one-stage"),
    ("unknown stage", cmd("advance", "{id}", to="closed"), (2, "closed")),
    ("look-alike stage", cmd("advance", "{id}", to="c\u043entact"), (2, "Invalid value")),
    ("fact without =", advance("first_touch"), (2, "KEY=VALUE")),
    ("fact name with space", advance("first touch=call"), "id-format"),
    ("fact with NUL", advance("first_touch=ca\x00ll"), "text-characters"),
    ("fact 2001 chars", advance(f"first_touch={LONG_NOTE}"), "text-length"),
    ("51 facts", advance(*(f"k{n}=v" for n in range(51))), "facts-limit"),
    ("advance amount 1e400", advance("first_touch=call", amount="1e400"), "amount-maximum"),
    ("advance amount decimals", advance("first_touch=call", amount="5.555"), "amount-precision"),
    ("unknown loss reason", cmd("lose", "{id}", reason="bored"), (2, "bored")),
    ("loss note with NUL", cmd("lose", "{id}", reason="price", note="gone\x00"), "text-characters"),
    ("loss note 2001 chars", cmd("lose", "{id}", reason="price", note=LONG_NOTE), "text-length"),
    ("reopen an open deal", cmd("reopen", "{id}"), "reopen-only-lost"),
    ("touch kind empty", touch(kind=""), "touch-recorded"),
    ("touch by empty", touch(by=" "), "touch-recorded"),
    ("touch kind NUL", touch(kind="call\x00"), "text-characters"),
    ("touch kind 65 chars", touch(kind="k" * 65), "text-length"),
    ("touch kind two lines", touch(kind="call\nvisit"), "text-characters"),
    ("touch by with space", touch(by="an li"), "id-format"),
    ("touch by with slash", touch(by="an.li/x"), "id-format"),
    ("touch note 2001 chars", touch(note=LONG_NOTE), "text-length"),
    ("touch note zero-width", touch(note="ok\u200b"), "text-characters"),
    ("show an id with a slash", ["show", "no such/deal"], (4, "not found")),
]

NEGOTIATION: list[CliCase] = [
    ("discount 0", cmd("discount", "request", "{id}", pct="0"), "discount-range"),
    ("discount 100.0001", cmd("discount", "request", "{id}", pct="100.0001"), "discount-range"),
    ("discount negative", cmd("discount", "request", "{id}", pct="-5"), "discount-range"),
    ("discount decimals", cmd("discount", "request", "{id}", pct="12.345"), "discount-precision"),
    ("discount above policy", cmd("discount", "request", "{id}", pct="31"), "discount-above-policy"),
    ("discount NaN", cmd("discount", "request", "{id}", pct="NaN"), (2, "not a finite number")),
    ("discount comment NUL", cmd("discount", "request", "{id}", pct="12", comment="\x00"), "text-characters"),
    ("discount comment long", cmd("discount", "request", "{id}", pct="12", comment=LONG_NOTE), "text-length"),
    ("approver unknown", cmd("discount", "approve", "{id}", approver="nobody"), "known-approver"),
    ("approver NUL", cmd("discount", "approve", "{id}", approver="mei.chen\x00"), "id-format"),
    ("approver look-alike", cmd("discount", "approve", "{id}", approver="m\u0435i.chen"), "id-format"),
    ("approver padded", cmd("discount", "approve", "{id}", approver=" mei.chen"), "id-format"),
    ("approver above limit", cmd("discount", "approve", "{id}", approver="jun.wu"), "approver-limit"),
    ("approver wrong role", cmd("discount", "reject", "{id}", approver="lin.ma"), "approver-level"),
    (
        "approval comment long",
        cmd("discount", "approve", "{id}", approver="mei.chen", comment=LONG_NOTE),
        "text-length",
    ),
    ("contract total 1e30", contract(total="1e30"), "amount-maximum"),
    ("contract total 1e400", contract(total="1e400"), "amount-maximum"),
    ("contract total decimals", contract(total="100.001"), "amount-precision"),
    ("contract total negative", contract(total="-1"), "amount-not-negative"),
    ("contract discount 100.01", contract(discount="100.01"), "discount-range"),
    ("contract discount negative", contract(discount="-1"), "discount-range"),
    ("payment days negative", contract(payment_days="-1"), "payment-days-range"),
    ("payment days 3651", contract(payment_days="3651"), "payment-days-range"),
    ("payment days not a number", contract(payment_days="1e3"), (2, "'--payment-days'")),
    ("liability cap 1e400", contract(liability_cap="1e400"), "amount-maximum"),
    ("contract id with space", contract(contract_id="C 1"), "id-format"),
    ("contract id empty", contract(contract_id=""), "id-format"),
    ("close without a contract", advance("contract_signed=yes", to="deal"), "contract-signed-off"),
    ("sign with nothing to sign", cmd("contract", "sign", "{id}", by="lin.ma"), "legal-review-open"),
    ("sign by NUL", cmd("contract", "sign", "{id}", by="lin.ma\x00"), "id-format"),
]

AFTER_SALES: list[CliCase] = [
    ("score 0", feedback(score="0"), "feedback-score"),
    ("score 6", feedback(score="6"), "feedback-score"),
    ("score not a number", feedback(score="four"), (2, "'--score'")),
    ("feedback by empty", feedback(by=""), "feedback-recorded"),
    ("feedback by with space", feedback(by="an li"), "id-format"),
    ("feedback comment NUL", feedback(comment="\x00"), "text-characters"),
    ("feedback comment long", feedback(comment=LONG_NOTE), "text-length"),
    ("feedback on a revisit not due", feedback(revisit="9"), "revisit-due"),
    ("renewal 1e400", renew(amount="1e400"), "amount-maximum"),
    ("renewal decimals", renew(amount="0.001"), "amount-precision"),
    ("renewal negative", renew(amount="-1"), "amount-not-negative"),
    ("renewal by empty", renew(by=""), "renewal-recorded"),
    ("renewal note NUL", renew(note="\x00"), "text-characters"),
    ("close reason empty", close(reason=" "), "close-recorded"),
    ("close reason NUL", close(reason="gone\x00"), "text-characters"),
    ("close reason 201 chars", close(reason="r" * 201), "text-length"),
    ("close by with slash", close(by="mei/chen"), "id-format"),
]


def _open(**over: Any) -> Callable[[], Make]:
    def make() -> Make:
        fields: dict[str, Any] = {
            "opportunity_id": "{id}", "pipeline": "software", "owner": "an.li", "company": "Acme",
            "contact_person": "Wang Li", "source": "web", "amount": Decimal(1000),
        } | over  # fmt: skip
        return lambda deals, oid: deals.open(
            OpenOpportunity.model_validate({k: oid if v == "{id}" else v for k, v in fields.items()})
        )

    return make


CLIENT_START: list[ClientCase] = [
    # Only a won deal's after-sales opens a renewal: a caller's renewal_of is refused first.
    ("forged renewal_of", _open(renewal_of="acme-01"), "renewal-by-after-sales"),
    ("renewal id, other deal", _open(opportunity_id="x-renewal-1", renewal_of="y"), "renewal-by-after-sales"),
    ("renewal id without renewal_of", _open(opportunity_id="x-renewal-1"), "id-reserved"),
    ("amount NaN", _open(amount=Decimal("NaN")), BUILD),
    ("amount sNaN", _open(amount=Decimal("sNaN")), BUILD),
    ("amount 1e400", _open(amount=Decimal("1e400")), "amount-maximum"),
    ("company lone surrogate", _open(company="\ud800"), BUILD),
    ("owner 2049 chars", _open(owner="o" * 2049), "id-format"),
    ("contact 100,000 chars", _open(contact_person="c" * 100_000), "text-length"),
    ("source C1 control", _open(source="web\x85"), "text-characters"),
]


def _call(method: str, build: Callable[[], Any]) -> Callable[[], Make]:
    """A call of `DealClient.<method>(id, build())`; the command is built when the call is made."""
    return lambda: lambda deals, oid: getattr(deals, method)(oid, build())


def _advance(facts: dict[str, str], amount: str | None = None) -> Callable[[], Make]:
    amount_ = None if amount is None else Decimal(amount)
    return _call("advance", lambda: AdvanceStage(to_stage=Stage.CONTACT, facts=facts, amount=amount_))


def _touch(**over: str) -> Callable[[], Make]:
    return _call("log_touch", lambda: LogTouch.model_validate({"kind": "call", "by": "an.li"} | over))


CLIENT_DEAL: list[ClientCase] = [
    ("fact key with NUL", _advance({"first_touch\x00": "x"}), "id-format"),
    ("fact value 100,000 chars", _advance({"first_touch": "x" * 100_000}), "text-length"),
    ("advance amount -0.001", _advance({"first_touch": "c"}, "-0.001"), "amount-not-negative"),
    (
        "loss note DEL",
        _call("mark_lost", lambda: MarkLost(reason=LossReason.PRICE, note="x\x7f")),
        "text-characters",
    ),
    ("touch note surrogate", _touch(note="\udcff"), BUILD),
    ("touch kind BOM", _touch(kind="\ufeffcall"), "text-characters"),
    ("touch by fullwidth", _touch(by="\uff41n.li"), "id-format"),
]


def _contract(days: int) -> Callable[[], Make]:
    draft = {"contract_id": "C-9", "total": Decimal(1), "payment_terms_days": days}
    return _call("submit_contract", lambda: SubmitContract(contract=Contract.model_validate(draft)))


CLIENT_NEGOTIATION: list[ClientCase] = [
    ("discount Infinity", _call("request_discount", lambda: RequestDiscount(discount=Decimal("Inf"))), BUILD),
    (
        "discount 1e400",
        _call("request_discount", lambda: RequestDiscount(discount=Decimal("1e400"))),
        "discount-range",
    ),
    (
        "approver 5000 chars",
        _call("decide_discount", lambda: DecideDiscount(approver="m" * 5000, approve=True)),
        "id-format",
    ),
    ("legal by look-alike", _call("decide_contract", lambda: DecideContract(by="l\u0456n.ma")), "id-format"),
    ("contract days 10**30", _contract(10**30), "payment-days-range"),
]

CLIENT_AFTER_SALES: list[ClientCase] = [
    (
        "renewal 1e30",
        _call("open_renewal", lambda: OpenRenewal(amount=Decimal("1e30"), by="an.li")),
        "amount-maximum",
    ),
    (
        "feedback score 10**20",
        _call("record_feedback", lambda: RecordFeedback(score=10**20, by="an.li")),
        "feedback-score",
    ),
    (
        "feedback revisit -1",
        _call("record_feedback", lambda: RecordFeedback(score=3, by="an.li", revisit=-1)),
        "revisit-due",
    ),
    (
        "close by 65 chars",
        _call("close_relationship", lambda: CloseRelationship(reason="gone", by="b" * 65)),
        "id-format",
    ),
]

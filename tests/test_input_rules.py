"""The domain's edge (domain/inputs.py): each bound is a named rule, and the events carry the
cleaned values (NFC, trimmed, canonical amounts). Without Temporal or a database."""

import unicodedata
from decimal import Decimal
from typing import Any

import pytest

from domain.after_sales import CloseRelationship, OpenRenewal, RecordFeedback, decide_close, decide_renewal
from domain.commands import AdvanceStage, DecideDiscount, LogTouch, MarkLost, RequestDiscount, SubmitContract
from domain.contracts import ClauseCheck, Contract, ContractPolicy, check_clauses
from domain.errors import RuleViolation
from domain.follow_up import decide_touch
from domain.inputs import AmountBounds, clean_amount, minor_unit
from domain.negotiation import decide_contract_submit, decide_discount_request, decide_discount_vote
from domain.opportunity import decide_advance, decide_lose, decide_open
from domain.pipeline import load_catalog
from domain.stages import LossReason, Stage
from tests.factories import meta, open_cmd
from tests.test_after_sales_rules import revisits_through, started
from tests.test_domain_rules import opened
from tests.test_negotiation_rules import negotiating, request

SOFTWARE = load_catalog().get("software")


def rule_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(RuleViolation) as err:
        call()
    assert "\n" not in str(err.value), str(err.value)
    assert len(str(err.value)) < 400, str(err.value)
    return err.value.rule


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"opportunity_id": "acme 01"}, "id-format"),
        ({"opportunity_id": "acme/01"}, "id-format"),
        ({"opportunity_id": "-acme"}, "id-format"),
        ({"opportunity_id": "\u0430cme-01"}, "id-format"),  # Cyrillic a
        ({"opportunity_id": "x" * 65}, "id-format"),
        ({"opportunity_id": " acme-01"}, "id-format"),  # ids are not trimmed: it is the workflow id
        ({"opportunity_id": "acme-01.after-sales"}, "id-reserved"),
        ({"opportunity_id": "acme-01-renewal-2"}, "id-reserved"),
        ({"opportunity_id": "acme-01-renewal-2", "renewal_of": "acme-02"}, "id-reserved"),
        ({"owner": "o" * 2049}, "id-format"),
        ({"owner": "an li"}, "id-format"),
        ({"company": "Acme\x00"}, "text-characters"),
        ({"company": "Acme\nLtd"}, "text-characters"),
        ({"company": "Acme\u202eLtd"}, "text-characters"),
        ({"company": "\u200b"}, "text-characters"),
        ({"contact_person": "W" * 201}, "text-length"),
        ({"source": "\u3000"}, "lead-recorded"),  # an ideographic space only: empty
        ({"amount": Decimal("1e400")}, "amount-maximum"),
        ({"amount": Decimal("1000000000000.01")}, "amount-maximum"),
        ({"amount": Decimal("0.001")}, "amount-precision"),
        ({"amount": Decimal("-0.01")}, "amount-not-negative"),
    ],
)
def test_a_lead_out_of_bounds_is_refused_by_name(fields: dict[str, Any], rule: str) -> None:
    assert rule_of(lambda: decide_open(open_cmd(**fields), SOFTWARE, meta())) == rule


def test_the_opened_event_carries_the_cleaned_lead() -> None:
    decomposed = unicodedata.normalize("NFD", "Café Müller")
    event = decide_open(
        open_cmd(company=f"  {decomposed}\u3000", contact_person="王 丽", amount=Decimal("-0")),
        SOFTWARE,
        meta(),
    )
    assert event.company == "Café Müller"
    assert event.company == unicodedata.normalize("NFC", event.company)
    assert (event.contact_person, str(event.amount)) == ("王 丽", "0")
    assert str(decide_open(open_cmd(amount=Decimal("1.2E+5")), SOFTWARE, meta()).amount) == "120000"
    assert str(decide_open(open_cmd(amount=Decimal("10.500")), SOFTWARE, meta()).amount) == "10.50"
    # the engine's renewal of a deal keeps its derived id, even past a caller's length
    renewal = open_cmd(f"{'d' * 64}-renewal-3", renewal_of="d" * 64, source="renewal")
    assert decide_open(renewal, SOFTWARE, meta()).renewal_of == "d" * 64


def test_amount_bounds_follow_the_pipeline() -> None:
    assert minor_unit("JPY") == 0
    assert minor_unit("BHD") == 3
    assert minor_unit("CNY") == 2
    yen = AmountBounds(Decimal(10**6), 0, "JPY")
    assert rule_of(lambda: clean_amount(Decimal("1.5"), "amount", yen)) == "amount-precision"
    assert rule_of(lambda: clean_amount(Decimal(10**6 + 1), "amount", yen)) == "amount-maximum"
    small = SOFTWARE.model_copy(update={"max_amount": Decimal(500)})
    assert rule_of(lambda: decide_open(open_cmd(amount=Decimal(501)), small, meta())) == "amount-maximum"


@pytest.mark.parametrize(
    ("facts", "amount", "rule"),
    [
        ({"first_touch": "call\x00"}, None, "text-characters"),
        ({"first touch": "call"}, None, "id-format"),
        ({"first_touch": "c" * 2001}, None, "text-length"),
        ({f"k{n}": "v" for n in range(51)}, None, "facts-limit"),
        ({"first_touch": "call"}, Decimal("1e30"), "amount-maximum"),
        ({"first_touch": "call"}, Decimal("5.555"), "amount-precision"),
    ],
)
def test_advance_bounds_facts_and_amount(facts: dict[str, str], amount: Decimal | None, rule: str) -> None:
    cmd = AdvanceStage(to_stage=Stage.CONTACT, facts=facts, amount=amount)
    assert rule_of(lambda: decide_advance(opened(), SOFTWARE, cmd, meta(1))) == rule


def test_facts_and_notes_are_recorded_clean() -> None:
    cmd = AdvanceStage(to_stage=Stage.CONTACT, facts={"first_touch": " call\r\n\tthen mail "})
    assert decide_advance(opened(), SOFTWARE, cmd, meta(1)).facts == {"first_touch": "call\n\tthen mail"}
    lost = decide_lose(opened(), MarkLost(reason=LossReason.PRICE, note=" too dear \n"), meta(1))
    assert lost.note == "too dear"
    assert rule_of(
        lambda: decide_lose(opened(), MarkLost(reason=LossReason.PRICE, note="\x1b[31m"), meta(1))
    ) == ("text-characters")


@pytest.mark.parametrize(
    ("cmd", "rule"),
    [
        (LogTouch(kind="call\x00", by="an.li"), "text-characters"),
        (LogTouch(kind="k" * 65, by="an.li"), "text-length"),
        (LogTouch(kind="call", by="an.li\x00"), "id-format"),
        (LogTouch(kind="call", by="an.li", note="n" * 2001), "text-length"),
        (LogTouch(kind=" \t", by="an.li"), "text-characters"),  # a tab is no part of a one-line label
        (LogTouch(kind="\u00a0", by="an.li"), "touch-recorded"),
    ],
)
def test_touches_are_bounded(cmd: LogTouch, rule: str) -> None:
    assert rule_of(lambda: decide_touch(opened(), cmd, meta(1))) == rule


@pytest.mark.parametrize(
    ("pct", "rule"),
    [
        ("0", "discount-range"),
        ("100.0001", "discount-range"),
        ("-5", "discount-range"),
        ("12.345", "discount-precision"),
    ],
)
def test_discount_requests_are_bounded(pct: str, rule: str) -> None:
    cmd = RequestDiscount(discount=Decimal(pct))
    assert rule_of(lambda: decide_discount_request(negotiating(), SOFTWARE, cmd, meta(40))) == rule


def test_approver_names_are_checked_before_the_directory() -> None:
    pending = request(negotiating(), "12")
    for name, rule in (
        ("m" * 5000, "id-format"),
        ("mei.chen\x00", "id-format"),
        ("m\u0435i.chen", "id-format"),
    ):
        cmd = DecideDiscount(approver=name, approve=True)
        assert rule_of(lambda c=cmd: decide_discount_vote(pending, SOFTWARE, c, meta(41))) == rule
    unknown = DecideDiscount(approver="nobody", approve=True)
    assert rule_of(lambda: decide_discount_vote(pending, SOFTWARE, unknown, meta(41))) == "known-approver"


@pytest.mark.parametrize(
    ("figures", "rule"),
    [
        ({"total": Decimal("1e30")}, "amount-maximum"),
        ({"total": Decimal("1.001")}, "amount-precision"),
        ({"total": Decimal("-1")}, "amount-not-negative"),
        ({"discount": Decimal("100.01")}, "discount-range"),
        ({"discount": Decimal("-1")}, "discount-range"),
        ({"discount": Decimal("1.234")}, "discount-precision"),
        ({"payment_terms_days": -1}, "payment-days-range"),
        ({"payment_terms_days": 3651}, "payment-days-range"),
        ({"liability_cap": Decimal("1e16")}, "amount-maximum"),
        ({"contract_id": "C 1"}, "id-format"),
    ],
)
def test_contract_figures_are_bounded(figures: dict[str, object], rule: str) -> None:
    fields: dict[str, object] = {"contract_id": "C-1", "total": Decimal(100000), "payment_terms_days": 30}
    cmd = SubmitContract(contract=Contract.model_validate(fields | figures))
    assert rule_of(lambda: decide_contract_submit(negotiating(), SOFTWARE, cmd, meta(40))) == rule


@pytest.mark.parametrize(
    ("figures", "quote"),
    [
        ({"total": Decimal("1e30")}, Decimal(100)),
        ({"total": Decimal(100)}, Decimal("1e30")),
        ({"total": Decimal("1e400"), "liability_cap": Decimal("-1e400")}, Decimal("1e400")),
        ({"total": Decimal(100), "discount": Decimal("1e99")}, Decimal(100)),
        ({"total": Decimal(100), "payment_terms_days": 10**30}, Decimal(100)),
    ],
)
def test_clause_checks_answer_every_contract(figures: dict[str, object], quote: Decimal) -> None:
    """A contract stored before the bounds existed gets a verdict, not an exception (which made
    the activity retry forever, the contract stay "checking" and the deal never close)."""
    fields: dict[str, Any] = {"contract_id": "C-1", "payment_terms_days": 30} | figures
    contract = Contract.model_construct(**fields)  # as old events decode: no bounds
    failures = check_clauses(contract, ContractPolicy(), quote, Decimal(0))
    assert [f.check for f in failures] == [ClauseCheck.FIGURES_IN_RANGE]
    assert "out of range" in failures[0].detail
    assert len(failures[0].detail) < 300


def test_after_sales_inputs_are_bounded() -> None:
    state = revisits_through(started(), 1)
    assert rule_of(
        lambda: decide_renewal(state, OpenRenewal(amount=Decimal("1e400"), by="an.li"), meta(8))
    ) == ("amount-maximum")
    assert (
        rule_of(lambda: decide_renewal(state, OpenRenewal(amount=Decimal(1), by="a/b"), meta(8)))
        == "id-format"
    )
    assert rule_of(lambda: decide_close(state, CloseRelationship(reason="r\x00", by="an.li"), meta(8))) == (
        "text-characters"
    )
    closed = decide_close(state, CloseRelationship(reason="  acquired ", by="mei.chen"), meta(8))
    assert closed.reason == "acquired"
    long_chain = state.model_copy(update={"deal_id": "d" * 250})
    assert rule_of(
        lambda: decide_renewal(long_chain, OpenRenewal(amount=Decimal(1), by="an.li"), meta(8))
    ) == ("id-format")


def test_lone_surrogates_are_refused_when_the_command_is_built() -> None:
    """No payload can carry them (UTF-8 has none), so no rule would ever see them."""
    for build in (
        lambda: LogTouch(kind="call", by="an.li", note="\udcff"),
        lambda: AdvanceStage(to_stage=Stage.CONTACT, facts={"first_touch": "\ud800"}),
        lambda: RecordFeedback(score=3, by="an.li", comment="\udfff"),
        lambda: Contract(contract_id="\udc80", total=Decimal(1), payment_terms_days=1),
    ):
        with pytest.raises(ValueError, match=r"\[text-characters\]"):
            build()

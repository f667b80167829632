"""Nothing a caller sends can wedge a deal: every decider, given any text (NUL, controls, bidi
overrides, look-alikes, huge strings) and any decimal (NaN, ±Infinity, 1e400, -0, many decimals),
answers with events or a `RuleViolation`, never another exception; and every event it produces is
one PostgreSQL stores (no NUL, valid UTF-8) whose search-attribute values Temporal accepts.

Commands are tried twice: as a caller builds them (`model_validate`; a pydantic ValidationError
there is an answer too: it refuses NaN, Infinity and lone surrogates before anything is sent) and
as a payload could decode them unchecked (`model_construct`), so the deciders see the worst.
"""

import contextlib
import math
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_outcome
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from domain.after_sales import (
    CloseRelationship,
    OpenRenewal,
    RecordFeedback,
    RelationshipState,
    apply_after_sales,
    decide_close,
    decide_feedback,
    decide_renewal,
)
from domain.commands import (
    AdvanceStage,
    DecideContract,
    DecideDiscount,
    LogTouch,
    MarkLost,
    OpenOpportunity,
    Reopen,
    RequestDiscount,
    SubmitContract,
)
from domain.contracts import ClauseFailure, Contract, ContractPolicy, check_clauses
from domain.errors import RuleViolation
from domain.events import EVENT_ADAPTER, DomainEvent
from domain.follow_up import decide_stall, decide_touch
from domain.follow_up_policy import FollowUpPolicy
from domain.negotiation import (
    decide_contract_checked,
    decide_contract_submit,
    decide_discount_request,
    decide_discount_timeout,
    decide_discount_vote,
    decide_legal,
)
from domain.opportunity import (
    OpportunityState,
    apply,
    decide_advance,
    decide_lose,
    decide_open,
    decide_reopen,
)
from domain.pipeline import load_catalog
from domain.stages import LossReason, Stage
from tests.factories import ALL_FACTS, good_contract, meta
from tests.test_after_sales_rules import revisits_through, started
from tests.test_domain_rules import at_stage, opened
from tests.test_negotiation_rules import negotiating, request

M = TypeVar("M", bound=BaseModel)
CATALOG = load_catalog()
SOFTWARE = CATALOG.get("software")
FOLLOW_UP = SOFTWARE.follow_up or FollowUpPolicy()
KEYWORD_BYTES = 2048  # Temporal's limit for a Keyword search attribute
# What no stored string may hold (an oracle of its own, not the domain's list): NUL and other
# controls but newline and tab, lone surrogates, bidi overrides and isolates.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")

NASTY = [
    "", " ", "\x00", "a\x00b", "an.li\x00", "\u202eevil", "\u200b", "\ufeff", "\r\n", "\t", "\x1b[31m",
    "e\u0301", "王丽", "\U0001f600", "\uff4dei.chen", "m\u0435i.chen", "mei.chen", "an.li", "lin.ma",
    "hua.zhang", "call", "C-1", "acme-01", "acme-01.after-sales", "acme-01-renewal-1", "a b", "a/b",
    "x" * 65, "o" * 2049, "\udcff", "\ud800x",
]  # fmt: skip
huge = st.builds(
    lambda c, n: c * n, st.sampled_from(["x", "\x00", "é", " ", "e\u0301", "王"]), st.integers(0, 30_000)
)
texts = st.one_of(st.sampled_from(NASTY), st.text(), st.text(st.characters(codec="utf-8")), huge)
SPECIAL = ["NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "1e400", "-1e400", "-0", "0E-1000", "1E-1000000"]
decimals = st.one_of(
    st.sampled_from([Decimal(s) for s in [*SPECIAL, "0.001", "100.0001", "1e30", "999999999999.99", "12.5"]]),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(0, 8).flatmap(lambda p: st.decimals(min_value=-1, max_value=10**13, places=p)),
)
ints = st.one_of(st.sampled_from([0, 1, 5, 6, -1, 3650, 3651, 10**30]), st.integers())


def mostly(valid: st.SearchStrategy[Any], nasty: st.SearchStrategy[Any] = texts) -> st.SearchStrategy[Any]:
    """Valid three draws in four, so that the deciders' yes (and the events it makes) is tested too."""
    return st.one_of(valid, valid, valid, nasty)


PRINTABLE = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))  # NFD input included: it is normalised
IDS = mostly(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,30}", fullmatch=True))
PEOPLE = mostly(st.sampled_from(["an.li", "alice", "mei.chen", "hua.zhang", "jun.wu", "lin.ma", "qiang.he"]))
WORDS = mostly(st.text(PRINTABLE, max_size=80))
NOTES = mostly(
    st.lists(st.text(PRINTABLE, max_size=40) | st.sampled_from(["\n", "\t", "\r\n"]), max_size=8).map("".join)
)
AMOUNTS = mostly(st.decimals(0, 10**12, places=2), decimals)
PERCENTS = mostly(st.decimals(0, 100, places=2), decimals)
DAYS = mostly(st.integers(0, 3650), ints)
SLOW = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)


def commands(model: type[M], fields: dict[str, Any]) -> list[M]:
    """The command unchecked, and as a caller builds it unless the model refuses it there."""
    built = [model.model_construct(**fields)]
    with contextlib.suppress(ValidationError):  # an answer too: the caller learns at once (exit 2)
        built.append(model.model_validate(fields))
    return built


def contracts(fields: dict[str, Any]) -> list[SubmitContract]:
    out = [SubmitContract.model_construct(contract=Contract.model_construct(**fields))]
    with contextlib.suppress(ValidationError):
        out.append(SubmitContract(contract=Contract.model_validate(fields)))
    return out


def storable(event: DomainEvent) -> None:
    text = event.model_dump_json()
    assert "\\u0000" not in text  # PostgreSQL's jsonb refuses NUL
    text.encode("utf-8")  # and psycopg sends UTF-8: no lone surrogates
    assert len(text) < 512 * 1024  # Temporal warns about payloads above 512 KB
    assert EVENT_ADAPTER.validate_json(text) == event
    for value in _strings(event.model_dump()):
        assert not FORBIDDEN.search(value), (event.type, value[:80])
        assert value == unicodedata.normalize("NFC", value)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def decided(decide: Callable[..., object], *args: Any) -> list[DomainEvent]:
    """The events of `decide(*args)`, each one storable; [] for a refusal that names its rule."""
    try:
        decision = decide(*args)
    except RuleViolation as err:
        refusal = err
    else:
        events: list[DomainEvent] = decision if isinstance(decision, list) else [decision]  # type: ignore[list-item]
        for one in events:
            storable(one)
        note_outcome(f"{decide.__name__}: accepted")  # --hypothesis-show-statistics: yes reached
        return events
    note_outcome(f"{decide.__name__}: {refusal.rule}")
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", refusal.rule), refusal.rule
    assert "\n" not in str(refusal), str(refusal)[:200]  # a one-line message
    assert len(str(refusal)) < 400, str(refusal)[:200]  # that quotes values cut short
    return []


def published(state: OpportunityState, events: list[DomainEvent]) -> OpportunityState:
    """Fold the events; what the workflow publishes as search attributes must be acceptable."""
    for event in events:
        state = apply(state, event)
    for keyword in (state.owner, state.pipeline, state.status):
        assert len(keyword.encode("utf-8")) <= KEYWORD_BYTES
    assert math.isfinite(float(state.amount))
    return state


def relationship(state: RelationshipState, events: list[DomainEvent]) -> None:
    for event in events:
        state = apply_after_sales(state, event)


OPEN_STAGES = {stage: at_stage(stage) for stage in Stage if stage.is_open}
LOST = apply(opened(), decide_lose(opened(), MarkLost(reason=LossReason.PRICE), meta(1)))
NEGOTIATING = negotiating()
PENDING = request(NEGOTIATING, "12")  # a manager's to decide
CHECKING = published(
    NEGOTIATING,
    decide_contract_submit(
        NEGOTIATING, SOFTWARE, SubmitContract(contract=good_contract(NEGOTIATING)), meta(40)
    ),
)
AWAITING_LEGAL = published(CHECKING, decide_contract_checked(CHECKING, [], meta(40)))
RELATIONSHIP = revisits_through(started(), 1)
ANY_FACTS = st.dictionaries(texts, texts, max_size=4) | st.dictionaries(
    st.text(max_size=3), st.just("x"), min_size=45, max_size=60
)
STATES = st.sampled_from([*OPEN_STAGES.values(), LOST, PENDING, CHECKING, AWAITING_LEGAL])


@SLOW
@given(
    oid=IDS, owner=PEOPLE, company=WORDS, contact=WORDS, source=WORDS, amount=AMOUNTS,
    renewal_of=mostly(st.none()), pipeline=st.sampled_from(["software", "services"]) | texts,
)  # fmt: skip
def test_open(
    oid: str, owner: str, company: str, contact: str, source: str, amount: Decimal, renewal_of: str | None,
    pipeline: str,
) -> None:  # fmt: skip
    fields = {
        "opportunity_id": oid, "pipeline": pipeline, "owner": owner, "company": company,
        "contact_person": contact, "source": source, "amount": amount, "renewal_of": renewal_of,
    }  # fmt: skip
    for cmd in commands(OpenOpportunity, fields):
        for opened_event in decided(decide_open, cmd, SOFTWARE, meta()):
            published(apply(None, opened_event), [])


@SLOW
@given(
    state=STATES, to=mostly(st.none(), st.sampled_from(list(Stage))), amount=mostly(st.none(), AMOUNTS),
    facts=mostly(st.dictionaries(IDS, NOTES, max_size=4), ANY_FACTS),
)  # fmt: skip
def test_advance(
    state: OpportunityState, to: Stage | None, amount: Decimal | None, facts: dict[str, str]
) -> None:
    """`to` None: the next stage; the facts come on top of those every exit asks for."""
    fields = {
        "to_stage": to or state.stage.next or Stage.AFTER_SALES,
        "facts": ALL_FACTS | facts,
        "amount": amount,
    }
    for cmd in commands(AdvanceStage, fields):
        published(state, decided(decide_advance, state, SOFTWARE, cmd, meta(50)))


@SLOW
@given(state=STATES, reason=st.sampled_from(list(LossReason)), note=NOTES)
def test_lose_and_reopen(state: OpportunityState, reason: LossReason, note: str) -> None:
    for cmd in commands(MarkLost, {"reason": reason, "note": note}):
        published(state, decided(decide_lose, state, cmd, meta(50)))
    for again in commands(Reopen, {"note": note}):
        published(LOST, decided(decide_reopen, LOST, again, meta(50)))


@SLOW
@given(
    state=STATES,
    kind=mostly(st.sampled_from(["call", "visit", "电话"])),
    by=PEOPLE,
    note=NOTES,
    days=st.floats(0, 400),
)
def test_touch_and_stall(state: OpportunityState, kind: str, by: str, note: str, days: float) -> None:
    for cmd in commands(LogTouch, {"kind": kind, "by": by, "note": note}):
        touched = published(state, decided(decide_touch, state, cmd, meta(50)))
        published(touched, decided(decide_stall, touched, SOFTWARE, FOLLOW_UP, meta(50 + days)))


@SLOW
@given(
    state=STATES, pct=PERCENTS, comment=NOTES, approver=PEOPLE, approve=st.booleans(), hours=st.floats(0, 500)
)
def test_discounts(
    state: OpportunityState, pct: Decimal, comment: str, approver: str, approve: bool, hours: float
) -> None:
    for ask in commands(RequestDiscount, {"discount": pct, "comment": comment}):
        published(state, decided(decide_discount_request, state, SOFTWARE, ask, meta(50)))
    for vote in commands(DecideDiscount, {"approver": approver, "approve": approve, "comment": comment}):
        published(PENDING, decided(decide_discount_vote, PENDING, SOFTWARE, vote, meta(41)))
    later = meta(40 + hours / 24)
    published(PENDING, decided(decide_discount_timeout, PENDING, SOFTWARE, later))


@SLOW
@given(
    contract_id=IDS, total=AMOUNTS, discount=PERCENTS, days=DAYS, cap=mostly(AMOUNTS, st.none()),
    quote=AMOUNTS, approved=PERCENTS,
)  # fmt: skip
def test_contracts(
    contract_id: str, total: Decimal, discount: Decimal, days: int, cap: Decimal | None, quote: Decimal,
    approved: Decimal,
) -> None:  # fmt: skip
    fields = {
        "contract_id": contract_id, "total": total, "discount": discount, "payment_terms_days": days,
        "liability_cap": cap,
    }  # fmt: skip
    policy = SOFTWARE.contract or ContractPolicy()
    for cmd in contracts(fields):
        # The clause check answers any contract and any quote with a verdict (as the activity would).
        verdict = check_clauses(cmd.contract, policy, quote, approved)
        assert all(isinstance(f, ClauseFailure) for f in verdict)
        submitted = published(
            NEGOTIATING, decided(decide_contract_submit, NEGOTIATING, SOFTWARE, cmd, meta(40))
        )
        if submitted.contract is not None:  # accepted: check the recorded contract as the workflow does
            recorded = submitted.contract.contract
            failures = check_clauses(recorded, policy, submitted.amount, submitted.approved_discount)
            published(submitted, decided(decide_contract_checked, submitted, failures, meta(40)))


@SLOW
@given(by=PEOPLE, comment=NOTES, approve=st.booleans())
def test_legal_decisions(by: str, comment: str, approve: bool) -> None:
    for cmd in commands(DecideContract, {"by": by, "approve": approve, "comment": comment}):
        published(AWAITING_LEGAL, decided(decide_legal, AWAITING_LEGAL, SOFTWARE, cmd, meta(41)))


@SLOW
@given(
    score=mostly(st.integers(1, 5), ints),
    revisit=mostly(st.none(), ints),
    text=NOTES,
    by=PEOPLE,
    amount=AMOUNTS,
)
def test_after_sales(score: int, revisit: int | None, text: str, by: str, amount: Decimal) -> None:
    state = RELATIONSHIP
    fields = {"score": score, "comment": text, "by": by, "revisit": revisit}
    for feedback in commands(RecordFeedback, fields):
        relationship(state, decided(decide_feedback, state, feedback, meta(8)))
    for renewal in commands(OpenRenewal, {"amount": amount, "by": by, "note": text}):
        bounds = SOFTWARE.amount_bounds
        relationship(state, decided(decide_renewal, state, renewal, meta(8), bounds))
    for close in commands(CloseRelationship, {"reason": text, "by": by}):
        relationship(state, decided(decide_close, state, close, meta(8)))


def test_the_states_are_what_the_properties_need() -> None:
    """Guards the fixtures above: each decider is reached in a state where it can say yes."""
    assert PENDING.discount_request is not None
    assert PENDING.discount_request.level == 0
    assert CHECKING.contract is not None
    assert CHECKING.contract.status.value == "checking"
    assert AWAITING_LEGAL.contract is not None
    assert AWAITING_LEGAL.contract.status.value == "awaiting_legal"
    assert RELATIONSHIP.revisits[-1].status.value == "open"
    assert LOST.lost is not None

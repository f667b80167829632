"""The domain's edge: what a caller's words and numbers must be before they become events.

The deciders pass every value a command carries through these checks, so that a refusal names its
rule and the event records the cleaned value (text NFC-normalised and trimmed, amounts without a
negative zero or an exponent). The command models themselves accept any string and any finite
number on purpose: a recorded history must always decode, even one recorded before a limit was
tightened. (Refused commands never reach a history; accepted ones are decided again on replay, so a
new limit may only refuse values no recorded history carries: check tests/histories.)

Why each limit: the values end up as Temporal search attributes (owner, pipeline, stage: Keyword,
at most 2,048 bytes; amount: Double, which must be finite), as workflow ids, and in PostgreSQL jsonb
(which refuses NUL) through UTF-8 (which has no lone surrogates). A value the server refuses after
the workflow moved on wedges the deal; refused here, it changes nothing.

| kind   | fields                                          | at most | characters                        |
|--------|-------------------------------------------------|---------|-----------------------------------|
| id     | opportunity, contract, renewal_of, fact names   | 64      | ASCII `[A-Za-z0-9][A-Za-z0-9._:-]*` |
| person | owner, by, approver, a command's actor          | 64      | the same, and `@`                 |
| label  | touch kind                                      | 64      | one line                          |
| name   | company, contact person, source, close reason   | 200     | one line                          |
| note   | notes, comments, fact values                    | 2,000   | newlines and tabs allowed         |
| request id | a decision sent as a signal                 | 255     | printable, not all blank          |

Ids are ASCII so that look-alikes (a Cyrillic U+0430 for the "a" of "acme"), spaces or slashes
cannot name a different deal that reads the same; they are checked as given, not trimmed, because
the caller's id is also the workflow's id. Ids of the engine's own forms (`<deal>.after-sales`,
`<deal>-renewal-<n>`) are reserved. Text refuses control characters (C0, DEL, C1; a note keeps
newline and tab), lone surrogates, the bidirectional overrides and isolates that make text read
other than it is stored, invisible zero-width spaces, and line or paragraph separators.
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel

from domain.errors import RuleViolation

ID_MAX = 64
ENGINE_ID_MAX = 255  # ids the engine derives (renewals of renewals grow by "-renewal-<n>" each time)
LABEL_MAX = 64
NAME_MAX = 200
NOTE_MAX = 2000
FACTS_MAX = 50
PAYMENT_DAYS_MAX = 3650  # ten years
PERCENT_DECIMALS = 2  # 12.75 %
DEFAULT_MAX_AMOUNT = Decimal(10**12)
# No pipeline may allow more: a Double holds every cent up to about 9 * 10^13 exactly, and the
# clause checks' arithmetic stays well inside decimal's default 28 digits.
HARD_MAX_AMOUNT = Decimal(10**15)
RELATIONSHIP_SUFFIX = ".after-sales"
RENEWAL_INFIX = "-renewal-"

# ISO 4217 minor units that are not 2; every other currency has cents.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0, "XAF": 0, "XOF": 0}
_MINOR_UNITS |= {"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3}

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_PERSON = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]*")
_RENEWAL = re.compile(r"(?P<deal>.+)-renewal-(?P<n>[0-9]+)")
_BAD_ANYWHERE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
    "\ud800-\udfff"  # lone surrogates (no UTF-8 for them)
    "\u200b\u2060\ufeff"  # zero-width space, word joiner, BOM: invisible
    "\u202a-\u202e\u2066-\u2069"  # bidi embeddings, overrides, isolates (trojan-source)
    "\u2028\u2029"  # line and paragraph separators
    "\ufffe\uffff"  # non-characters
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_BAD_IN_NOTE = re.compile(f"[{_BAD_ANYWHERE}]")
_BAD_IN_LINE = re.compile(f"[{_BAD_ANYWHERE}\t\n]")


@dataclass(frozen=True)
class TextKind:
    limit: int
    multiline: bool


LABEL = TextKind(LABEL_MAX, multiline=False)
NAME = TextKind(NAME_MAX, multiline=False)
NOTE = TextKind(NOTE_MAX, multiline=True)


@dataclass(frozen=True)
class AmountBounds:
    """What an amount may be in a pipeline: at most `max_amount`, in whole `minor_unit` decimals."""

    max_amount: Decimal = DEFAULT_MAX_AMOUNT
    minor_unit: int = 2
    currency: str = "CNY"


DEFAULT_BOUNDS = AmountBounds()


def minor_unit(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def shown(value: object, width: int = 40) -> str:
    """A caller's value as a refusal quotes it: repr (so NUL and newlines stay visible and the
    message stays on one line), cut short."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else f"{text[: width - 3]}..."


# --- text ------------------------------------------------------------------------------------


def clean_text(value: str, field: str, kind: TextKind) -> str:
    """The text as the event records it (NFC, trimmed, CRLF as LF), or a refusal."""
    # NFC composes at most a few code points into one: far beyond the limit is refused unread.
    if len(value) > 4 * kind.limit:
        raise _too_long(field, len(value), kind.limit)
    if kind.multiline:
        value = value.replace("\r\n", "\n")
    bad = (_BAD_IN_NOTE if kind.multiline else _BAD_IN_LINE).search(value)
    if bad is not None:
        where = "" if kind.multiline else " in one line"
        raise RuleViolation(
            "text-characters",
            f"{field} contains U+{ord(bad.group()):04X} at position {bad.start()}:"
            f" control, invisible or line-breaking characters are not allowed{where}",
        )
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > kind.limit:
        raise _too_long(field, len(text), kind.limit)
    return text


def _too_long(field: str, length: int, limit: int) -> RuleViolation:
    return RuleViolation("text-length", f"{field} is {length} characters long; at most {limit}")


def check_id(value: str, field: str, limit: int = ID_MAX) -> str:
    """An id as given (never rewritten: it may also be a workflow id), or `id-format`."""
    _check_pattern(_ID, value, field, limit, "A-Z a-z 0-9 . _ : -")
    return value


def check_person(value: str, field: str) -> str:
    """Someone's user name (an owner, an approver, who did something), or `id-format`."""
    _check_pattern(_PERSON, value, field, ID_MAX, "A-Z a-z 0-9 . _ : @ -")
    return value


def check_actor(value: str | None) -> str | None:
    """Who sent a command (None: unknown), in the form of a person's name (`service:x` included)."""
    return None if value is None else check_person(value, "actor")


def check_request_id(value: str) -> str:
    """A command's request id (its idempotency key) as a signal carries it: 1 to 255 printable
    characters, not all blank (an update's id is Temporal's to check)."""
    if not 0 < len(value) <= ENGINE_ID_MAX or not value.isprintable() or not value.strip():
        raise RuleViolation(
            "request-id-format",
            f"a request id is 1 to {ENGINE_ID_MAX} printable characters, got {shown(value)}",
        )
    return value


def _check_pattern(pattern: re.Pattern[str], value: str, field: str, limit: int, allowed: str) -> None:
    if len(value) > limit or pattern.fullmatch(value) is None:
        raise RuleViolation(
            "id-format",
            f"{field} must be 1 to {limit} characters of {allowed}, starting with a letter or digit;"
            f" got {shown(value)}",
        )


def check_opportunity_id(opportunity_id: str, renewal_of: str | None) -> None:
    """A caller's id is an id of no engine form; a renewal's is `<renewal_of>-renewal-<n>`."""
    if renewal_of is None:
        check_id(opportunity_id, "opportunity id")
        if opportunity_id.endswith(RELATIONSHIP_SUFFIX) or _RENEWAL.fullmatch(opportunity_id):
            raise RuleViolation(
                "id-reserved",
                f"{shown(opportunity_id)} has the form of the engine's own ids"
                f" ('<deal>{RELATIONSHIP_SUFFIX}', '<deal>{RENEWAL_INFIX}<n>'); choose another",
            )
        return
    check_id(renewal_of, "renewal_of", ENGINE_ID_MAX)
    match = _RENEWAL.fullmatch(opportunity_id)
    if match is None or match["deal"] != renewal_of:
        raise RuleViolation(
            "id-reserved",
            f"a renewal's id is '<deal>{RENEWAL_INFIX}<n>' of the deal it renews ({shown(renewal_of)})",
        )
    check_id(opportunity_id, "opportunity id", ENGINE_ID_MAX)


def clean_facts(facts: Mapping[str, str]) -> dict[str, str]:
    if len(facts) > FACTS_MAX:
        raise RuleViolation("facts-limit", f"{len(facts)} facts in one command; at most {FACTS_MAX}")
    return {check_id(k, "a fact's name"): clean_text(v, f"fact {k}", NOTE) for k, v in facts.items()}


# --- numbers ---------------------------------------------------------------------------------


def _decimals_beyond(value: Decimal, places: int) -> bool:
    """Whether a finite value has non-zero digits below 10^-places (exact: no context, no rounding)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    excess = -places - exponent  # how many of the last digits lie below 10^-places
    return excess > 0 and any(digits[-excess:])


def _canonical(value: Decimal, places: int) -> Decimal:
    """The same number without an exponent, a negative zero or trailing zeros beyond `places`."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent > 0:
        value = value.quantize(Decimal(1))
    elif exponent < -places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return value.copy_abs() if value.is_zero() else value


def clean_amount(value: Decimal, field: str, bounds: AmountBounds = DEFAULT_BOUNDS) -> Decimal:
    """A sum of money: finite, >= 0, at most the pipeline's maximum, in the currency's minor unit."""
    if not value.is_finite() or value < 0:
        raise RuleViolation(
            "amount-not-negative", f"{field} must be a finite number >= 0, got {shown(value)}"
        )
    if value > bounds.max_amount:
        raise RuleViolation(
            "amount-maximum", f"{field} {shown(value)} is above the pipeline's maximum of {bounds.max_amount}"
        )
    if _decimals_beyond(value, bounds.minor_unit):
        raise RuleViolation(
            "amount-precision",
            f"{field} {shown(value)} has more decimals than {bounds.currency} allows ({bounds.minor_unit})",
        )
    return _canonical(value, bounds.minor_unit)


def clean_percent(value: Decimal, field: str, *, zero_allowed: bool) -> Decimal:
    """A discount in percent: above 0 (or 0 when `zero_allowed`) and at most 100, two decimals."""
    low_ok = value.is_finite() and (value >= 0 if zero_allowed else value > 0)
    if not low_ok or value > 100:
        low = "from 0" if zero_allowed else "above 0"
        raise RuleViolation(
            "discount-range", f"a {field} is a percentage {low} and at most 100, got {shown(value)}"
        )
    if _decimals_beyond(value, PERCENT_DECIMALS):
        raise RuleViolation(
            "discount-precision", f"a {field} has at most {PERCENT_DECIMALS} decimals, got {shown(value)}"
        )
    return _canonical(value, PERCENT_DECIMALS)


def check_days(value: int, field: str) -> int:
    if not 0 <= value <= PAYMENT_DAYS_MAX:
        raise RuleViolation(
            "payment-days-range", f"{field} must be 0 to {PAYMENT_DAYS_MAX} days, got {shown(value)}"
        )
    return value


def refuse_surrogates(model: BaseModel) -> None:
    """For command models: refuse text no JSON payload can carry (lone surrogates have no UTF-8),
    which would otherwise fail in the client before any rule could name it."""
    for name, value in model:
        texts = [value] if isinstance(value, str) else []
        if isinstance(value, dict):
            texts = [str(t) for kv in value.items() for t in kv]
        if any(_SURROGATE.search(t) for t in texts):
            raise ValueError(f"[text-characters] {name} holds a lone surrogate (bytes that are not UTF-8)")

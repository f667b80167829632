"""The errors the application layer raises, and every front end maps (CLI exit codes, HTTP statuses).

Anything else escaping app/ is a bug, not something a user caused.
"""


class AppError(Exception):
    """Base of the errors a user can cause or meet; str() is the message to show them."""


class Refused(AppError):
    """A command refused by a rule. `rule` names it; str() reads "[rule] message". Nothing was recorded."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        self.message = message.removeprefix(f"[{rule}] ")
        super().__init__(f"[{rule}] {self.message}")


class NotFound(Refused):
    """No opportunity (or relationship) with that id.

    A refusal too (rule `known-opportunity` / `known-relationship`), so callers written against
    the earlier API, which caught every refusal, still catch it; front ends test for it first.
    """


class Unreachable(AppError):
    """A server (Temporal or PostgreSQL) did not answer at its address."""

    def __init__(self, server: str, address: str, detail: str, hint: str = "") -> None:
        self.server = server
        self.address = address
        self.detail = detail
        self.hint = hint
        super().__init__(f"cannot reach {server} at {address}: {detail}" + (f". {hint}" if hint else ""))


class BadInput(AppError):
    """Input that can never succeed as given: a bad date, a malformed address, a bad pipeline file."""

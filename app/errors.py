"""The errors the application layer raises, and every front end maps (CLI exit codes, HTTP statuses).

Anything else escaping app/ is a bug, not something a user caused.

Two families matter to a caller deciding what to do next:
- `Refused` (and `NotFound`): the answer is final; retrying the same command gets the same answer.
- `Unavailable` (`Unreachable`, `NoWorker`, `NotAnswered`): an infrastructure fault; `retryable` is
  True. A command may or may not have been applied: retry it with the same `request_id`, which
  applies it at most once and answers with the first result.
"""


class AppError(Exception):
    """Base of the errors a user can cause or meet; str() is the message to show them."""

    retryable = False


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


class Forbidden(Refused):
    """The caller may not do this (authorisation: their role, their deals, their scopes); an HTTP
    front end answers 403. A refusal too: nothing was recorded, and retrying gets the same answer."""


class Unauthenticated(AppError):
    """No credentials, or credentials that prove nobody: a missing, expired, forged or revoked token
    or API key (HTTP 401). `rule` names what failed, e.g. `token-expired`."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        self.message = message
        super().__init__(f"[{rule}] {message}")


class Unavailable(AppError):
    """Something the command needs did not answer: try again later, with the same request id."""

    retryable = True

    def __init__(self, message: str, request_id: str | None = None) -> None:
        self.request_id = request_id
        retry = f" (retry with request id {request_id}: it is applied at most once)" if request_id else ""
        super().__init__(message + retry)


class Unreachable(Unavailable):
    """A server (Temporal or PostgreSQL) did not answer at its address."""

    def __init__(
        self, server: str, address: str, detail: str, hint: str = "", request_id: str | None = None
    ) -> None:
        self.server = server
        self.address = address
        self.detail = detail
        self.hint = hint
        message = f"cannot reach {server} at {address}: {detail}" + (f". {hint}" if hint else "")
        super().__init__(message, request_id)


class NoWorker(Unavailable):
    """Temporal answers, but no dealflow worker polls the task queue: nothing can be applied or read."""

    def __init__(self, task_queue: str, address: str, request_id: str | None = None) -> None:
        self.task_queue = task_queue
        self.address = address
        message = (
            f"no worker is running for task queue {task_queue} on Temporal at {address}:"
            " start one with `dealflow worker`"
        )
        super().__init__(message, request_id)


class NotAnswered(Unavailable):
    """A worker is polling but this workflow's work is not getting done (not picked up, or failing)."""


class BadInput(AppError):
    """Input that can never succeed as given: a bad date, a malformed address, a bad pipeline file."""

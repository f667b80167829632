"""The one error the domain raises when a command breaks a rule."""


class RuleViolation(Exception):
    """A command was refused. `rule` names the rule, so callers and tests can tell refusals apart."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message

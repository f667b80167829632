"""How notifications reach people: the SMTP server, the webhook, the retry limits and the approval
links' address and secret (runtime/outbox_dispatcher.py, api/approval_links.py).

Read from the environment by pydantic-settings, as `Settings.notify`; each field is also settable
by name (`NotifySettings(smtp_host=…)`). Nothing set, nothing is sent: the outbox keeps every row
(`dealflow notifications` shows them). E-mail needs DEALFLOW_SMTP_HOST, the webhook
DEALFLOW_WEBHOOK_URL and DEALFLOW_WEBHOOK_SECRET.
"""

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.key_files import read_or_make_key

LINK_KEY_FILE = "approval-links.key"


def _env(name: str, field: str) -> AliasChoices:
    return AliasChoices(name, field)


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore", case_sensitive=True)

    smtp_host: str | None = Field(None, validation_alias=_env("DEALFLOW_SMTP_HOST", "smtp_host"))
    smtp_port: int = Field(587, gt=0, lt=65536, validation_alias=_env("DEALFLOW_SMTP_PORT", "smtp_port"))
    smtp_user: str | None = Field(None, validation_alias=_env("DEALFLOW_SMTP_USER", "smtp_user"))
    smtp_password: SecretStr | None = Field(
        None, validation_alias=_env("DEALFLOW_SMTP_PASSWORD", "smtp_password")
    )
    smtp_from: str = Field("dealflow@localhost", validation_alias=_env("DEALFLOW_SMTP_FROM", "smtp_from"))
    # starttls: upgrade a plain connection (port 587); tls: TLS from the start (465); none: plain.
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls", validation_alias=_env("DEALFLOW_SMTP_TLS", "smtp_tls")
    )
    webhook_url: str | None = Field(None, validation_alias=_env("DEALFLOW_WEBHOOK_URL", "webhook_url"))
    webhook_secret: SecretStr | None = Field(
        None, validation_alias=_env("DEALFLOW_WEBHOOK_SECRET", "webhook_secret")
    )
    # Each delivery is tried up to max_attempts times, waiting backoff_s, then twice as long each
    # time (at most max_backoff_s), then dead-lettered (status failed).
    max_attempts: int = Field(8, ge=1, validation_alias=_env("DEALFLOW_NOTIFY_MAX_ATTEMPTS", "max_attempts"))
    backoff_s: float = Field(
        30.0, gt=0, validation_alias=_env("DEALFLOW_NOTIFY_BACKOFF_SECONDS", "backoff_s")
    )
    max_backoff_s: float = Field(
        3600.0, gt=0, validation_alias=_env("DEALFLOW_NOTIFY_MAX_BACKOFF_SECONDS", "max_backoff_s")
    )
    # How long one attempt may hold a delivery: longer than a send may take (timeout_s).
    lease_s: float = Field(120.0, gt=0, validation_alias=_env("DEALFLOW_NOTIFY_LEASE_SECONDS", "lease_s"))
    timeout_s: float = Field(
        30.0, gt=0, validation_alias=_env("DEALFLOW_NOTIFY_TIMEOUT_SECONDS", "timeout_s")
    )
    poll_s: float = Field(5.0, gt=0, validation_alias=_env("DEALFLOW_NOTIFY_POLL_SECONDS", "poll_s"))
    # Where recipients reach the API (`dealflow serve`): the approval links point there.
    public_url: str = Field(
        "http://127.0.0.1:8000", validation_alias=_env("DEALFLOW_PUBLIC_URL", "public_url")
    )
    # The key approval links are signed with (shared by the worker and the API); unset, one kept
    # in the data directory (made on first use).
    link_secret: SecretStr | None = Field(None, validation_alias=_env("DEALFLOW_LINK_SECRET", "link_secret"))

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt: backoff_s doubling each time."""
        return float(min(self.backoff_s * 2 ** min(attempts - 1, 62), self.max_backoff_s))

    def link_key(self, data_dir: Path) -> bytes:
        if self.link_secret is not None:
            return self.link_secret.get_secret_value().encode()
        return read_or_make_key(data_dir / LINK_KEY_FILE, "link signing key")

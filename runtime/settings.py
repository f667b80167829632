"""Where dealflow finds its servers. Unset variables mean: start the embedded ones.

Read from the environment by pydantic-settings; each field is also settable by name
(`Settings(database_url=…, …)`), as tests and the demo do. Addresses are not checked here: a
command that needs only PostgreSQL must not fail on a bad TEMPORAL_ADDRESS, so each server's
address is checked when something first connects to it (app/connections.py).
"""

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.notify_settings import NotifySettings

TASK_QUEUE = "dealflow"


def _env(name: str, field: str) -> AliasChoices:
    return AliasChoices(name, field)  # the variable's name in the environment, the field's by name


class Settings(BaseSettings):
    # case_sensitive: only the upper-case names below are read, so no stray `TASK_QUEUE` variable
    # can move a client off the worker's task queue.
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore", case_sensitive=True)

    # Temporal's address and namespace, also read (with TLS, API keys and profiles) by the SDK's own
    # environment configuration: runtime/temporal_config.py. Given here by name, they win over it;
    # the namespace's default applies only when no profile nor TEMPORAL_NAMESPACE names one.
    temporal_address: str | None = Field(None, validation_alias=_env("TEMPORAL_ADDRESS", "temporal_address"))
    temporal_namespace: str = Field(
        "default", validation_alias=_env("TEMPORAL_NAMESPACE", "temporal_namespace")
    )
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL", "database_url"))
    # A database of its own on that server (created if missing), e.g. the demo's `dealflow_demo`;
    # by default the one DATABASE_URL names, or `postgres` on the embedded server.
    database: str | None = Field(None, validation_alias=_env("DEALFLOW_DATABASE", "database"))
    data_dir: Path = Field(Path(".dealflow"), validation_alias=_env("DEALFLOW_DATA_DIR", "data_dir"))
    pipelines_file: Path | None = Field(None, validation_alias=_env("DEALFLOW_PIPELINES", "pipelines_file"))
    # Who callers of the HTTP API are: an OIDC issuer's tokens in production (issuer, audience and
    # JWKS URL together); unset, tokens signed by a key kept in data_dir (`dealflow token`).
    oidc_issuer: str | None = Field(None, validation_alias=_env("DEALFLOW_OIDC_ISSUER", "oidc_issuer"))
    oidc_audience: str | None = Field(None, validation_alias=_env("DEALFLOW_OIDC_AUDIENCE", "oidc_audience"))
    oidc_jwks_url: str | None = Field(None, validation_alias=_env("DEALFLOW_OIDC_JWKS_URL", "oidc_jwks_url"))
    # The claim that names the person (a name in the people directory).
    oidc_name_claim: str = Field(
        "preferred_username", validation_alias=_env("DEALFLOW_OIDC_NAME_CLAIM", "oidc_name_claim")
    )
    # How notifications reach people (DEALFLOW_SMTP_*, DEALFLOW_WEBHOOK_*, …: runtime/notify_settings.py).
    notify: NotifySettings = Field(default_factory=NotifySettings, validation_alias=AliasChoices("notify"))
    # The task queue the worker polls and every client sends to: workers and clients must agree,
    # so each of them (worker, API, command line) reads the same variable, DEALFLOW_TASK_QUEUE.
    task_queue: str = Field(TASK_QUEUE, validation_alias=_env("DEALFLOW_TASK_QUEUE", "task_queue"))
    # The worker's own HTTP port for /metrics (its SDK's and its own) and /readyz; unset: none.
    worker_metrics_port: int | None = Field(
        None, ge=0, le=65535, validation_alias=_env("DEALFLOW_WORKER_METRICS_PORT", "worker_metrics_port")
    )
    worker_metrics_host: str = Field(
        "0.0.0.0", validation_alias=_env("DEALFLOW_WORKER_METRICS_HOST", "worker_metrics_host")
    )
    # How long a stopping worker (SIGTERM, Ctrl-C) lets its activities in flight finish.
    worker_shutdown_grace_s: float = Field(
        30.0, ge=0, validation_alias=_env("DEALFLOW_WORKER_SHUTDOWN_GRACE", "worker_shutdown_grace_s")
    )

    @field_validator("task_queue")
    @classmethod
    def _queue_name(cls, value: str) -> str:
        if not value.strip() or len(value) > 200 or not value.isprintable():
            raise ValueError("DEALFLOW_TASK_QUEUE must be 1 to 200 printable characters")
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @classmethod
    def from_env(cls) -> "Settings":
        return cls()

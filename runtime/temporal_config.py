"""Where Temporal is and how to reach it, through the SDK's own environment configuration
(`temporalio.envconfig`), the same for every process (worker, API, command line, projector, bench).

The SDK reads a profile from a TOML file (`TEMPORAL_CONFIG_FILE`, default
`~/.config/temporalio/temporal.toml`; `TEMPORAL_PROFILE`, default `default`) and lays its
environment variables over it: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
`TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH` / `_DATA`, `TEMPORAL_TLS_CLIENT_KEY_PATH` / `_DATA`,
`TEMPORAL_TLS_SERVER_CA_CERT_PATH` / `_DATA`, `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_*`.
An address or namespace given to `Settings` by name wins over both (tests, the demo).

No address anywhere means the embedded dev server (`address is None`). A configuration that can
never work (a profile that is not there, a file that does not parse, a certificate that cannot be
read or is not PEM, a certificate without its key) is a `TemporalConfigError` (a ValueError), which
the front ends report as bad input (exit 2) instead of waiting for a server that will never answer.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS, DataSource
from temporalio.service import TLSConfig

from runtime.settings import Settings

HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
DEFAULT_NAMESPACE = "default"


class TemporalConfigError(ValueError):
    """Temporal's connection configuration is wrong: fix it, retrying will not help."""


@dataclass(frozen=True)
class TemporalTarget:
    """How to connect: `Client.connect(**target.connect_options(address))`."""

    address: str | None  # None: the embedded dev server
    namespace: str = DEFAULT_NAMESPACE
    api_key: str | None = None
    tls: bool | TLSConfig = False
    rpc_metadata: Mapping[str, str] = field(default_factory=dict)
    source: str = "environment"  # where it came from, for messages

    @property
    def secured(self) -> str:
        """How the connection is secured, in words for a log line (never the secrets)."""
        kinds = []
        if isinstance(self.tls, TLSConfig):
            kinds.append("mTLS" if self.tls.client_cert else "TLS")
        elif self.tls:
            kinds.append("TLS")
        if self.api_key:
            kinds.append("API key")
        return " + ".join(kinds) or "plaintext"

    def connect_options(self, address: str | None = None) -> dict[str, Any]:
        """Keyword arguments for `Client.connect` (`address` for the embedded server's)."""
        target_host = address or self.address
        if target_host is None:
            raise TemporalConfigError("no Temporal address configured")
        options: dict[str, Any] = {"target_host": target_host, "namespace": self.namespace, "tls": self.tls}
        if self.api_key is not None:
            options["api_key"] = self.api_key
        if self.rpc_metadata:
            options["rpc_metadata"] = dict(self.rpc_metadata)
        return options


def temporal_target(settings: Settings, environ: Mapping[str, str] | None = None) -> TemporalTarget:
    """The connection `settings` and the SDK's configuration (file and `environ`, default the
    process's environment) describe."""
    env = dict(os.environ if environ is None else environ)
    source = _describe_source(env)
    config_file = env.get("TEMPORAL_CONFIG_FILE")
    if config_file and not Path(config_file).is_file():
        raise TemporalConfigError(f"TEMPORAL_CONFIG_FILE={config_file}: no such file")
    try:
        profile = ClientConfigProfile.load(override_env_vars=env)
    except (RuntimeError, OSError, ValueError) as err:  # the SDK's ConfigError is a RuntimeError
        raise TemporalConfigError(f"Temporal configuration ({source}): {_first_line(err)}") from None
    address = settings.temporal_address or profile.address
    if address is not None:
        match = HOST_PORT.match(address)
        if match is None or not 0 < int(match[2]) < 65536:
            raise TemporalConfigError(
                f"TEMPORAL_ADDRESS must be host:port (e.g. localhost:7233), got {address!r}"
            )
    explicit_namespace = "temporal_namespace" in settings.model_fields_set
    namespace = settings.temporal_namespace if explicit_namespace else profile.namespace
    tls: bool | TLSConfig = False
    if profile.api_key is not None:
        tls = True  # an API key travels over TLS only (the SDK's own default)
    if profile.tls is not None:
        tls = _tls(profile.tls, source)
    if address is None and (tls or profile.api_key):
        raise TemporalConfigError(
            f"Temporal ({source}): TLS or an API key is configured but no address: set TEMPORAL_ADDRESS"
            " (or the profile's address); without one dealflow uses its embedded dev server, in plaintext"
        )
    return TemporalTarget(
        address=address,
        namespace=namespace or DEFAULT_NAMESPACE,
        api_key=profile.api_key or None,
        tls=tls,
        rpc_metadata=dict(profile.grpc_meta),
        source=source,
    )


def _tls(tls: ClientConfigTLS, source: str) -> bool | TLSConfig:
    if tls.disabled is True:
        return False
    cert = _read(tls.client_cert, "client certificate", "TEMPORAL_TLS_CLIENT_CERT_PATH", source)
    key = _read(tls.client_private_key, "client key", "TEMPORAL_TLS_CLIENT_KEY_PATH", source)
    ca = _read(tls.server_root_ca_cert, "server CA certificate", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", source)
    if (cert is None) != (key is None):
        given, missing = ("certificate", "key") if key is None else ("key", "certificate")
        raise TemporalConfigError(
            f"Temporal TLS ({source}): a client {given} without its {missing}: mTLS needs both"
            " (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or the profile's"
            " tls.client_cert_path and tls.client_key_path)"
        )
    for data, what, check in ((cert, "client certificate", "CERTIFICATE"), (ca, "server CA", "CERTIFICATE")):
        if data is not None and f"-----BEGIN {check}-----".encode() not in data:
            raise TemporalConfigError(f"Temporal TLS ({source}): the {what} is not a PEM certificate")
    if key is not None and b"PRIVATE KEY-----" not in key:
        raise TemporalConfigError(f"Temporal TLS ({source}): the client key is not a PEM private key")
    return TLSConfig(domain=tls.server_name, server_root_ca_cert=ca, client_cert=cert, client_private_key=key)


def _read(data: DataSource | None, what: str, variable: str, source: str) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, Path):
        try:
            return data.read_bytes()
        except OSError as err:
            raise TemporalConfigError(
                f"Temporal TLS ({source}): cannot read the {what} {data} ({variable} or the profile's"
                f" tls settings): {err.strerror or err}"
            ) from None
    return data.encode() if isinstance(data, str) else data


def _describe_source(env: Mapping[str, str]) -> str:
    profile = env.get("TEMPORAL_PROFILE")
    where = env.get("TEMPORAL_CONFIG_FILE")
    if profile or where:
        return f"profile {profile or 'default'!r} of {where or 'the default config file'}, and TEMPORAL_*"
    return "TEMPORAL_* environment variables"


def _first_line(err: BaseException) -> str:
    """The error's first line, and its last when that says more (a TOML error's cause)."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    last = lines[-1]
    return lines[0] if len(lines) == 1 or last.startswith(("|", "^")) else f"{lines[0]}: {last}"

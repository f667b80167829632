"""Connecting anywhere: Temporal's connection from the SDK's environment configuration (profiles in
a TOML file, TEMPORAL_* variables, TLS client certificates, API keys, gRPC metadata), checked as
connect options and against a real dev server, behind mutual TLS; a configuration that can never
work is a usage error (exit 2) naming what to fix."""

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from cli.main import main
from runtime.settings import TASK_QUEUE, Settings
from runtime.temporal_client import connect
from runtime.temporal_config import TemporalConfigError, temporal_target
from tests.tls_proxy import make_pki, mtls_proxy

PROFILES = """
[profile.default]
address = "localhost:7233"

[profile.cloud]
address = "sales.a1b2c.tmprl.cloud:7233"
namespace = "sales.a1b2c"
api_key = "cloud-key"

[profile.mtls]
address = "temporal.internal:7233"
namespace = "sales"
[profile.mtls.tls]
client_cert_path = "{dir}/client.pem"
client_key_path = "{dir}/client.key"
server_ca_cert_path = "{dir}/ca.pem"
server_name = "temporal.internal"
[profile.mtls.grpc_meta]
x-team = "sales"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    make_pki(tmp_path)
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILES.format(dir=tmp_path))
    return path


def test_nothing_configured_is_the_embedded_dev_server() -> None:
    target = temporal_target(Settings(), {})
    assert (target.address, target.namespace, target.tls, target.api_key) == (None, "default", False, None)
    assert Settings().task_queue == TASK_QUEUE


def test_a_cloud_profile_with_an_api_key_goes_over_tls(config_file: Path) -> None:
    target = temporal_target(
        Settings(), {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "cloud"}
    )
    assert target.connect_options() == {
        "target_host": "sales.a1b2c.tmprl.cloud:7233",
        "namespace": "sales.a1b2c",
        "api_key": "cloud-key",
        "tls": True,
    }
    assert target.secured == "TLS + API key"


def test_an_mtls_profile_reads_its_certificates(config_file: Path, tmp_path: Path) -> None:
    target = temporal_target(
        Settings(), {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "mtls"}
    )
    options = target.connect_options()
    tls = options.pop("tls")
    assert options == {
        "target_host": "temporal.internal:7233",
        "namespace": "sales",
        "rpc_metadata": {"x-team": "sales"},
    }
    assert isinstance(tls, TLSConfig)
    assert tls.domain == "temporal.internal"
    assert tls.client_cert == (tmp_path / "client.pem").read_bytes()
    assert tls.client_private_key == (tmp_path / "client.key").read_bytes()
    assert tls.server_root_ca_cert == (tmp_path / "ca.pem").read_bytes()
    assert target.secured == "mTLS"


def test_variables_lie_over_the_profile_and_settings_over_both(config_file: Path, tmp_path: Path) -> None:
    env = {
        "TEMPORAL_CONFIG_FILE": str(config_file),
        "TEMPORAL_PROFILE": "cloud",
        "TEMPORAL_NAMESPACE": "sales-eu.a1b2c",
        "TEMPORAL_API_KEY": "rotated-key",
        "TEMPORAL_GRPC_META_X_REGION": "eu",
    }
    target = temporal_target(Settings(), env)
    assert (target.namespace, target.api_key, target.rpc_metadata) == (
        "sales-eu.a1b2c",
        "rotated-key",
        {"x-region": "eu"},
    )
    named = temporal_target(Settings(temporal_address="other:7233", temporal_namespace="mine"), env)
    assert (named.address, named.namespace) == ("other:7233", "mine")
    env_only = {
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem"),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "client.key"),
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(tmp_path / "ca.pem"),
    }
    tls = temporal_target(Settings(), env_only).tls
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == (tmp_path / "client.pem").read_bytes()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TEMPORAL_CONFIG_FILE": "{dir}/missing.toml"}, "missing.toml: no such file"),
        (
            {"TEMPORAL_CONFIG_FILE": "{dir}/temporal.toml", "TEMPORAL_PROFILE": "prod"},
            "Profile 'prod' not found",
        ),
        ({"TEMPORAL_CONFIG_FILE": "{dir}/broken.toml"}, "TOML parse error"),
        (
            {"TEMPORAL_ADDRESS": "t:7233", "TEMPORAL_TLS_CLIENT_CERT_PATH": "{dir}/client.pem"},
            "a client certificate without its key",
        ),
        (
            {
                "TEMPORAL_ADDRESS": "t:7233",
                "TEMPORAL_TLS_CLIENT_CERT_PATH": "{dir}/nope.pem",
                "TEMPORAL_TLS_CLIENT_KEY_PATH": "{dir}/client.key",
            },
            "cannot read the client certificate",
        ),
        (
            {
                "TEMPORAL_ADDRESS": "t:7233",
                "TEMPORAL_TLS_CLIENT_CERT_PATH": "{dir}/client.key",
                "TEMPORAL_TLS_CLIENT_KEY_PATH": "{dir}/client.key",
            },
            "not a PEM certificate",
        ),
        ({"TEMPORAL_API_KEY": "k"}, "no address: set TEMPORAL_ADDRESS"),
        ({"TEMPORAL_ADDRESS": "no-port"}, "TEMPORAL_ADDRESS must be host:port"),
    ],
)
async def test_a_bad_configuration_is_a_usage_error(
    env: dict[str, str],
    says: str,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (config_file.parent / "broken.toml").write_text("[profile.default\naddress = ")
    env = {name: value.format(dir=config_file.parent) for name, value in env.items()}
    with pytest.raises(TemporalConfigError, match=says):
        temporal_target(Settings(), env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert await main(["list"]) == 2
    err = capsys.readouterr().err
    assert says.split(":")[0] in err
    assert "Traceback" not in err


async def test_mutual_tls_to_a_real_server_from_a_profile(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The dev server behind an mTLS proxy: the profile's certificates get in; without a client
    certificate the handshake is refused."""
    pki = make_pki(tmp_path)
    upstream = dev_server_env.client.service_client.config.target_host
    async with mtls_proxy(pki, upstream) as address:
        (tmp_path / "temporal.toml").write_text(
            f"""[profile.secure]
address = "{address}"
namespace = "{dev_server_env.client.namespace}"
[profile.secure.tls]
client_cert_path = "{pki.client_cert}"
client_key_path = "{pki.client_key}"
server_ca_cert_path = "{pki.ca}"
server_name = "localhost"
[profile.secure.grpc_meta]
x-team = "sales"
"""
        )
        env = {"TEMPORAL_CONFIG_FILE": str(tmp_path / "temporal.toml"), "TEMPORAL_PROFILE": "secure"}
        target = temporal_target(Settings(), env)
        client = await connect(target)
        assert await client.service_client.check_health(timeout=timedelta(seconds=5))
        await client.count_workflows()  # a namespaced call, through the proxy
        no_cert = {"TEMPORAL_ADDRESS": address, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca)}
        no_cert |= {"TEMPORAL_TLS_SERVER_NAME": "localhost"}
        with pytest.raises(RuntimeError):
            await connect(temporal_target(Settings(), no_cert))


async def test_an_api_key_and_metadata_reach_a_real_server(dev_server_env: WorkflowEnvironment) -> None:
    """An API key over an explicitly plaintext connection (TEMPORAL_TLS=false): the dev server takes
    no key, yet the options must get through the SDK's connect as given."""
    env = {
        "TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_server_env.client.namespace,
        "TEMPORAL_API_KEY": "a-key",
        "TEMPORAL_TLS": "false",
        "TEMPORAL_GRPC_META_X_TEAM": "sales",
    }
    target = temporal_target(Settings(), env)
    assert (target.tls, target.api_key) == (False, "a-key")
    client = await connect(target)
    assert client.api_key == "a-key"
    assert client.rpc_metadata == {"x-team": "sales"}
    await client.count_workflows()


def test_the_task_queue_is_one_variable_for_workers_and_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALFLOW_TASK_QUEUE", "dealflow-eu")
    monkeypatch.setenv("TASK_QUEUE", "stray")
    assert Settings.from_env().task_queue == "dealflow-eu"

"""A Temporal frontend behind mutual TLS, for tests: the CLI's dev server has no TLS options, so a
TLS-terminating proxy (HTTP/2 by ALPN, client certificates required and checked against a CA of
the test's own) forwards the decrypted gRPC stream to the dev server's plaintext port."""

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(where: Path) -> Pki:
    """A CA, a server certificate for `localhost` and a client certificate, all signed by the CA."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("dealflow test CA"))
        .issuer_name(_name("dealflow test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(where / "ca.pem", ca, ca_key)

    def issue(common: str, file: str, *, server: bool) -> Path:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(common)]), False)
        return _write(where / file, builder.sign(ca_key, hashes.SHA256()), key)

    server = issue("localhost", "server.pem", server=True)
    client = issue("dealflow-worker", "client.pem", server=False)
    return Pki(where / "ca.pem", server, server.with_suffix(".key"), client, client.with_suffix(".key"))


@contextlib.asynccontextmanager
async def mtls_proxy(pki: Pki, upstream: str) -> AsyncIterator[str]:
    """`127.0.0.1:<port>` speaking mTLS as `localhost`, forwarding to `upstream` (host:port) in
    plaintext."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate from our CA, no connection
    context.set_alpn_protocols(["h2"])
    host, port = upstream.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()

    async def serve(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    bound = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{bound}"
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()

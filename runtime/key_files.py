"""Secret keys kept in the data directory: made on first use, readable only by their owner."""

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path

KEY_BYTES = 32


def read_or_make_key(path: Path, what: str = "signing key") -> bytes:
    """The key kept in `path` (mode 0600), made on first use; two processes making it at once keep
    one (a hard link appears whole or not at all). A file that holds no such key is a ValueError
    naming it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
        with contextlib.suppress(FileExistsError):
            os.link(fresh, path)
        fresh.unlink()
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, binascii.Error) as err:
        raise ValueError(f"{path}: not a {what} ({err}); remove it to make a new one") from None
    if len(key) < KEY_BYTES:
        raise ValueError(f"{path}: a {what} needs at least {KEY_BYTES} bytes; remove it to make a new one")
    return key

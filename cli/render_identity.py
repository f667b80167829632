"""How `dealflow apikey` shows keys: a table of ids, services and scopes, never a secret."""

from rich.console import Console
from rich.table import Table

from store.api_keys import ApiKey


def print_new_api_key(key: ApiKey, secret: str, console: Console) -> None:
    console.print(f"API key {key.key_id} for service {key.service} ({', '.join(key.scopes)}):")
    console.print(secret, soft_wrap=True)
    console.print("Keep it now: only its hash is stored. Send it as `Authorization: Bearer <key>`.")


def print_api_key(key: ApiKey, console: Console) -> None:
    state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    console.print(f"API key {key.key_id} for service {key.service}: {state}")


def print_api_keys(keys: list[ApiKey], console: Console) -> None:
    if not keys:
        console.print("No API keys. Make one with `dealflow apikey create SERVICE --scope deals:write`.")
        return
    table = Table("key id", "service", "scopes", "created", "by", "state", box=None)
    for key in keys:
        table.add_row(
            key.key_id,
            key.service,
            " ".join(key.scopes),
            f"{key.created_at:%Y-%m-%d %H:%M}",
            key.created_by,
            f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active",
        )
    console.print(table)

"""`dealflow token | apikey`: credentials for the HTTP API — a person's token on the embedded
default, service accounts' API keys (made, listed, revoked here; kept hashed in PostgreSQL)."""

from typing import Annotated

import typer

from app.errors import NotFound
from cli.common import cli_actor, console, deferred, open_app
from cli.render_identity import print_api_key, print_api_keys, print_new_api_key
from cli.render_json import print_json
from domain.authorization import Scope
from web.sign_in import make_link

commands = typer.Typer()
apikey = typer.Typer(no_args_is_help=True, help="Service accounts' API keys: create, list, revoke.")
PANEL = "Identity"


@commands.command(
    rich_help_panel=PANEL,
    epilog='Example: curl -H "Authorization: Bearer $(dealflow token --person mei.chen)" …',
)
@deferred
async def token(
    person: Annotated[str, typer.Option(help="a person of the people directory (the pipeline file)")],
    days: Annotated[float, typer.Option(help="how long the token is valid, in days (at most 366)")] = 1.0,
    web: Annotated[
        bool, typer.Option("--web", help="print a one-time sign-in link to the web app instead")
    ] = False,
    url: Annotated[str, typer.Option(help="the web app's address, for --web")] = "http://127.0.0.1:8000",
) -> None:
    """Print a bearer token for the HTTP API that proves PERSON (embedded default only: with an
    OIDC issuer configured, tokens come from it). The key that signs it stays in DEALFLOW_DATA_DIR.
    With --web, a link that signs PERSON in to the web app once, within 15 minutes."""
    async with open_app() as app:
        if web:
            console.print(await make_link(app, person, url), soft_wrap=True)
            return
        identity = await app.identity()
        console.print(identity.mint_token(person, days), soft_wrap=True)


@apikey.command("create", epilog="Example: dealflow apikey create crm-sync --scope deals:write")
@deferred
async def create(
    service: Annotated[str, typer.Argument(help="the service account's name, e.g. crm-sync")],
    scope: Annotated[
        list[Scope], typer.Option(help="what the key may do; repeat for several", show_default=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Make an API key for SERVICE. The key is printed once: only its hash is kept."""
    async with open_app() as app:
        identity = await app.identity()
        key, secret = await identity.create_api_key(service, [s.value for s in scope], cli_actor())
    if as_json:
        print_json({"key": key, "api_key": secret})
    else:
        print_new_api_key(key, secret, console)


@apikey.command("list", epilog="Example: dealflow apikey list --all")
@deferred
async def list_keys(
    include_revoked: Annotated[bool, typer.Option("--all", help="also the revoked keys")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The API keys (never their secrets), by service."""
    async with open_app() as app:
        keys = await (await app.identity()).api_keys(include_revoked=include_revoked)
    if as_json:
        print_json(keys)
    else:
        print_api_keys(keys, console)


@apikey.command("revoke", epilog="Example: dealflow apikey revoke 3f9a1c0b7e21")
@deferred
async def revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id, as `apikey list` shows it")],
) -> None:
    """Revoke a key: requests with it are refused from now on. Revoking twice is harmless."""
    async with open_app() as app:
        key = await (await app.identity()).revoke_api_key(key_id)
    if key is None:
        raise NotFound("known-api-key", f"no API key {key_id!r} was ever issued")
    print_api_key(key, console)

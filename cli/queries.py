"""`dealflow show | list | pipelines | approvals pending | approvals refused`: what is there now."""

from typing import Annotated

import typer

from cli import render_json
from cli.common import JsonFlag, PipelineOption, console, deferred, open_app
from cli.render_deals import (
    print_list,
    print_pending,
    print_pipeline_versions,
    print_pipelines,
    print_refused,
    print_state,
)
from domain.stages import STAGE_ORDER

commands = typer.Typer()
approvals = typer.Typer(
    help="Discount requests waiting for a decision, and decisions the rules refused.", no_args_is_help=True
)
PANEL = "Looking things up"
_LISTABLE = [s.value for s in STAGE_ORDER] + ["lost"]


def _listable_stage(text: str) -> str:
    if text not in _LISTABLE:
        raise typer.BadParameter(f"{text!r} is not one of {', '.join(_LISTABLE)}")
    return text


@commands.command(rich_help_panel=PANEL, epilog="Example: dealflow show acme-01 --json")
@deferred
async def show(
    opportunity_id: Annotated[str, typer.Argument(metavar="ID", help="the opportunity's id")],
    as_json: JsonFlag = False,
) -> None:
    """One opportunity: its state and stage timeline (a workflow query)."""
    async with open_app() as app:
        state = await app.queries.show(opportunity_id)
    if as_json:
        render_json.print_json(state)
    else:
        print_state(state, console)


@commands.command(
    "list",
    rich_help_panel=PANEL,
    epilog="Example: dealflow list --stage proposal --owner an.li --pipeline software --json",
)
@deferred
async def list_opportunities(
    stage: Annotated[
        str | None,
        typer.Option(parser=_listable_stage, metavar="|".join(_LISTABLE), help="the stage they are in"),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="the rep who owns them")] = None,
    pipeline: Annotated[str | None, typer.Option(help="the pipeline they follow")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Opportunities by stage, owner and pipeline (Temporal visibility)."""
    async with open_app() as app:
        found = await app.queries.list(stage=stage, owner=owner, pipeline=pipeline)
    if as_json:
        render_json.print_json(found)
    else:
        print_list(found, console)


@commands.command(rich_help_panel=PANEL, epilog="Example: dealflow pipelines --json (or: --versions)")
@deferred
async def pipelines(
    versions: Annotated[
        bool, typer.Option("--versions", help="every stored version a deal ever used, by content hash")
    ] = False,
    pipeline: PipelineOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The configured pipelines: stages, exit criteria, win probabilities, SLAs, policies.

    DEALFLOW_PIPELINES names your own pipeline file. Each deal pins the version it started with;
    --versions lists every one deals used (and which is today's)."""
    async with open_app() as app:
        if versions:
            used = await app.queries.pipeline_versions(pipeline)
        else:
            found = {k: v for k, v in app.queries.pipelines().items() if pipeline in (None, k)}
    if versions and as_json:
        render_json.print_json(used)
    elif versions:
        print_pipeline_versions(used, console)
    elif as_json:
        render_json.print_json(found)
    else:
        print_pipelines(found, console)


@approvals.command(epilog="Example: dealflow approvals pending --approver mei.chen")
@deferred
async def pending(
    approver: Annotated[str | None, typer.Option(help="only those this person may decide now")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open discount requests, and who may decide each now."""
    async with open_app() as app:
        found = await app.queries.pending_approvals(approver)
    if as_json:
        render_json.print_json(found)
    else:
        print_pending(found, console)


@approvals.command(epilog="Example: dealflow approvals refused --approver mei.chen")
@deferred
async def refused(
    approver: Annotated[str | None, typer.Option(help="only decisions naming this person")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Decisions sent with --no-wait (signals) that the rules refused: nothing changed."""
    async with open_app() as app:
        found = await app.queries.refused_decisions(approver, limit=limit)
    if as_json:
        render_json.print_json(found)
    else:
        print_refused(found, console)

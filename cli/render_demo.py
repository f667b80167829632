"""The demo's story on screen: the plan, a progress bar while the team works, then what happened
and the same sales report `dealflow report` prints, with a legend for its symbols."""

from datetime import datetime, timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from cli.render import print_brief, print_sales_report
from demo.run import DemoPlan, DemoResult


class DemoScreen:
    """What the demo shows while it plays: the plan, then a progress bar of the moves with the
    simulated day. Use it as a context manager so the bar is taken down however the run ends."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("  simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("moves"),
            TextColumn("[cyan]{task.fields[day]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> "DemoScreen":
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def on_start(self, plan: DemoPlan) -> None:
        self._console.print(
            f"[bold]dealflow demo[/bold]: {plan.reps} reps, {len(plan.pipelines)} pipelines "
            f"({', '.join(plan.pipelines)}), {plan.opportunities} opportunities, "
            f"{plan.moves} planned moves (seed {plan.seed})"
        )
        self._console.print(
            f"  events go to the database {plan.database} of {plan.server}, created afresh;"
            " the worker's store is not touched"
        )
        self._console.print(
            "  Temporal: a time-skipping test server of the demo's own: weeks pass in seconds"
        )
        self._task = self._progress.add_task("moves", total=plan.moves, day="")
        self._progress.start()

    def on_moves(self, done: int, now: datetime) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=done, day=f"{now:%Y-%m-%d}")


def print_demo(result: DemoResult, console: Console) -> None:
    plan, out, act = result.plan, result.outcome, result.activity
    console.print(
        f"  {plan.moves} moves over {result.simulated_days:.0f} simulated days in {result.seconds:.1f} s "
        f"({plan.moves / result.seconds:.0f} moves/s)\n"
    )
    lost = ", ".join(f"{s} {n}" for s, n in sorted(out.lost_by_stage.items(), key=lambda kv: -kv[1]))
    console.print(
        f"[bold]Outcome[/bold]: {out.opened} opened, {out.won} won, "
        f"{sum(out.lost_by_stage.values())} lost ({lost}), {out.reopened} reopened after a loss, "
        f"{sum(out.open_by_stage.values())} still open"
    )
    print_sales_report(result.report, console)
    console.print(f"Contract clause checks that failed (and were redrafted): {act.failed_clause_checks}")
    worst = ", ".join(f"{e.owner} in {e.stage} ({e.count})" for e in result.escalations[:3])
    console.print(
        f"Follow-up timers: {act.reminders} reminders to owners, {act.escalations} escalations to"
        f" managers" + (f"; most: {worst}" if worst else "")
    )
    console.print(
        f"After-sales: {act.relationships_started} customer relationships, {act.revisits_due} revisits"
        f" due, {act.feedback_recorded} answered, {act.revisits_missed} missed so far,"
        f" {act.renewals_opened} renewals opened"
    )
    print_brief(result.brief, console)
    _legend(result, console)


def _legend(result: DemoResult, console: Console) -> None:
    p = result.period
    to = p.end + timedelta(days=1)
    console.print(
        "\n[bold]Reading it[/bold]\n"
        f"  amounts are in {result.currency}; durations in days; the period is the simulated"
        f" {p.start:%Y-%m-%d} .. {p.as_of:%Y-%m-%d}\n"
        "  ⚑  a rep whose mean sales cycle is above the team's, with the stage where the time goes\n"
        "  ▲  a rep who grants a larger mean discount than the team\n"
        "  conversion: of those that entered a stage in the period, the share that entered the next;"
        " win rate = won / (won + lost)\n"
        "  forecast: the amount of each open deal times its stage's win probability\n"
        "\n[bold]Where to look next[/bold]\n"
        f"  • this report again (any period, pipeline or --as-of date), from the demo's database:\n"
        f"      DEALFLOW_DATABASE={result.plan.database} dealflow report --from {p.start:%Y-%m-%d}"
        f" --to {to:%Y-%m-%d} [--pipeline software] [--as-of DATE] [--json] [--chart report.png]\n"
        "  • run the worker for real (embedded Temporal dev server + PostgreSQL): make worker\n"
        "    then the Temporal Web UI is at http://localhost:8233 and, in another terminal:\n"
        "      dealflow start --owner an.li --company Acme --contact 'Wang Li' --source web\n"
        "      dealflow list --stage identify\n"
        "  • every command: dealflow --help"
    )

"""``ordergate letzshop ...``: credentials and imports from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ordergate.cli_session import job_context, session_scope
from ordergate.config import get_settings
from ordergate.errors import AppError
from ordergate.letzshop import credentials, repository
from ordergate.letzshop.check import run_check
from ordergate.letzshop.errors import SyncInProgressError
from ordergate.letzshop.models import (
    MAX_SYNC_INTERVAL_MINUTES,
    SyncRunStatus,
    SyncState,
    SyncTrigger,
)
from ordergate.letzshop.runs import abandon_stale_runs
from ordergate.letzshop.sync import SyncSummary, run_sync
from ordergate.scope import Scope, VendorScope
from ordergate.security import SecretBox
from ordergate.vendors.service import get_vendor_by_code

letzshop_app = typer.Typer(help="Letzshop credentials and order imports.", no_args_is_help=True)
console = Console()
STATES = tuple(SyncState)
StateOption = Annotated[str, typer.Option(help="unconfirmed, confirmed or all")]
# The system acting: a command has no logged-in user.
SYSTEM = Scope(actor_user_id=None, vendor_id=None, is_admin=True)


def _vendor_scope(vendor_id: int) -> VendorScope:
    return VendorScope(actor_user_id=None, vendor_id=vendor_id, is_admin=True)


API_KEY_ENV = "ORDERGATE_LETZSHOP_API_KEY"


@letzshop_app.command("set-credentials")
def set_credentials(
    vendor: Annotated[str, typer.Option(help="Vendor code")],
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar=API_KEY_ENV,
            show_envvar=True,
            help="Letzshop API key (stored encrypted). Prefer the environment variable or the "
            "prompt: a key given here lands in shell history and the process list.",
        ),
    ] = None,
    prompt_api_key: Annotated[
        bool, typer.Option("--prompt-api-key", help="Ask for a new key (hidden input)")
    ] = False,
    endpoint: Annotated[
        str | None,
        typer.Option(help="GraphQL endpoint URL; omitted: unchanged (new: the default endpoint)"),
    ] = None,
    auto_sync: Annotated[
        bool | None,
        typer.Option(
            "--auto-sync/--no-auto-sync",
            help="Scheduled syncs on (every 10 minutes unless an interval is set) or off; "
            "omitted: unchanged (new: off)",
        ),
    ] = None,
    sync_interval: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_SYNC_INTERVAL_MINUTES,
            help="Scheduled syncs every this many minutes; 0 turns them off",
        ),
    ] = None,
) -> None:
    """Store or change a vendor's Letzshop credentials; only what is given changes. Without a
    key for new credentials (or with --prompt-api-key) the key is asked for, hidden."""
    settings = get_settings()
    with session_scope() as session:
        scope = _vendor_scope(get_vendor_by_code(session, code=vendor).id)
        configured = credentials.find_credentials(session, scope=scope) is not None
    # Asked outside any transaction: a prompt must not hold the database while a person types.
    if api_key is None and (prompt_api_key or not configured):
        api_key = typer.prompt("Letzshop API key", hide_input=True)
    if api_key is not None and not 4 <= len(api_key) <= 500:
        raise typer.BadParameter("must be 4 to 500 characters long", param_hint="--api-key")
    with session_scope() as session:
        stored = credentials.set_credentials(
            session,
            scope=scope,
            box=SecretBox(settings.resolved_secret_key()),
            settings=settings,
            api_key=api_key,
            endpoint=endpoint,
            auto_sync=auto_sync,
            sync_interval_minutes=sync_interval or None,
            interval_given=sync_interval is not None,
        )
        hint = f"key …{stored.api_key_last4}" if stored.api_key_last4 else "short key"
        every = stored.sync_interval_minutes
        state = f"{stored.endpoint_url}, " + (
            f"scheduled syncs every {every} min" if every else "scheduled syncs off"
        )
    console.print(f"credentials stored for {vendor} ({hint}; {state})")


@letzshop_app.command("check")
def check(
    vendor: Annotated[str, typer.Option(help="Vendor code")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Check, read-only, whether ordergate's GraphQL texts fit the vendor's Letzshop (the
    introspection query and one shipments(first: 1); never a mutation). Exit status 0 when all
    fits, 2 on a mismatch, 1 when the check could not run."""
    with job_context() as job:
        try:
            with job.session_factory() as session:
                vendor_id = get_vendor_by_code(session, code=vendor).id
            report = run_check(
                job.session_factory,
                settings=job.settings,
                box=job.box,
                scope=_vendor_scope(vendor_id),
            )
        except AppError as exc:
            console.print(f"[red]error[/red] {exc.code}: {exc.message}")
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        print_check(vendor, report)
    if report["status"] != "ok":
        raise typer.Exit(2)


def print_check(vendor: str, report: dict[str, Any]) -> None:
    colour = "green" if report["status"] == "ok" else "red"
    console.print(
        f"letzshop check {vendor}: [{colour}]{report['status']}[/{colour}] "
        f"({report['mode']}, {report['endpoint']})",
        highlight=False,
    )
    for line in report["summary"]:
        console.print(f"  - {line}", highlight=False, markup=False)
    changed = [s for s in report["scalars"] if s.get("contract") != s.get("service")]
    for scalar in report["scalars"]:
        if scalar.get("field") in ("Order.total", "Variant.price") or scalar in changed:
            observed = f", observed {scalar['observed']}" if scalar.get("observed") else ""
            console.print(
                f"  scalar {scalar.get('field') or scalar['where']}: service "
                f"{scalar.get('service')}, contract {scalar.get('contract')}{observed}",
                highlight=False,
                markup=False,
            )


@letzshop_app.command("import")
def import_orders(
    vendor: Annotated[str, typer.Option(help="Vendor code")],
    state: StateOption = SyncState.UNCONFIRMED,
) -> None:
    """Import a vendor's shipments from Letzshop, with a progress bar and a summary.

    After a killed or failed import of the same state, continues from its last committed page.
    """
    if state not in STATES:
        raise typer.BadParameter(f"must be one of {', '.join(STATES)}", param_hint="--state")
    try:
        summary = import_for_vendor(vendor, state, trigger=SyncTrigger.CLI)
    except SyncInProgressError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(1) from exc
    print_summary(summary)
    if summary.status == SyncRunStatus.FAILED:
        raise typer.Exit(1)


@letzshop_app.command("sync-all")
def sync_all(
    state: StateOption = SyncState.UNCONFIRMED,
) -> None:
    """Import, now and inline, every vendor with scheduled syncs on (for cron or a timer on
    SQLite; with jobs on the queue the worker's periodic task queues due syncs instead).
    Runs whose process died are marked abandoned first; a vendor with a live run is skipped.
    One vendor's failure does not stop the others; the exit status is 1 if any failed."""
    if state not in STATES:
        raise typer.BadParameter(f"must be one of {', '.join(STATES)}", param_hint="--state")
    with job_context() as job, job.session_factory() as session:
        lease_seconds = job.settings.letzshop_sync_lease_seconds
        abandoned = abandon_stale_runs(session, scope=SYSTEM, lease_seconds=lease_seconds)
        session.commit()
        codes = repository.scheduled_vendor_codes(session)
    console.print(f"{abandoned} abandoned sync runs marked")
    failed = 0
    for code in codes:
        try:
            summary = import_for_vendor(code, state, trigger=SyncTrigger.SCHEDULE)
        except SyncInProgressError as exc:
            console.print(f"[yellow]skipped[/yellow] {code}: {exc.message}")
            continue
        except typer.Exit:
            failed += 1
            continue
        print_summary(summary)
        failed += summary.status == SyncRunStatus.FAILED
    if failed:
        raise typer.Exit(1)


def import_for_vendor(vendor: str, state: str, *, trigger: str) -> SyncSummary:
    """Import one vendor (by code) with a progress bar. A live run raises
    ``SyncInProgressError``; any other error is printed and exits with status 1."""
    with job_context() as job:
        try:
            with job.session_factory() as session:
                vendor_id = get_vendor_by_code(session, code=vendor).id
            progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[orders]} orders"),
                TimeElapsedColumn(),
                console=console,
            )
            with progress:
                task = progress.add_task(f"importing {vendor}", total=None, orders=0)

                def on_page(summary: SyncSummary) -> None:
                    progress.update(task, advance=1, orders=summary.shipments_seen)

                return run_sync(
                    job.session_factory,
                    settings=job.settings,
                    box=job.box,
                    scope=_vendor_scope(vendor_id),
                    trigger=SyncTrigger(trigger),
                    state=SyncState(state),
                    on_page=on_page,
                )
        except SyncInProgressError:
            raise
        except AppError as exc:
            console.print(f"[red]error[/red] {exc.code}: {exc.message}")
            raise typer.Exit(1) from exc


def print_summary(summary: SyncSummary) -> None:
    title = f"sync run {summary.run_id}: {summary.status}"
    if summary.resumed_from_run_id is not None:
        title += f" (resumed from run {summary.resumed_from_run_id})"
    table = Table(title=title)
    columns = {
        "pages": summary.pages_done,
        "shipments seen": summary.shipments_seen,
        "orders created": summary.orders_created,
        "orders updated": summary.orders_updated,
        "reconciled": summary.orders_reconciled,
        "exceptions": summary.exceptions_created,
        "failed": len(summary.failed),
    }
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(*(str(n) for n in columns.values()))
    console.print(table)
    for failure in summary.failed:
        console.print(f"  [yellow]failed[/yellow] {failure['external_id']}: {failure['reason']}")

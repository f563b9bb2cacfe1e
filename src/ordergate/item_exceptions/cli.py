"""``ordergate exceptions sweep``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from ordergate.cli_session import job_context
from ordergate.errors import AppError
from ordergate.item_exceptions.sweep import sweep_vendors

exceptions_app = typer.Typer(help="Order item exceptions.", no_args_is_help=True)
console = Console()


@exceptions_app.command("sweep")
def sweep(
    vendor: Annotated[
        str | None, typer.Option(help="Vendor code; default: every vendor with pending ones")
    ] = None,
) -> None:
    """Match pending exceptions against the vendors' whole active catalogs, one committed
    transaction per vendor (on SQLite run it nightly from cron; on PostgreSQL the workers run
    it at 03:00 UTC, docs/jobs.md)."""
    total = 0
    with job_context() as job:
        try:
            for code, resolved in sweep_vendors(job.session_factory, vendor_code=vendor):
                total += resolved
                console.print(f"{code}: {resolved} resolved")
        except AppError as exc:
            console.print(f"[red]error[/red] {exc.code}: {exc.message}")
            raise typer.Exit(1) from exc
    console.print(f"{total} exception(s) resolved")

"""``ordergate catalog import-csv`` and ``ordergate exceptions sweep``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import select

from ordergate.catalog import service
from ordergate.cli_session import session_scope
from ordergate.item_exceptions.matching import sweep_vendor
from ordergate.item_exceptions.models import OrderItemException
from ordergate.vendors.models import Vendor
from ordergate.vendors.service import get_vendor_by_code

catalog_app = typer.Typer(help="Marketplace products and vendor catalogs.", no_args_is_help=True)
exceptions_app = typer.Typer(help="Order item exceptions.", no_args_is_help=True)
console = Console()
# Row errors printed in full; the rest are counted.
MAX_ERRORS_SHOWN = 20


@catalog_app.command("import-csv")
def import_csv(
    file: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, readable=True, help="Tab-separated feed")
    ],
    marketplace: Annotated[str, typer.Option(help="Marketplace name")] = "letzshop",
) -> None:
    """Import a Letzshop / Google-Shopping product feed (TSV); re-importing updates rows."""
    with (
        session_scope() as session,
        file.open("rb") as stream,
        Progress(
            TextColumn("[bold]importing[/bold]"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]} rows"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("import", total=file.stat().st_size, rows=0)

        def advance(summary: service.ImportSummary) -> None:
            progress.update(task, completed=stream.tell(), rows=summary.total_rows)

        summary = service.import_marketplace_csv(
            session, stream=stream, marketplace=marketplace, on_batch=advance
        )
        progress.update(task, completed=file.stat().st_size, rows=summary.total_rows)
    console.print(
        f"{summary.total_rows} rows: [green]{summary.created} created[/green], "
        f"{summary.updated} updated, [red]{len(summary.failed)} failed[/red]"
    )
    for failure in summary.failed[:MAX_ERRORS_SHOWN]:
        console.print(f"  row {failure.row}: {failure.error}")
    if len(summary.failed) > MAX_ERRORS_SHOWN:
        console.print(f"  ... and {len(summary.failed) - MAX_ERRORS_SHOWN} more")


@exceptions_app.command("sweep")
def sweep(
    vendor: Annotated[
        str | None, typer.Option(help="Vendor code; default: every vendor with pending ones")
    ] = None,
) -> None:
    """Match pending exceptions against the vendors' whole active catalogs."""
    with session_scope() as session:
        if vendor is not None:
            vendors = [get_vendor_by_code(session, code=vendor)]
        else:
            vendors = list(
                session.scalars(
                    select(Vendor)
                    .where(
                        Vendor.id.in_(
                            select(OrderItemException.vendor_id).where(
                                OrderItemException.status == "pending"
                            )
                        )
                    )
                    .order_by(Vendor.code)
                )
            )
        total = 0
        for row in vendors:
            resolved = sweep_vendor(session, vendor_id=row.id)
            total += resolved
            console.print(f"{row.code}: {resolved} resolved")
    console.print(f"{total} exception(s) resolved")

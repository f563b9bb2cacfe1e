"""``ordergate catalog import-csv``."""

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
from sqlalchemy.orm import Session, sessionmaker

from ordergate.catalog import jobs, service
from ordergate.cli_session import err_console, session_scope
from ordergate.config import Settings, get_settings
from ordergate.db import make_engine, make_session_factory
from ordergate.errors import AppError

catalog_app = typer.Typer(help="Marketplace products and vendor catalogs.", no_args_is_help=True)
console = Console()
# Row errors and warnings printed in full; the rest are counted.
MAX_ERRORS_SHOWN = 20


@catalog_app.command("import-csv")
def import_csv(
    file: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, readable=True, help="Tab-separated feed")
    ],
    marketplace: Annotated[str, typer.Option(help="Marketplace name")] = "letzshop",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing")
    ] = False,
) -> None:
    """Import a Letzshop / Google-Shopping product feed (TSV); re-importing updates rows.
    Commits batch by batch and records the run (see the API's import-runs)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    try:
        with session_scope() as session:
            run = service.start_import_run(
                session,
                marketplace=marketplace,
                filename=file.name,
                dry_run=dry_run,
                lease_seconds=settings.catalog_import_lease_seconds,
            )
        summary = _import_with_progress(
            session_factory, settings, run.id, file, marketplace, dry_run
        )
    except AppError as exc:
        err_console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    _print_summary(summary)


def _import_with_progress(
    session_factory: sessionmaker[Session],
    settings: Settings,
    run_id: int,
    file: Path,
    marketplace: str,
    dry_run: bool,
) -> service.ImportSummary:
    with Progress(
        TextColumn("[bold]importing[/bold]"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        size = file.stat().st_size
        task = progress.add_task("import", total=size, rows=0)

        def advance(summary: service.ImportSummary) -> None:
            progress.update(task, completed=summary.bytes_read, rows=summary.total_rows)

        summary = jobs.run_feed_import(
            session_factory,
            run_id=run_id,
            path=file,
            marketplace=marketplace,
            dry_run=dry_run,
            batch_rows=settings.catalog_batch_rows,
            max_listed=settings.catalog_import_max_listed,
            on_progress=advance,
        )
        progress.update(task, completed=size, rows=summary.total_rows)
    return summary


def _print_summary(summary: service.ImportSummary) -> None:
    would = "would be " if summary.dry_run else ""
    console.print(
        f"run {summary.run_id}: {summary.total_rows} rows: "
        f"[green]{summary.created} {would}created[/green], {summary.updated} {would}updated, "
        f"{summary.unchanged} unchanged, [red]{summary.failed_count} failed[/red], "
        f"{summary.warnings_count} warnings"
    )
    for failure in summary.failed[:MAX_ERRORS_SHOWN]:
        console.print(f"  row {failure.row}: {failure.error}")
    if summary.failed_count > MAX_ERRORS_SHOWN:
        console.print(f"  ... and {summary.failed_count - MAX_ERRORS_SHOWN} more")
    for warning in summary.warnings[:MAX_ERRORS_SHOWN]:
        console.print(f"  row {warning.row}: warning: {warning.warning}")
    if summary.warnings_count > MAX_ERRORS_SHOWN:
        console.print(f"  ... and {summary.warnings_count - MAX_ERRORS_SHOWN} more warnings")

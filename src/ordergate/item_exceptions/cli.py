"""``ordergate exceptions sweep``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from ordergate.cli_session import session_scope
from ordergate.item_exceptions import service

exceptions_app = typer.Typer(help="Order item exceptions.", no_args_is_help=True)
console = Console()


@exceptions_app.command("sweep")
def sweep(
    vendor: Annotated[
        str | None, typer.Option(help="Vendor code; default: every vendor with pending ones")
    ] = None,
) -> None:
    """Match pending exceptions against the vendors' whole active catalogs."""
    with session_scope() as session:
        total = 0
        for code, resolved in service.sweep(session, vendor_code=vendor):
            total += resolved
            console.print(f"{code}: {resolved} resolved")
    console.print(f"{total} exception(s) resolved")

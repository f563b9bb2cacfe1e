"""The one way a command gets a database session (shared by every `ordergate` sub-command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from ordergate.config import get_settings
from ordergate.db import make_engine, make_session_factory
from ordergate.errors import AppError

err_console = Console(stderr=True)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One session for one command, committed once at the end; an AppError rolls back, is
    printed with its code, and exits with status 1."""
    engine = make_engine(get_settings().database_url)
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except AppError as exc:
        session.rollback()
        err_console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        session.close()
        engine.dispose()

"""The one way a command gets a database session (shared by every `ordergate` sub-command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from ordergate.config import get_settings
from ordergate.db import make_engine, make_session_factory
from ordergate.deps import JobContext
from ordergate.errors import AppError
from ordergate.security import SecretBox

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


@contextmanager
def job_context() -> Iterator[JobContext]:
    """What a command hands a job runner (as a request does, `deps.JobDep`): a session factory
    on an engine of its own, disposed at the end, the settings and the secret box. A command
    holds no transaction of its own, so there is nothing to hand off."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        yield JobContext(
            session_factory=make_session_factory(engine),
            settings=settings,
            box=SecretBox(settings.resolved_secret_key()),
        )
    finally:
        engine.dispose()

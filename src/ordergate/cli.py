"""The `ordergate` command."""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from ordergate import migrate
from ordergate.auth import service as auth_service
from ordergate.auth.models import User
from ordergate.catalog.cli import catalog_app
from ordergate.cli_session import err_console, session_scope
from ordergate.config import ConfigError, get_settings
from ordergate.db import PageRequest, make_engine, utcnow
from ordergate.item_exceptions.cli import exceptions_app
from ordergate.letzshop.cli import letzshop_app
from ordergate.sandbox.cli import sandbox_app
from ordergate.sandbox.server import SandboxHandle
from ordergate.vendors import service as vendor_service
from ordergate.vendors.schemas import VENDOR_CODE_PATTERN
from ordergate.webhooks.cli import webhooks_app

app = typer.Typer(
    help="ordergate: order intake and product-match QC for Letzshop sellers.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
vendors_app = typer.Typer(help="Vendors (shops).", no_args_is_help=True)
users_app = typer.Typer(help="Users and memberships.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(vendors_app, name="vendors")
app.add_typer(users_app, name="users")
app.add_typer(catalog_app, name="catalog")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(letzshop_app, name="letzshop")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(webhooks_app, name="webhooks")

console = Console()
# Commands that work without (or create) the schema.
NO_SCHEMA_NEEDED = ("db", "sandbox")


@app.callback()
def _require_current_schema(ctx: typer.Context) -> None:
    # Click runs this before the sub-command parses its arguments, so `--help` is read here.
    asks_help = not set(sys.argv[1:]).isdisjoint(ctx.help_option_names)
    if ctx.invoked_subcommand in NO_SCHEMA_NEEDED or asks_help:
        return
    problem = schema_problem(get_settings().database_url)
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)


def schema_problem(url: str) -> str | None:
    """Why commands cannot use this database yet (one line), or None when it is at head."""
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    engine = make_engine(url, sqlite_immediate=False)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        return f"cannot open the database ({reason}); check ORDERGATE_DATABASE_URL"
    finally:
        engine.dispose()
    if current is None:
        return "the database has no ordergate schema yet; run `ordergate db upgrade`"
    if current != head:
        return (
            f"the database is at revision {current}, this ordergate needs {head}; "
            "run `ordergate db upgrade`"
        )
    return None


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = get_settings().database_url
    migrate.upgrade(url, revision)
    console.print(f"database at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base")) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(get_settings().database_url, revision)
    console.print(f"database at revision {revision}")


@vendors_app.command("create")
def vendors_create(
    code: str = typer.Option(..., help="Unique vendor code: 2-32 of a-z, 0-9 and -"),
    name: str = typer.Option(..., help="Display name"),
) -> None:
    """Create a vendor."""
    if not re.fullmatch(VENDOR_CODE_PATTERN, code):
        err_console.print("[red]error[/red]: --code must be 2-32 of a-z, 0-9 and -")
        raise typer.Exit(2)
    with session_scope() as session:
        vendor = vendor_service.create_vendor(session, code=code, name=name)
        session.flush()
        console.print(f"created vendor {vendor.code} (id {vendor.id})")


LIST_ALL = 1_000_000


@vendors_app.command("list")
def vendors_list() -> None:
    """Every vendor."""
    with session_scope() as session:
        vendors, _ = vendor_service.list_vendors(session, page=PageRequest(limit=LIST_ALL))
        table = Table("id", "code", "name", "active")
        for vendor in vendors:
            table.add_row(str(vendor.id), vendor.code, vendor.name, _yes_no(vendor.is_active))
        console.print(table)


# A password never has to be typed on the command line (where shell history and `ps` see it):
# without --password it comes from this variable or a hidden prompt.
PASSWORD_OPTION = typer.Option(
    ...,
    envvar="ORDERGATE_USER_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 12 characters and hard to guess; prompted (hidden) or $ORDERGATE_USER_PASSWORD",
)


@users_app.command("create")
def users_create(
    email: str = typer.Option(...),
    password: str = PASSWORD_OPTION,
    admin: bool = typer.Option(False, "--admin", help="Platform admin (all vendors)"),
    vendor: list[str] = typer.Option(None, "--vendor", help="Vendor code; repeat for several"),
    role: str = typer.Option(
        "staff", help="Role in the vendors: owner or staff (a vendor's first member is its owner)"
    ),
) -> None:
    """Create a user: --admin, or a member of one or more --vendor CODE."""
    if not admin and not vendor:
        err_console.print("[red]error[/red]: pass --admin or at least one --vendor CODE")
        raise typer.Exit(2)
    if role not in ("owner", "staff"):
        err_console.print("[red]error[/red]: --role must be owner or staff")
        raise typer.Exit(2)
    with session_scope() as session:
        user = auth_service.create_user(
            session,
            email=email,
            password=password,
            is_admin=admin,
            vendor_codes=vendor or [],
            role=role,
        )
        console.print(f"created user {user.email} (id {user.id}){_roles(user)}")


@users_app.command("list")
def users_list() -> None:
    """Every user with their memberships."""
    with session_scope() as session:
        users, _ = auth_service.list_users(session, page=PageRequest(limit=LIST_ALL))
        table = Table("id", "email", "active", "admin", "memberships")
        for user in users:
            memberships = ", ".join(f"{m.vendor.code}:{m.role}" for m in user.memberships)
            table.add_row(
                str(user.id),
                user.email,
                _yes_no(user.is_active),
                _yes_no(user.is_admin),
                memberships,
            )
        console.print(table)


@users_app.command("set-password")
def users_set_password(email: str = typer.Option(...), password: str = PASSWORD_OPTION) -> None:
    """Set a user's password; the user's earlier tokens stop working."""
    with session_scope() as session:
        user = auth_service.get_user_by_email(session, email=email)
        auth_service.set_password(session, user=user, new_password=password, field="password")
        console.print(f"password of {user.email} changed; earlier tokens are refused")


@users_app.command("deactivate")
def users_deactivate(email: str = typer.Option(...)) -> None:
    """Deactivate a user: no login, and the user's tokens stop working."""
    _set_active(email, active=False)


@users_app.command("activate")
def users_activate(email: str = typer.Option(...)) -> None:
    """Reactivate a deactivated user (tokens from before the deactivation stay refused)."""
    _set_active(email, active=True)


def _set_active(email: str, *, active: bool) -> None:
    with session_scope() as session:
        user = auth_service.get_user_by_email(session, email=email)
        auth_service.update_user(session, user_id=user.id, is_active=active, is_admin=None)
        console.print(f"{user.email} {'activated' if active else 'deactivated'}")


def _roles(user: User) -> str:
    owned = [m.vendor.code for m in user.memberships if m.role == "owner"]
    return f"; owner of {', '.join(owned)}" if owned else ""


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    with_sandbox: bool = typer.Option(
        False, "--with-sandbox", help="Also run the Letzshop sandbox (demo), on --sandbox-port"
    ),
    sandbox_port: int = typer.Option(8765),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1",
        help="Reverse proxies whose X-Forwarded-For is trusted for the client address "
        "(login throttling); comma-separated",
    ),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="API processes (uvicorn workers) sharing the port; more than 1 wants PostgreSQL "
        "(SQLite takes one writer at a time)",
    ),
) -> None:
    """Serve the API (and, for the demo, the Letzshop sandbox)."""
    import uvicorn

    from ordergate.app import create_app

    try:
        # Built here too with several workers: a bad configuration fails before they start.
        application = create_app()
    except ConfigError as exc:
        err_console.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(1) from exc
    if not _port_is_free(host, port):
        typer.echo(
            f"error: port {port} on {host} is already in use; choose another with --port", err=True
        )
        raise typer.Exit(1)
    sandbox = _start_sandbox(sandbox_port) if with_sandbox else None
    console.print(f"ordergate on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    if workers > 1:
        console.print(f"{workers} API processes")
    try:
        uvicorn.run(
            # Several processes import the app each: uvicorn needs its import path then.
            "ordergate.app:create_app" if workers > 1 else application,
            factory=workers > 1,
            workers=workers,
            # A child imports the whole app before it answers the supervisor's ping; on a busy
            # machine that takes longer than uvicorn's 5 s default, and the child is killed.
            timeout_worker_healthcheck=60,
            host=host,
            port=port,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        if sandbox is not None:
            sandbox.stop()


@app.command()
def worker(
    concurrency: int = typer.Option(
        2, min=1, max=64, help="Jobs run at once (each sync in a thread of its own)"
    ),
    queues: list[str] = typer.Option(
        None,
        "--queues",
        help="Only these queues (repeat the option): sync, periodic, fulfilment; default: "
        "all. At least one worker must take `periodic` (scheduled syncs, stalled-job "
        "retries, the nightly sweep) and one `fulfilment` (queued confirms/declines)",
    ),
) -> None:
    """Run a job worker (PostgreSQL): queued syncs, scheduled syncs, stalled-job retries,
    queued confirms/declines and the nightly auto-match sweep (docs/jobs.md). Runs until
    SIGINT/SIGTERM; start as many as you like, on any machine that reaches the database."""
    from ordergate.jobs.tasks import QUEUES
    from ordergate.jobs.worker import run_worker, worker_name

    settings = get_settings()
    if not settings.jobs_queued:
        typer.echo(
            f"error: jobs run inline here (ORDERGATE_JOBS_MODE={settings.jobs_mode}, "
            f"{'PostgreSQL' if settings.is_postgres else 'SQLite'}); a worker needs PostgreSQL "
            "and ORDERGATE_JOBS_MODE auto or queue",
            err=True,
        )
        raise typer.Exit(1)
    unknown = sorted(set(queues or ()) - set(QUEUES))
    if unknown:
        raise typer.BadParameter(
            f"unknown queue {', '.join(unknown)}; known: {', '.join(QUEUES)}",
            param_hint="--queues",
        )
    name = worker_name()
    console.print(f"worker {name}: concurrency {concurrency}, queues {', '.join(queues or QUEUES)}")
    run_worker(settings, concurrency=concurrency, queues=queues or None, name=name)


@app.command()
def demo(
    sandbox_port: int = typer.Option(8765, help="Port of the Letzshop sandbox"),
    feed: Path = typer.Option(
        Path("demo/marketplace-feed.tsv"), help="Where to write the marketplace feed to upload"
    ),
) -> None:
    """Seed an idempotent demo: an admin, three vendors with their catalogs and staff, their
    orders imported from the Letzshop sandbox, and a marketplace feed to upload."""
    from ordergate.demo import (
        DEMO_VENDORS,
        date_imports_as_if_live,
        login_lines,
        seed_demo,
        write_marketplace_feed,
    )
    from ordergate.letzshop.cli import import_for_vendor, print_summary
    from ordergate.security import SecretBox

    settings = get_settings()
    with session_scope() as session:
        vendors = seed_demo(
            session,
            box=SecretBox(settings.resolved_secret_key()),
            settings=settings,
            sandbox_url=f"http://127.0.0.1:{sandbox_port}/graphql",
        )
        vendor_ids = [vendor.id for vendor in vendors]
    sandbox = _start_sandbox(sandbox_port)
    imported_since = utcnow()
    try:
        for vendor in DEMO_VENDORS:
            print_summary(import_for_vendor(vendor.code, "all", trigger="demo"))
    finally:
        if sandbox is not None:
            sandbox.stop()
    with session_scope() as session:
        date_imports_as_if_live(session, vendor_ids=vendor_ids, imported_since=imported_since)
    written = write_marketplace_feed(feed)
    console.print(
        f"\nMarketplace feed to upload: {written.path} ({written.rows} rows; rows "
        f"{', '.join(map(str, written.bad_rows))} are bad on purpose). As the admin: Catalog → "
        'Upload; then as a vendor: Catalog → "only what my exceptions wait for" → Copy all, '
        "and watch the exceptions auto-match."
    )
    console.print("\nLog in at http://127.0.0.1:8000/ (API docs: /docs) as:")
    for line in login_lines():
        console.print(line)


def _port_is_free(host: str, port: int) -> bool:
    """Whether uvicorn could bind host:port (it also sets SO_REUSEADDR, so a port whose old
    connections linger in TIME_WAIT counts as free)."""
    family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def _start_sandbox(port: int) -> SandboxHandle | None:
    """The demo sandbox in a background thread; None when something already serves the port."""
    from ordergate.demo import demo_sandbox_state
    from ordergate.sandbox import run_in_thread

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            console.print(f"port {port} is in use; assuming the Letzshop sandbox runs there")
            return None
    handle = run_in_thread(demo_sandbox_state(utcnow()), port=port)
    console.print(f"Letzshop sandbox on {handle.graphql_url}")
    return handle


def main() -> None:
    app()

"""The `ordergate` command."""

from __future__ import annotations

import socket
import sys

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from ordergate import migrate
from ordergate.auth import service as auth_service
from ordergate.catalog.cli import catalog_app, exceptions_app
from ordergate.cli_session import err_console, session_scope
from ordergate.config import ConfigError, get_settings
from ordergate.db import make_engine
from ordergate.letzshop.cli import letzshop_app
from ordergate.sandbox.cli import sandbox_app
from ordergate.sandbox.server import SandboxHandle
from ordergate.vendors import service as vendor_service

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
    code: str = typer.Option(..., help="Unique vendor code"),
    name: str = typer.Option(..., help="Display name"),
) -> None:
    """Create a vendor."""
    with session_scope() as session:
        vendor = vendor_service.create_vendor(session, code=code, name=name)
        session.flush()
        console.print(f"created vendor {vendor.code} (id {vendor.id})")


@users_app.command("create")
def users_create(
    email: str = typer.Option(...),
    password: str = typer.Option(..., help="At least 8 characters"),
    admin: bool = typer.Option(False, "--admin", help="Platform admin (all vendors)"),
    vendor: list[str] = typer.Option(None, "--vendor", help="Vendor code; repeat for several"),
    role: str = typer.Option("staff", help="Role in the vendors: owner or staff"),
) -> None:
    """Create a user: --admin, or a member of one or more --vendor CODE."""
    if not admin and not vendor:
        err_console.print("[red]error[/red]: pass --admin or at least one --vendor CODE")
        raise typer.Exit(2)
    if len(password) < 8:
        err_console.print("[red]error[/red]: the password needs at least 8 characters")
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
        console.print(f"created user {user.email} (id {user.id})")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    with_sandbox: bool = typer.Option(
        False, "--with-sandbox", help="Also run the Letzshop sandbox (demo), on --sandbox-port"
    ),
    sandbox_port: int = typer.Option(8765),
) -> None:
    """Serve the API (and, for the demo, the Letzshop sandbox)."""
    import uvicorn

    from ordergate.app import create_app

    try:
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
    try:
        uvicorn.run(application, host=host, port=port)
    finally:
        if sandbox is not None:
            sandbox.stop()


@app.command()
def demo(sandbox_port: int = typer.Option(8765, help="Port of the Letzshop sandbox")) -> None:
    """Seed an idempotent demo: an admin, two vendors with catalogs and staff, and their orders
    imported from the Letzshop sandbox."""
    from ordergate.demo import DEMO_VENDORS, login_lines, seed_demo
    from ordergate.letzshop.cli import import_for_vendor, print_summary
    from ordergate.security import SecretBox

    settings = get_settings()
    with session_scope() as session:
        seed_demo(
            session,
            box=SecretBox(settings.resolved_secret_key()),
            sandbox_url=f"http://127.0.0.1:{sandbox_port}/graphql",
        )
    sandbox = _start_sandbox(sandbox_port)
    try:
        for code, _, _ in DEMO_VENDORS:
            print_summary(import_for_vendor(code, "all", trigger="demo"))
    finally:
        if sandbox is not None:
            sandbox.stop()
    console.print("\nLog in at http://127.0.0.1:8000/docs (POST /api/v1/auth/login) as:")
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
    from ordergate.demo import DEMO_SEED
    from ordergate.sandbox import SandboxState, run_in_thread

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            console.print(f"port {port} is in use; assuming the Letzshop sandbox runs there")
            return None
    handle = run_in_thread(SandboxState(seed=DEMO_SEED), port=port)
    console.print(f"Letzshop sandbox on {handle.graphql_url}")
    return handle


def main() -> None:
    app()

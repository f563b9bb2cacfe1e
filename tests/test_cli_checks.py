"""The CLI's up-front checks, run as real processes: an unmigrated database and a busy port are
one line each, not a traceback."""

from __future__ import annotations

import socket
import subprocess

import pytest
from alembic.script import ScriptDirectory

from ordergate import migrate
from tests import test_cli

cli = test_cli.cli  # the same fixture: `ordergate` as a real process on a scratch database


@pytest.mark.parametrize(
    "command",
    [
        ("vendors", "create", "--code", "shop", "--name", "Shop"),
        ("users", "create", "--email", "a@example.test", "--password", "long-password", "--admin"),
        ("letzshop", "sync-all"),
        ("letzshop", "import", "--vendor", "shop"),
        ("demo", "--sandbox-port", "1"),
        ("serve", "--port", "1"),
    ],
)
def test_a_command_on_an_unmigrated_database_says_to_upgrade(cli, command: tuple[str, ...]) -> None:
    done = cli(*command, expect=1)
    output = (done.stdout + done.stderr).strip()
    assert output.splitlines() == [output], output
    assert "run `ordergate db upgrade`" in output
    assert "Traceback" not in output


def test_a_command_on_an_older_schema_names_both_revisions(cli, scratch_url: str) -> None:
    migrate.upgrade(scratch_url, "0003")
    done = cli("vendors", "create", "--code", "shop", "--name", "Shop", expect=1)
    line = done.stderr.strip()
    assert line.splitlines() == [line]
    assert "0003" in line
    head = ScriptDirectory.from_config(migrate.alembic_config(scratch_url)).get_current_head()
    assert head is not None
    assert head in line  # the head, whichever revision it is
    assert "run `ordergate db upgrade`" in line


def test_help_db_and_sandbox_commands_need_no_migrated_database(cli) -> None:
    assert "upgrade" in cli("db", "--help").stdout
    assert "--sandbox-port" in cli("demo", "--help").stdout
    assert "serve" in cli("sandbox", "--help").stdout
    cli("db", "upgrade")
    cli("vendors", "create", "--code", "shop", "--name", "Shop")


def test_serve_on_a_port_in_use_says_so_before_the_banner(cli) -> None:
    cli("db", "upgrade")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            done = cli("serve", "--port", str(port), expect=1)
        except subprocess.TimeoutExpired:  # pragma: no cover - it served instead
            pytest.fail("serve started on a port in use")
    output = (done.stdout + done.stderr).strip()
    assert output.splitlines() == [output], output
    assert f"port {port}" in output
    assert "in use" in output
    assert "ordergate on http" not in output

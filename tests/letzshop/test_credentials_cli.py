"""`ordergate letzshop set-credentials` run as a user would: a re-run changes only what it is
given; the key can come from the environment or a hidden prompt; refused endpoints store nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from ordergate.db import make_engine, make_session_factory
from ordergate.letzshop.models import LetzshopCredentials
from ordergate.security import SecretBox

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))
SECRET = "cli-secret-key-for-credentials-tests"
SANDBOX = "http://127.0.0.1:18765/graphql"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(scratch_url: str) -> Run:
    base = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": scratch_url,
        "ORDERGATE_SECRET_KEY": SECRET,
        "ORDERGATE_ENV": "development",
        "COLUMNS": "200",
    }
    base.pop("ORDERGATE_LETZSHOP_API_KEY", None)

    def run(
        *args: str, expect: int = 0, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [ORDERGATE, *args],
            env={**base, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,  # no controlling terminal: the prompt reads stdin
        )
        assert done.returncode == expect, done.stdout + done.stderr
        return done

    run("db", "upgrade")
    run("vendors", "create", "--code", "shop", "--name", "Shop")
    return run


def stored(scratch_url: str) -> list[tuple[str | None, str, bool]]:
    engine = make_engine(scratch_url)
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(LetzshopCredentials)).all()
        found = [
            (SecretBox(SECRET).decrypt(r.api_key_encrypted), r.endpoint_url, r.auto_sync)
            for r in rows
        ]
    engine.dispose()
    return found


def set_credentials(cli: Run, *options: str, **kwargs: object) -> str:
    done = cli("letzshop", "set-credentials", "--vendor", "shop", *options, **kwargs)
    return done.stdout


def test_a_rerun_changes_only_what_it_is_given(cli: Run, scratch_url: str) -> None:
    key = {"ORDERGATE_LETZSHOP_API_KEY": "first-key-0001"}
    set_credentials(cli, "--endpoint", SANDBOX, "--auto-sync", env=key)

    set_credentials(cli)  # nothing given: nothing changes, no prompt
    assert stored(scratch_url) == [("first-key-0001", SANDBOX, True)]
    set_credentials(cli, "--no-auto-sync")
    assert stored(scratch_url) == [("first-key-0001", SANDBOX, False)]
    set_credentials(cli, "--api-key", "second-key-0002")
    assert stored(scratch_url) == [("second-key-0002", SANDBOX, False)]


def test_the_key_is_asked_for_hidden_and_a_short_one_is_never_shown(
    cli: Run, scratch_url: str
) -> None:
    first = set_credentials(cli, "--endpoint", SANDBOX, stdin="prompted-key-0001\n")
    again = set_credentials(cli, "--prompt-api-key", stdin="k3Y9\n")

    assert "prompted-key-0001" not in first
    assert "key …0001" in first
    assert "k3Y9" not in again
    assert "short key" in again
    assert stored(scratch_url) == [("k3Y9", SANDBOX, False)]


@pytest.mark.parametrize(
    ("endpoint", "env"),
    [
        ("http://169.254.169.254/latest/meta-data/", "development"),
        ("ftp://letzshop.lu/graphql", "development"),
        (SANDBOX, "production"),  # plain http, loopback
    ],
)
def test_a_refused_endpoint_stores_nothing(
    cli: Run, scratch_url: str, endpoint: str, env: str
) -> None:
    refused = cli(
        "letzshop",
        "set-credentials",
        "--vendor",
        "shop",
        "--endpoint",
        endpoint,
        env={"ORDERGATE_ENV": env, "ORDERGATE_LETZSHOP_API_KEY": "first-key-0001"},
        expect=1,
    )

    assert "ENDPOINT_NOT_ALLOWED" in refused.stderr
    assert stored(scratch_url) == []


def test_the_sync_interval_is_set_and_turned_off(cli: Run, scratch_url: str) -> None:
    key = {"ORDERGATE_LETZSHOP_API_KEY": "first-key-0001"}
    out = set_credentials(cli, "--endpoint", SANDBOX, "--sync-interval", "15", env=key)
    assert "scheduled syncs every 15 min" in out
    assert _interval(scratch_url) == 15
    set_credentials(cli, "--auto-sync")  # already on: the interval stays
    assert _interval(scratch_url) == 15
    assert "scheduled syncs off" in set_credentials(cli, "--sync-interval", "0")
    assert _interval(scratch_url) is None
    set_credentials(cli, "--sync-interval", "10081", expect=2)
    assert _interval(scratch_url) is None


def _interval(scratch_url: str) -> int | None:
    engine = make_engine(scratch_url)
    with make_session_factory(engine)() as session:
        interval = session.scalars(select(LetzshopCredentials.sync_interval_minutes)).one()
    engine.dispose()
    return interval

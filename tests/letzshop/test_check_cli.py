"""`ordergate letzshop check --vendor CODE` run as a user would, against the sandbox: words on
the terminal, JSON with --json, exit 0 / 2 / 1, and never a mutation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ordergate.sandbox import SandboxHandle
from tests.letzshop.conftest import KEY

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(scratch_url: str, sandbox: SandboxHandle, control: httpx.Client) -> Run:
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": scratch_url,
        "ORDERGATE_SECRET_KEY": "cli-secret-key-for-check-tests",
        "ORDERGATE_ENV": "development",
        "ORDERGATE_LETZSHOP_MAX_RETRIES": "0",
        "ORDERGATE_LETZSHOP_API_KEY": KEY,
        "COLUMNS": "250",
    }

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [ORDERGATE, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == expect, done.stdout + done.stderr
        return done

    run("db", "upgrade")
    run("vendors", "create", "--code", "shop", "--name", "Shop")
    run("letzshop", "set-credentials", "--vendor", "shop", "--endpoint", sandbox.graphql_url)
    return run


def test_a_fitting_service_says_ok(cli: Run, control: httpx.Client) -> None:
    done = cli("letzshop", "check", "--vendor", "shop")

    assert "letzshop check shop: ok (introspection" in done.stdout
    assert "OK: every field, argument, input and enum value ordergate uses fits" in done.stdout
    assert "scalar Variant.price: service Money, contract Money, observed" in done.stdout
    assert control.get("/control/mutations").json()["mutations"] == []


def test_a_drifted_service_is_named_and_exits_2(cli: Run, control: httpx.Client) -> None:
    control.post("/control/schema", json={"variant": "drifted"}).raise_for_status()

    done = cli("letzshop", "check", "--vendor", "shop", expect=2)

    assert "letzshop check shop: mismatch" in done.stdout
    assert "we send `inventoryUnitId`, the service calls it `id`" in done.stdout
    assert "`Variant.price` is `String` at the service" in done.stdout
    assert "Confirmations (confirm and decline) are refused until a check passes" in done.stdout
    assert control.get("/control/mutations").json()["mutations"] == []


def test_json_is_the_report(cli: Run, control: httpx.Client) -> None:
    control.post("/control/schema", json={"introspection": False}).raise_for_status()

    done = cli("letzshop", "check", "--vendor", "shop", "--json")

    report = json.loads(done.stdout)
    assert report["status"] == "ok"
    assert report["mode"] == "probe_only"
    assert report["mismatches"] == []


def test_an_unreachable_service_or_unknown_vendor_exits_1(cli: Run, control: httpx.Client) -> None:
    unknown = cli("letzshop", "check", "--vendor", "nope", expect=1)
    control.post("/control/faults", json={"mode": "http_500"}).raise_for_status()
    unreachable = cli("letzshop", "check", "--vendor", "shop", expect=1)

    assert "VENDOR_NOT_FOUND" in unknown.stdout
    assert "LETZSHOP_UNAVAILABLE" in unreachable.stdout

"""`ordergate users` and `ordergate vendors`, run as a user would: a real process on a scratch
database, with the app on the same database to see the effect on tokens."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ordergate.app import create_app
from ordergate.config import Settings
from tests.conftest import TEST_SECRET
from tests.test_cli import ORDERGATE

GOOD = "quiet-lantern-orchard-7"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(scratch_url: str, tmp_path: Path) -> Run:
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": scratch_url,
        "ORDERGATE_SECRET_KEY": TEST_SECRET,
        "COLUMNS": "160",
    }
    env.pop("ORDERGATE_USER_PASSWORD", None)

    def run(
        *args: str, expect: int = 0, password: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        extra = {"ORDERGATE_USER_PASSWORD": password} if password is not None else {}
        done = subprocess.run(
            [ORDERGATE, *args],
            env={**env, **extra},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == expect, done.stdout + done.stderr
        return done

    run("db", "upgrade")
    return run


@pytest.fixture
def api(scratch_url: str) -> Iterator[TestClient]:
    settings = Settings(env="test", database_url=scratch_url, secret_key=TEST_SECRET)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def _token(api: TestClient, email: str, password: str = GOOD) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_users_and_vendors_from_the_command_line(run: Run) -> None:
    bad = run("vendors", "create", "--code", "Shop_1", "--name", "Shop", expect=2)
    assert "a-z, 0-9 and -" in bad.stderr
    run("vendors", "create", "--code", "shop", "--name", "Shop")
    assert "shop" in run("vendors", "list").stdout
    first = run("users", "create", "--email", "first@shop.test", "--vendor", "shop", password=GOOD)
    assert "owner of shop" in first.stdout
    # The password from a hidden prompt, typed twice.
    second = run(
        "users", "create", "--email", "second@shop.test", "--vendor", "shop",
        stdin=f"{GOOD}\n{GOOD}\n",
    )  # fmt: skip
    assert "owner" not in second.stdout
    assert GOOD not in second.stdout
    weak = run(
        "users", "create", "--email", "w@shop.test", "--admin", password="password1234", expect=1
    )
    assert "WEAK_PASSWORD" in weak.stderr
    listed = run("users", "list").stdout
    assert "first@shop.test" in listed
    assert "shop:owner" in listed
    assert "shop:staff" in listed
    assert "w@shop.test" not in listed


def test_set_password_and_deactivate_refuse_earlier_tokens(run: Run, api: TestClient) -> None:
    run("users", "create", "--email", "a@example.test", "--admin", password=GOOD)
    before = _token(api, "a@example.test")
    run("users", "set-password", "--email", "a@example.test", password="amber-fjord-violin-22")
    assert api.get("/api/v1/me", headers=before).status_code == 401
    after = _token(api, "a@example.test", "amber-fjord-violin-22")
    run("users", "create", "--email", "b@example.test", "--admin", password=GOOD)
    run("users", "deactivate", "--email", "a@example.test")
    assert api.get("/api/v1/me", headers=after).status_code == 401
    run("users", "activate", "--email", "a@example.test")
    assert api.get("/api/v1/me", headers=after).status_code == 401
    _token(api, "a@example.test", "amber-fjord-violin-22")
    missing = run("users", "deactivate", "--email", "ghost@example.test", expect=1)
    assert "USER_NOT_FOUND" in missing.stderr

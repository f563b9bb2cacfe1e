"""Login throttling per account and per client address (the `limits` library, moving window)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.auth.throttle import LoginThrottle
from tests.conftest import PASSWORD
from tests.factories import make_user, staff_headers

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def throttle(app: FastAPI, client: TestClient) -> Iterator[LoginThrottle]:
    """The app's throttle with small limits: 3 failures a minute per account, 6 per address."""
    original = app.state.login_throttle
    app.state.login_throttle = LoginThrottle(
        storage_uri="memory://", per_account="3/minute", per_address="6/minute"
    )
    yield app.state.login_throttle
    app.state.login_throttle = original


def _fail(app: FastAPI, email: str, address: str = "198.51.100.1") -> int:
    with TestClient(app, client=(address, 40000)) as from_address:
        response = from_address.post(LOGIN, json={"email": email, "password": "wrong-password"})
    return response.status_code


def test_default_limits_stop_the_probes_burst(client: TestClient, db: Session) -> None:
    """The probe: 200 wrong passwords for one account answered 401 every time."""
    make_user(db, email="staff@beta.test")
    db.commit()
    answers = [
        client.post(LOGIN, json={"email": "staff@beta.test", "password": f"wrong-{n}"})
        for n in range(200)
    ]
    statuses = Counter(response.status_code for response in answers)
    assert statuses == {401: 5, 429: 195}
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "TOO_MANY_LOGIN_ATTEMPTS"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # The right password is refused too while the account is throttled.
    right = client.post(LOGIN, json={"email": "staff@beta.test", "password": PASSWORD})
    assert right.status_code == 429


def test_known_and_unknown_emails_get_the_same_answers(
    client: TestClient, db: Session, throttle: LoginThrottle
) -> None:
    make_user(db, email="known@example.test")
    db.commit()

    def answers(email: str) -> list[tuple[int, dict[str, object], str | None]]:
        out = []
        for _ in range(5):
            response = client.post(LOGIN, json={"email": email, "password": "wrong-password"})
            out.append((response.status_code, response.json(), response.headers.get("retry-after")))
        return out

    known, unknown = answers("known@example.test"), answers("unknown@example.test")
    assert [status for status, _, _ in known] == [401, 401, 401, 429, 429]
    assert [(s, body) for s, body, _ in known] == [(s, body) for s, body, _ in unknown]
    assert all(after is not None for status, _, after in known + unknown if status == 429)


def test_the_wait_grows_with_more_failures(
    app: FastAPI, client: TestClient, db: Session, throttle: LoginThrottle
) -> None:
    app.state.login_throttle = LoginThrottle(
        storage_uri="memory://", per_account="3/second;5/minute", per_address="100/minute"
    )
    make_user(db, email="a@example.test")
    db.commit()
    assert [_status(client, "a@example.test") for _ in range(4)] == [401, 401, 401, 429]
    second_wait = client.post(LOGIN, json={"email": "a@example.test", "password": "x"})
    assert second_wait.headers["retry-after"] == "1"
    time.sleep(1.1)
    # The second's window has passed; the minute's limit (5) allows two more failures, then the
    # wait is counted in the minute.
    assert [_status(client, "a@example.test") for _ in range(3)] == [401, 401, 429]
    minute_wait = client.post(LOGIN, json={"email": "a@example.test", "password": "x"})
    assert 1 < int(minute_wait.headers["retry-after"]) <= 60


def test_the_address_limit_covers_many_accounts(app: FastAPI, throttle: LoginThrottle) -> None:
    statuses = [_fail(app, f"user{n}@example.test") for n in range(8)]
    assert statuses == [401] * 6 + [429] * 2
    assert _fail(app, "someone@example.test", address="203.0.113.9") == 401


def test_a_successful_login_resets_only_its_own_account(
    app: FastAPI, client: TestClient, db: Session, throttle: LoginThrottle
) -> None:
    staff_headers(client, db)
    for _ in range(2):
        assert _fail(app, "owner@shop1.test") == 401
        assert _fail(app, "victim@example.test") == 401
    with TestClient(app, client=("198.51.100.1", 40000)) as same_address:
        ok = same_address.post(LOGIN, json={"email": "owner@shop1.test", "password": PASSWORD})
    assert ok.status_code == 200
    assert _fail(app, "victim@example.test") == 401
    assert _fail(app, "victim@example.test") == 429  # 3 failures for one account
    # The address counter kept all 5 failures and the success reset none of them: one more is
    # the sixth, then the address is throttled for every account.
    assert _fail(app, "owner@shop1.test") == 401  # its own counter started again
    assert _fail(app, "third@example.test") == 429


def _status(client: TestClient, email: str) -> int:
    return client.post(LOGIN, json={"email": email, "password": "wrong-password"}).status_code


def test_wrong_current_passwords_are_throttled_like_logins(
    client: TestClient, db: Session, throttle: LoginThrottle
) -> None:
    _, staff = staff_headers(client, db)
    body = {"current_password": "not-my-password", "new_password": "quiet-lantern-orchard-7"}
    statuses = [
        client.post("/api/v1/me/password", headers=staff, json=body).status_code for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    right = {"current_password": PASSWORD, "new_password": "quiet-lantern-orchard-7"}
    refused = client.post("/api/v1/me/password", headers=staff, json=right)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "TOO_MANY_LOGIN_ATTEMPTS"

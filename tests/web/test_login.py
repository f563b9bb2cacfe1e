"""Dashboard login: cookie session, form tokens, logout, expiry, vendor choice, error pages."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.auth.models import WebSession
from ordergate.db import utcnow
from tests.factories import make_user, make_vendor
from tests.web.pages import csrf_of, login_form_token, post_form, web_login


def _sessions(db: Session) -> int:
    db.rollback()  # a fresh snapshot
    return db.scalar(select(func.count()).select_from(WebSession)) or 0


def test_root_is_the_login_page_and_pages_redirect_to_it(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<label for="email">Email</label>' in page.text
    queue = client.get("/queue?status=pending", follow_redirects=False)
    assert queue.status_code == 303
    assert queue.headers["location"] == "/?next=%2Fqueue%3Fstatus%3Dpending"


def test_login_sets_an_httponly_lax_cookie_and_lands_on_the_queue(
    client: TestClient, db: Session
) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    db.commit()
    token = login_form_token(client)
    response = client.post(
        "/login",
        data={
            "email": "staff@shop1.test",
            "password": "correct-horse-battery",
            "login_csrf": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/queue"
    cookie = next(h for h in response.headers.get_list("set-cookie") if "ordergate_session=" in h)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1
    page = client.get("/queue")
    assert page.status_code == 200
    assert "Shop shop1" in page.text
    assert _sessions(db) == 1


def test_wrong_password_shows_the_apis_message_and_starts_no_session(
    client: TestClient, db: Session
) -> None:
    make_user(db, email="a@example.test", is_admin=True)
    db.commit()
    token = login_form_token(client)
    response = client.post(
        "/login",
        data={"email": "a@example.test", "password": "wrong-password", "login_csrf": token},
    )
    assert response.status_code == 401
    assert "Incorrect email or password" in response.text
    assert _sessions(db) == 0


def test_a_login_post_without_the_form_token_is_refused(client: TestClient, db: Session) -> None:
    make_user(db, email="a@example.test", is_admin=True)
    db.commit()
    response = client.post(
        "/login", data={"email": "a@example.test", "password": "correct-horse-battery"}
    )
    assert response.status_code == 403
    assert _sessions(db) == 0


def test_logout_needs_the_form_token_and_ends_the_session(client: TestClient, db: Session) -> None:
    make_user(db, email="a@example.test", is_admin=True)
    db.commit()
    csrf = web_login(client, "a@example.test")
    refused = post_form(client, "/logout", "not-the-token")
    assert refused.status_code == 403
    assert "CSRF_TOKEN_INVALID" in refused.text
    assert _sessions(db) == 1
    done = post_form(client, "/logout", csrf)
    assert done.status_code == 303
    assert _sessions(db) == 0
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_an_expired_or_revoked_session_logs_out(client: TestClient, db: Session) -> None:
    user = make_user(db, email="a@example.test", is_admin=True)
    db.commit()
    web_login(client, "a@example.test")
    record = db.scalars(select(WebSession)).one()
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert client.get("/queue", follow_redirects=False).status_code == 303
    web_login(client, "a@example.test")
    user.token_version += 1  # a password change or "log out everywhere"
    db.commit()
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_a_member_of_several_vendors_chooses_one(client: TestClient, db: Session) -> None:
    first = make_vendor(db, code="shop1")
    make_vendor(db, code="shop2")
    other = make_vendor(db, code="shop3")
    make_user(db, email="multi@example.test", vendors=["shop1", "shop2"])
    db.commit()
    token = login_form_token(client)
    response = client.post(
        "/login",
        data={
            "email": "multi@example.test",
            "password": "correct-horse-battery",
            "login_csrf": token,
        },
        follow_redirects=False,
    )
    assert response.headers["location"].startswith("/vendor")
    assert client.get("/queue", follow_redirects=False).headers["location"].startswith("/vendor")
    chooser = client.get("/vendor")
    csrf = csrf_of(chooser)
    assert "Shop shop1" in chooser.text
    assert "Shop shop3" not in chooser.text
    refused = post_form(client, "/vendor", csrf, {"vendor_id": str(other.id)})
    assert refused.status_code == 403
    chosen = post_form(client, "/vendor", csrf, {"vendor_id": str(first.id), "next": "/queue"})
    assert chosen.status_code == 303
    assert client.get("/queue").status_code == 200


def test_open_redirects_after_login_are_refused(client: TestClient, db: Session) -> None:
    make_user(db, email="a@example.test", is_admin=True)
    db.commit()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.cookies.clear()
        token = login_form_token(client)
        response = client.post(
            "/login",
            data={
                "email": "a@example.test",
                "password": "correct-horse-battery",
                "login_csrf": token,
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/queue"


def test_unknown_pages_are_html_and_api_errors_stay_json(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "NOT_FOUND"


def test_api_docs_are_served_without_a_cdn(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "cdn.jsdelivr.net" not in page.text
        assert "/static-offline-docs/" in page.text
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_htmx_is_served_from_the_build(client: TestClient) -> None:
    page = client.get("/")
    assert "/static/vendor/htmx.min.js?v=" in page.text
    script = client.get("/static/vendor/htmx.min.js")
    assert script.status_code == 200
    assert 'version:"2.0.' in script.text

"""Regenerate docs/screenshots/: every main dashboard page at desktop (1280 px) and phone
(390 px) width, from a fresh demo exactly as `make run` builds it.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only queue,orders]

It makes a temporary SQLite database, runs `ordergate db upgrade` and `ordergate demo`, serves
it with `ordergate serve --with-sandbox` on free ports, and drives Debian's chromium (found with
shutil.which; never `playwright install`) through the pages as the demo's admin and a vendor
owner. Desktop shots are the first screen; phone shots the first two screens at most, so the
PNGs stay small. The demo's dates follow the clock, so ages and deadlines differ run to run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import (
    APIRequestContext,
    Browser,
    FloatRect,
    Page,
    Playwright,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parents[1]
ORDERGATE = Path(sys.executable).with_name("ordergate")
PASSWORD = "ordergate-demo"
ADMIN = "admin@ordergate.test"
VENDOR_USER = "owner@luxtoys.test"
# As tests/browser/conftest.py: chromium's background connections are refused by the closed
# network without these.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": (1280, 860), "phone": (390, 844)}
PHONE_SCREENS = 2  # a phone shot shows at most this many screens of the page


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(args: list[str], *, env: dict[str, str], cwd: Path) -> None:
    subprocess.run([str(ORDERGATE), *args], env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def demo_server(workdir: Path) -> Iterator[str]:
    """A fresh demo (as `make run`) served on a free port; yields its base URL."""
    env = dict(os.environ)
    env.update(
        ORDERGATE_DATABASE_URL=f"sqlite:///{workdir / 'demo.db'}",
        ORDERGATE_SECRET_KEY_FILE=str(workdir / "secret"),
        ORDERGATE_ENV="development",
    )
    sandbox_port, port = _free_port(), _free_port()
    _run(["db", "upgrade"], env=env, cwd=workdir)
    _run(["demo", "--sandbox-port", str(sandbox_port)], env=env, cwd=workdir)
    server = subprocess.Popen(
        [str(ORDERGATE), "serve", "--port", str(port), "--with-sandbox"]
        + ["--sandbox-port", str(sandbox_port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("ordergate serve did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _log_in(page: Page, email: str) -> None:
    page.goto("/")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/queue**")


def _api_token(api: APIRequestContext, email: str) -> str:
    answer = api.post("/api/v1/auth/login", data={"email": email, "password": PASSWORD})
    return str(answer.json()["access_token"])


class Shooter:
    """Opens a page at each width, logged in as one user, and saves it."""

    def __init__(self, browser: Browser, url: str, out: Path, only: set[str] | None) -> None:
        self.browser, self.url, self.out, self.only = browser, url, out, only
        self.saved: list[Path] = []

    def shoot(
        self,
        name: str,
        path: str,
        *,
        user: str | None,
        desktop_height: int | None = None,
    ) -> None:
        """Save ``name``-desktop.png (the first screen, or ``desktop_height`` px of the page)
        and ``name``-phone.png (at most PHONE_SCREENS screens)."""
        if self.only is not None and name not in self.only:
            return
        for width_name, (width, height) in WIDTHS.items():
            context = self.browser.new_context(
                base_url=self.url, viewport={"width": width, "height": height}
            )
            context.set_default_timeout(15_000)
            page = context.new_page()
            if user is not None:
                _log_in(page, user)
            page.goto(path)
            page.wait_for_load_state("networkidle")
            # No caret or focus ring on the login form's autofocused field in the picture.
            page.evaluate("document.activeElement && document.activeElement.blur()")
            target = self.out / f"{name}-{width_name}.png"
            wanted = height * PHONE_SCREENS if width_name == "phone" else desktop_height or height
            full = int(page.evaluate("document.documentElement.scrollHeight"))
            clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": min(full, wanted)}
            page.screenshot(path=str(target), full_page=True, clip=clip)
            self.saved.append(target)
            context.close()


def take_all(
    playwright: Playwright,
    browser: Browser,
    url: str,
    out: Path,
    feed: bytes,
    only: set[str] | None,
) -> list[Path]:
    shooter = Shooter(browser, url, out, only)
    api = playwright.request.new_context(base_url=url)
    vendor = {"authorization": f"Bearer {_api_token(api, VENDOR_USER)}"}
    admin = {"authorization": f"Bearer {_api_token(api, ADMIN)}"}

    def first(path: str, key: str) -> int:
        return int(api.get(f"/api/v1/vendor{path}", headers=vendor).json()[key][0]["id"])

    shooter.shoot("login", "/", user=None)
    shooter.shoot("queue", "/queue", user=VENDOR_USER)
    shooter.shoot("queue-groups", "/queue?mode=groups", user=VENDOR_USER)
    # A check-digit typo on an order awaiting confirmation (the soonest deadline first): its
    # first suggestion is the right product, with its reasons (the desktop shot shows them).
    typo = first(
        "/order-exceptions?status=pending&exception_type=gtin_mismatch&sort=confirm_by&limit=1",
        "exceptions",
    )
    shooter.shoot("exception", f"/exceptions/{typo}", user=VENDOR_USER, desktop_height=1400)
    shooter.shoot("orders", "/orders", user=VENDOR_USER)
    blocked = first("/orders?status=pending&has_exceptions=true&limit=1", "orders")
    shooter.shoot("order-blocked", f"/orders/{blocked}", user=VENDOR_USER)
    shooter.shoot("sync", "/sync", user=VENDOR_USER)

    # The admin uploads the demo's feed (as Catalog → Upload does); its run page lists the rows
    # that failed on purpose.
    run = api.post(
        "/api/v1/admin/marketplace-products/import",
        headers=admin,
        multipart={
            "file": {"name": "marketplace-feed.tsv", "mimeType": "text/plain", "buffer": feed}
        },
    ).json()
    shooter.shoot("catalog-import", f"/catalog/imports/{run['run_id']}", user=ADMIN)
    # The vendor's view of the feed: what its pending exceptions wait for, ready to copy.
    shooter.shoot("catalog", "/catalog?awaited=1", user=VENDOR_USER)
    # "Copy all" (not pictured), so the KPIs count exceptions auto-matched by the catalog.
    context = browser.new_context(base_url=url)
    page = context.new_page()
    _log_in(page, VENDOR_USER)
    page.goto("/catalog?awaited=1")
    page.click("button[name=copy_all]")
    page.wait_for_load_state("networkidle")
    context.close()
    # One resolved by hand (the typo, to its first suggestion) and a duplicate GTIN in bulk, so
    # the KPIs show every way of resolving.
    suggestion = api.get(f"/api/v1/vendor/order-exceptions/{typo}/suggestions", headers=vendor)
    product = suggestion.json()["suggestions"][0]["product"]["id"]
    api.post(
        f"/api/v1/vendor/order-exceptions/{typo}/resolve",
        headers=vendor,
        data={"product_id": product},
    )
    groups = api.get(
        "/api/v1/vendor/order-exceptions/groups?exception_type=duplicate_gtin&limit=1",
        headers=vendor,
    ).json()["groups"]
    if groups:
        sample = groups[0]["sample_exception_id"]
        suggestion = api.get(
            f"/api/v1/vendor/order-exceptions/{sample}/suggestions", headers=vendor
        )
        api.post(
            "/api/v1/vendor/order-exceptions/bulk-resolve",
            headers=vendor,
            data={
                "gtin": groups[0]["gtin"],
                "product_id": suggestion.json()["suggestions"][0]["product"]["id"],
            },
        )
    shooter.shoot("kpis", "/kpis", user=VENDOR_USER)
    api.dispose()
    return shooter.saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", help="comma-separated page names (e.g. queue,orders)")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed (as root: python scripts/ensure_chromium.py)")
    only = set(args.only.split(",")) if args.only else None
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ordergate-shots-") as tmp:
        workdir = Path(tmp)
        with demo_server(workdir) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
            feed = (workdir / "demo" / "marketplace-feed.tsv").read_bytes()
            saved = take_all(playwright, browser, url, args.out, feed, only)
            browser.close()
    for path in saved:
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
            f"  {path.stat().st_size // 1024} KiB"
        )


if __name__ == "__main__":
    main()

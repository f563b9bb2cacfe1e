"""The README's API tour, run as written: its ```sh blocks (section "The same through the API")
against a live demo (seeded, imported from the demo sandbox, the marketplace feed written), twice
in a row. The tour finds its ids itself and changes the data as it goes, so the second run must
pick the next pending exception, group and order, and still succeed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.db import make_session_factory, utcnow
from ordergate.demo import demo_sandbox_state, seed_demo, write_marketplace_feed
from ordergate.letzshop.models import SyncState, SyncTrigger
from ordergate.letzshop.sync import run_sync
from ordergate.orders.models import ExceptionStatus, Order, OrderItemException
from ordergate.sandbox import SandboxHandle, run_in_thread
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from tests.conftest import TEST_SECRET
from tests.live_server import live_server

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## The same through the API"
README_SERVER = "http://127.0.0.1:8000"
# The one refusal the tour shows on purpose: confirming a blocked order.
EXPECTED_REFUSAL = '"code":"ORDER_HAS_UNRESOLVED_EXCEPTIONS"'

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("curl") is None, reason="needs bash and curl"
)


def tour_script() -> str:
    """The README section's ```sh blocks, in order, as one script."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.M | re.S)
    assert len(blocks) >= 3, "the API tour's ```sh blocks were not found"
    return "\n".join(blocks)


@pytest.fixture
def demo_sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(demo_sandbox_state(utcnow()))
    yield handle
    handle.stop()


@pytest.fixture
def demo(db: Session, engine: Engine, settings: Settings, demo_sandbox: SandboxHandle) -> None:
    """What `ordergate demo` does, with the test database and sandbox."""
    box = SecretBox(TEST_SECRET)
    vendors = seed_demo(db, box=box, settings=settings, sandbox_url=demo_sandbox.graphql_url)
    db.commit()
    factory = make_session_factory(engine)
    for vendor in vendors:
        run_sync(
            factory,
            settings=settings,
            box=box,
            scope=VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True),
            trigger=SyncTrigger.DEMO,
            state=SyncState.ALL,
        )


def _counts(db: Session) -> tuple[int, int]:
    """(resolved exceptions, confirmed orders)."""
    db.rollback()
    resolved = db.scalar(
        select(func.count())
        .select_from(OrderItemException)
        .where(OrderItemException.status == ExceptionStatus.RESOLVED)
    )
    confirmed = db.scalar(
        select(func.count()).select_from(Order).where(Order.confirmed_at.is_not(None))
    )
    return int(resolved or 0), int(confirmed or 0)


@pytest.mark.usefixtures("demo")
def test_the_readme_api_tour_runs_twice_in_a_row(
    settings: Settings, db: Session, tmp_path: Path
) -> None:
    script = tour_script()
    assert script.count(README_SERVER) == 1, "the tour names its server once, in api=…"
    write_marketplace_feed(tmp_path / "demo" / "marketplace-feed.tsv")
    # python3 in the tour is this interpreter (any Python 3 does).
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with live_server(settings) as live:
        live.app.state.login_throttle.reset()
        script = script.replace(README_SERVER, live.url)
        before = _counts(db)
        for run in (1, 2):
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            shown = f"run {run}:\n{done.stdout}\n{done.stderr}"
            assert done.returncode == 0, shown
            assert done.stdout.count(EXPECTED_REFUSAL) == 1, shown
            assert done.stdout.count('{"error"') == 1, shown  # no other refusal
            assert done.stderr == "", shown
            after = _counts(db)
            # Each run resolves exceptions (one, a GTIN's group, an order's lines, auto-matched
            # ones) and confirms one order.
            assert after[0] > before[0], shown
            assert after[1] == before[1] + 1, shown
            before = after

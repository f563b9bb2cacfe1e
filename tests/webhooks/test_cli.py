"""`ordergate webhooks deliver`, run as cron would: a real process on a scratch database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ordergate import migrate
from ordergate.config import Settings
from ordergate.db import make_engine, make_session_factory
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from ordergate.vendors.service import create_vendor
from ordergate.webhooks import outbox
from ordergate.webhooks.service import set_webhook
from ordergate.webhooks.signing import verify
from tests.webhooks.conftest import SECRET, Receiver

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))
APP_SECRET = "cli-test-secret-key-0123456789"


def _prepare(url: str, receiver: Receiver) -> None:
    migrate.upgrade(url)
    settings = Settings(env="test", database_url=url, webhook_allowed_networks=["127.0.0.1/32"])
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            vendor = create_vendor(session, code="cron", name="Cron")
            scope = VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True)
            box = SecretBox(APP_SECRET)
            set_webhook(
                session, scope=scope, box=box, settings=settings, url=receiver.url, secret=SECRET
            )
            outbox.record_sync_exceptions(
                session, vendor_id=vendor.id, counts={"sync_run_id": 3}, exception_ids=[5]
            )
            session.commit()
    finally:
        engine.dispose()


def test_deliver_sends_what_is_due(scratch_url: str, receiver: Receiver) -> None:
    _prepare(scratch_url, receiver)
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": scratch_url,
        "ORDERGATE_SECRET_KEY": APP_SECRET,
        "ORDERGATE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    command = [ORDERGATE, "webhooks", "deliver"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "delivered: 1, retrying: 0, failed: 0" in done.stdout
    (received,) = receiver.requests
    assert verify(SECRET, received.headers["X-Ordergate-Signature"], received.body)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "delivered: 0, retrying: 0, failed: 0" in again.stdout
    assert len(receiver.requests) == 1

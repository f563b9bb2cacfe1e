"""The other domains only record events: they import `webhooks.outbox` and nothing of webhooks
that sends (the domain DAG itself is tests/test_layers.py)."""

from __future__ import annotations

from tests.test_layers import _part, imports

RECORDING_ONLY = {
    "ordergate.webhooks.outbox.record_confirmable_orders",
    "ordergate.webhooks.outbox.record_sync_exceptions",
}


def test_letzshop_and_item_exceptions_import_only_the_outbox() -> None:
    found = {
        (module, target)
        for module, _, target in imports()
        if _part(module, 1) in ("letzshop", "item_exceptions", "orders")
        and target.startswith("ordergate.webhooks")
    }
    assert {target for _, target in found} == RECORDING_ONLY


def test_the_outbox_imports_no_http_client() -> None:
    targets = {target for module, _, target in imports() if module == "ordergate.webhooks.outbox"}
    assert not any(t.split(".")[0] in ("httpx", "httpcore") for t in targets)
    assert not any("delivery" in t or "outbound" in t for t in targets)

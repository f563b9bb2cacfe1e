"""The client against the project's sandbox over real HTTP: paging, retries, errors, mutations."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ordergate.letzshop.client import AUTH_MESSAGE, UNAVAILABLE_MESSAGE, LetzshopClient
from ordergate.letzshop.errors import (
    LetzshopAuthError,
    LetzshopGraphQLError,
    LetzshopProtocolError,
    LetzshopUnavailableError,
)
from ordergate.letzshop.types import Shipment, ShipmentPage, Tracking, UnitError

from .helpers import SHIPMENTS_PER_VENDOR, ClientFactory

SetFaults = Callable[..., None]


def _all_pages(client: LetzshopClient, state: str | None = None) -> list[ShipmentPage]:
    return list(client.iter_shipment_pages(state))


def _shipments(pages: list[ShipmentPage]) -> list[Shipment]:
    return [shipment for page in pages for shipment in page.shipments]


def _sandbox_ids(control: httpx.Client, api_key: str = "sandbox-key-1") -> list[str]:
    dump = control.get("/control/shipments", params={"api_key": api_key}).json()
    return [entry["shipment"]["id"] for entry in dump["shipments"]]


def _unconfirmed_unit_ids(client: LetzshopClient, count: int) -> list[str]:
    shipments = _shipments(_all_pages(client, "unconfirmed"))
    unit_ids = [unit.id for s in shipments for unit in s.inventory_units]
    return unit_ids[:count]


def _unconfirmed_shipment(client: LetzshopClient) -> tuple[str, list[str]]:
    """The first unconfirmed shipment: its id and its unit ids."""
    shipment = _shipments(_all_pages(client, "unconfirmed"))[0]
    return shipment.id, [unit.id for unit in shipment.inventory_units]


# --- paging --------------------------------------------------------------------------------------


def test_walks_every_page_in_order(make_client: ClientFactory, control: httpx.Client) -> None:
    pages = _all_pages(make_client(page_size=10))

    assert [len(page.shipments) + len(page.failures) for page in pages] == [10, 10, 3]
    assert [page.has_next_page for page in pages] == [True, True, False]
    assert [s.id for s in _shipments(pages)] == _sandbox_ids(control)
    assert len(_sandbox_ids(control)) == SHIPMENTS_PER_VENDOR


def test_generated_dirt_parses_without_failures(make_client: ClientFactory) -> None:
    pages = _all_pages(make_client(page_size=50))

    assert [failure for page in pages for failure in page.failures] == []
    assert all(page.graphql_errors == [] for page in pages)


def test_state_filter_splits_the_shipments(make_client: ClientFactory) -> None:
    client = make_client()

    unconfirmed = _shipments(_all_pages(client, "unconfirmed"))
    confirmed = _shipments(_all_pages(client, "confirmed"))

    assert {s.state for s in unconfirmed} == {"unconfirmed"}
    assert {s.state for s in confirmed} == {"confirmed"}
    assert len(unconfirmed) + len(confirmed) == SHIPMENTS_PER_VENDOR


def test_declined_is_not_a_state_filter(make_client: ClientFactory) -> None:
    with pytest.raises(LetzshopGraphQLError) as caught:
        _all_pages(make_client(), "declined")

    assert any("declined" in message for message in caught.value.messages)


def test_malformed_node_is_reported_and_the_rest_still_imports(
    make_client: ClientFactory, control: httpx.Client, clean_node: dict[str, Any]
) -> None:
    broken = {**clean_node, "id": "injected-broken", "order": None}
    control.post(
        "/control/shipments", json={"api_key": "sandbox-key-1", "shipments": [broken]}
    ).raise_for_status()

    pages = _all_pages(make_client(page_size=50))

    assert len(_shipments(pages)) == SHIPMENTS_PER_VENDOR
    failures = [failure for page in pages for failure in page.failures]
    assert [(f.external_id, f.reason) for f in failures] == [
        ("injected-broken", "order: expected an object, got null")
    ]


def test_pages_are_fetched_lazily(make_client: ClientFactory, set_faults: SetFaults) -> None:
    set_faults(mode="http_503")

    pages = make_client(max_retries=0).iter_shipment_pages(None)  # no request made yet

    with pytest.raises(LetzshopUnavailableError):
        next(pages)


# --- retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["http_500", "http_502", "http_503"])
def test_server_errors_are_retried_until_success(
    make_client: ClientFactory, set_faults: SetFaults, mode: str
) -> None:
    set_faults(mode=mode, count=2)

    pages = _all_pages(make_client(max_retries=2))

    assert len(_shipments(pages)) == SHIPMENTS_PER_VENDOR


def test_rate_limit_waits_for_retry_after(
    make_client: ClientFactory, set_faults: SetFaults
) -> None:
    set_faults(mode="rate_limit", count=1, retry_after=0.6)
    client = make_client(backoff_base=0.01, backoff_max=1.0)  # cap 4 s: 0.6 s is honoured

    started = time.monotonic()
    first_page = next(client.iter_shipment_pages(None))
    elapsed = time.monotonic() - started

    assert elapsed >= 0.6
    assert len(first_page.shipments) == 10


def test_hostile_retry_after_is_capped(make_client: ClientFactory, set_faults: SetFaults) -> None:
    set_faults(mode="rate_limit", count=1, retry_after=3600)

    started = time.monotonic()
    next(make_client(backoff_max=0.05).iter_shipment_pages(None))  # cap: 0.2 s

    assert time.monotonic() - started < 2.0


def test_gives_up_after_max_retries(make_client: ClientFactory, set_faults: SetFaults) -> None:
    set_faults(mode="http_503")

    with pytest.raises(LetzshopUnavailableError) as caught:
        _all_pages(make_client(max_retries=2))

    assert caught.value.message == UNAVAILABLE_MESSAGE  # the same for every failing endpoint
    assert caught.value.detail == "HTTP 503 after 3 attempts"  # for the server log
    assert caught.value.last_reason == "HTTP 503"
    assert caught.value.attempts == 3


def test_persistent_rate_limit_gives_up(make_client: ClientFactory, set_faults: SetFaults) -> None:
    set_faults(mode="rate_limit", retry_after=0)

    with pytest.raises(LetzshopUnavailableError) as caught:
        _all_pages(make_client(max_retries=1))

    assert caught.value.detail == "HTTP 429 after 2 attempts"


def test_timeout_is_retried(make_client: ClientFactory, set_faults: SetFaults) -> None:
    set_faults(mode="timeout", count=1, timeout_seconds=2.0)

    pages = _all_pages(make_client(timeout=0.3))

    assert len(_shipments(pages)) == SHIPMENTS_PER_VENDOR


def test_persistent_timeout_gives_up(make_client: ClientFactory, set_faults: SetFaults) -> None:
    set_faults(mode="timeout", count=2, timeout_seconds=1.0)

    client = make_client(timeout=0.3, max_retries=1)

    with pytest.raises(LetzshopUnavailableError) as caught:
        _all_pages(client)

    assert caught.value.detail == "timeout (ReadTimeout) after 2 attempts"


def test_connection_refused_gives_up(make_client: ClientFactory) -> None:
    with socket.socket() as sock:  # bind a free port, then release it: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(endpoint=f"http://127.0.0.1:{port}/graphql", max_retries=1)

    with pytest.raises(LetzshopUnavailableError) as caught:
        _all_pages(client)

    assert caught.value.message == UNAVAILABLE_MESSAGE
    assert caught.value.detail == "connection error (ConnectError) after 2 attempts"


def test_malformed_json_is_retried(make_client: ClientFactory, set_faults: SetFaults) -> None:
    set_faults(mode="malformed_json", count=2)

    pages = _all_pages(make_client())

    assert len(_shipments(pages)) == SHIPMENTS_PER_VENDOR


def test_persistent_malformed_json_is_a_protocol_error(
    make_client: ClientFactory, set_faults: SetFaults
) -> None:
    set_faults(mode="malformed_json")

    with pytest.raises(LetzshopProtocolError) as caught:
        _all_pages(make_client(max_retries=1))

    assert caught.value.message == UNAVAILABLE_MESSAGE
    assert caught.value.detail == "HTTP 200 with malformed JSON after 2 attempts"


# --- errors that are not retried -----------------------------------------------------------------


def test_unknown_key_as_http_401_is_an_auth_error(make_client: ClientFactory) -> None:
    with pytest.raises(LetzshopAuthError) as caught:
        _all_pages(make_client("not-a-key"))

    assert (caught.value.message, caught.value.detail) == (AUTH_MESSAGE, "HTTP 401")


def test_unknown_key_as_graphql_errors_is_an_auth_error(
    make_client: ClientFactory, set_faults: SetFaults
) -> None:
    set_faults(bad_key="graphql_errors")

    with pytest.raises(LetzshopAuthError) as caught:
        _all_pages(make_client("not-a-key"))

    assert caught.value.message == AUTH_MESSAGE
    assert "Invalid API key" in caught.value.detail


@pytest.mark.parametrize("mode", ["auth_401", "auth_errors"])
def test_auth_failure_is_not_retried(
    make_client: ClientFactory, set_faults: SetFaults, mode: str
) -> None:
    # One faulty answer only: a retry would have succeeded, so the error proves there was none.
    set_faults(mode=mode, count=1)

    with pytest.raises(LetzshopAuthError):
        _all_pages(make_client())


def test_graphql_errors_without_data_raise_with_messages(
    make_client: ClientFactory, set_faults: SetFaults
) -> None:
    set_faults(mode="graphql_errors", count=1)

    with pytest.raises(LetzshopGraphQLError) as caught:
        _all_pages(make_client())

    assert caught.value.messages == ["Internal server error"]


def test_partial_errors_keep_the_rest_of_the_page(
    make_client: ClientFactory, set_faults: SetFaults
) -> None:
    set_faults(mode="partial_errors", count=1)

    pages = _all_pages(make_client(page_size=10))

    first = pages[0]
    assert len(first.shipments) == 9
    assert [(f.external_id, f.reason) for f in first.failures] == [
        (
            None,
            "node: expected an object, got null "
            "(GraphQL: Internal error while resolving this field)",
        )
    ]
    assert first.graphql_errors == ["Internal error while resolving this field"]
    assert len(_shipments(pages)) == SHIPMENTS_PER_VENDOR - 1


# --- mutations -----------------------------------------------------------------------------------


def test_confirm_units_applies_decisions_and_reports_per_unit_errors(
    make_client: ClientFactory, control: httpx.Client
) -> None:
    client = make_client()
    confirm_id, decline_id = _unconfirmed_unit_ids(client, 2)
    other_vendor_unit = _unconfirmed_unit_ids(make_client("sandbox-key-2"), 1)[0]

    result = client.confirm_units(
        [
            (confirm_id, True),
            (decline_id, False),
            ("no-such-unit", True),
            (other_vendor_unit, True),
        ],
        shipment_id="any",  # read only to reconcile a lost answer
    )

    assert {(u.id, u.state) for u in result.units} == {
        (confirm_id, "confirmed_available"),
        (decline_id, "confirmed_unavailable"),
    }
    assert result.errors == [
        UnitError(id="no-such-unit", code="not_found", message="Inventory unit not found"),
        UnitError(id=other_vendor_unit, code="not_found", message="Inventory unit not found"),
    ]
    [logged] = control.get("/control/mutations").json()["mutations"]
    assert logged["fields"] == ["confirmInventoryUnits"]
    assert logged["operation_name"] == "ConfirmUnits"


def test_confirming_a_decided_unit_changes_nothing(make_client: ClientFactory) -> None:
    client = make_client()
    shipment_id, [unit_id, *_] = _unconfirmed_shipment(client)
    client.confirm_units([(unit_id, False)], shipment_id=shipment_id)

    again = client.confirm_units([(unit_id, True)], shipment_id=shipment_id)

    assert again.units == []
    assert [(e.id, e.code) for e in again.errors] == [(unit_id, "already_decided")]


def test_confirm_whose_answer_was_lost_is_read_back_not_resent(
    make_client: ClientFactory, set_faults: SetFaults, control: httpx.Client
) -> None:
    # The sandbox applies the mutation, then stalls past the client's timeout. The client reads
    # the shipment back instead of resending: one mutation, and the unit reported as applied.
    client = make_client(timeout=0.3)
    shipment_id, [unit_id, *_] = _unconfirmed_shipment(client)
    set_faults(mode="timeout", count=1, timeout_seconds=1.0)

    result = client.confirm_units([(unit_id, True)], shipment_id=shipment_id)

    assert [(u.id, u.state) for u in result.units] == [(unit_id, "confirmed_available")]
    assert result.errors == []
    assert result.reconciled == [unit_id]
    assert len(control.get("/control/mutations").json()["mutations"]) == 1


def test_after_a_lost_answer_only_undecided_units_are_resent(
    make_client: ClientFactory, set_faults: SetFaults, control: httpx.Client
) -> None:
    # A 503 before execution: nothing was applied, so the read finds the units undecided and
    # the mutation is sent again, for them.
    client = make_client()
    shipment_id, unit_ids = _unconfirmed_shipment(client)
    set_faults(mode="http_503", count=1)

    result = client.confirm_units([(u, True) for u in unit_ids], shipment_id=shipment_id)

    assert sorted(u.id for u in result.units) == sorted(unit_ids)
    assert result.reconciled == []
    sent = control.get("/control/mutations").json()["mutations"]
    assert [m["status_code"] for m in sent] == [503, 200]


def test_confirm_is_retried_after_503(make_client: ClientFactory, set_faults: SetFaults) -> None:
    client = make_client()
    shipment_id, [unit_id, *_] = _unconfirmed_shipment(client)
    set_faults(mode="http_503", count=1)

    result = client.confirm_units([(unit_id, True)], shipment_id=shipment_id)

    assert [(u.id, u.state) for u in result.units] == [(unit_id, "confirmed_available")]
    assert result.errors == []


def test_confirm_nothing_sends_nothing(make_client: ClientFactory, control: httpx.Client) -> None:
    result = make_client().confirm_units([], shipment_id="any")

    assert (result.units, result.errors) == ([], [])
    assert control.get("/control/mutations").json()["mutations"] == []


def test_set_tracking_is_sent_and_echoed(make_client: ClientFactory, control: httpx.Client) -> None:
    client = make_client()
    shipment_id = _sandbox_ids(control)[0]

    result = client.set_tracking(shipment_id, "LU123456789", "post_lu")

    assert result.errors == []
    assert result.tracking == Tracking(code="LU123456789", provider="post_lu")
    [logged] = control.get("/control/mutations").json()["mutations"]
    assert logged["variables"] == {
        "input": {"shipmentId": shipment_id, "code": "LU123456789", "provider": "post_lu"}
    }


def test_set_tracking_on_unknown_shipment_reports_the_error(make_client: ClientFactory) -> None:
    result = make_client().set_tracking("no-such-shipment", "LU1", "post_lu")

    assert result.tracking is None
    assert result.errors == [
        UnitError(id="no-such-shipment", code="not_found", message="Shipment not found")
    ]

"""The contract the check compares with: the sandbox serves it, ordergate's texts fit it, and the
client cannot be made to send a mutation through the check's read path."""

from __future__ import annotations

import httpx
import pytest
from graphql import build_schema, print_schema, validate

from ordergate.letzshop.client import LetzshopClient, is_read_only
from ordergate.letzshop.contract import OPERATIONS, compare, contract_schema, operation_document
from ordergate.letzshop.graphql import CONFIRM_UNITS_MUTATION, SHIPMENTS_QUERY
from ordergate.sandbox import schema_sdl


def test_the_sandbox_serves_the_contract() -> None:
    assert print_schema(contract_schema()) == print_schema(build_schema(schema_sdl("standard")))


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_every_text_fits_the_contract(operation) -> None:
    assert validate(contract_schema(), operation_document(operation.text)) == []


def test_the_contract_compared_with_itself_has_no_mismatch() -> None:
    comparison = compare(contract_schema())

    assert comparison.mismatches == []
    assert {s.field for s in comparison.scalars} >= {"Order.total", "Variant.price"}


@pytest.mark.parametrize(
    ("text", "read_only"),
    [
        (SHIPMENTS_QUERY, True),
        ("{ __schema { queryType { name } } }", True),
        (CONFIRM_UNITS_MUTATION, False),
        ("query A { x } mutation B { y }", False),
        ("subscription S { x }", False),
        ("not graphql {", False),
        ("fragment F on T { x }", False),
    ],
)
def test_only_queries_are_read_only(text: str, read_only: bool) -> None:
    assert is_read_only(text) is read_only


def test_read_refuses_a_mutation_before_any_request() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {}})

    client = LetzshopClient(
        "http://letzshop.test/graphql", "key", transport=httpx.MockTransport(handler)
    )
    with pytest.raises(ValueError, match="only query operations"):
        client.read("ConfirmUnits", CONFIRM_UNITS_MUTATION, {})
    assert sent == []

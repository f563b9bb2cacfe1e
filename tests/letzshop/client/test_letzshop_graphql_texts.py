"""The GraphQL texts parse, select every field the parser reads, and fit the sandbox schema."""

from __future__ import annotations

from importlib import resources

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
    visit,
)
from graphql.language import Visitor

from ordergate.letzshop import graphql as gql

DOCUMENTS = {
    gql.SHIPMENTS_OPERATION: gql.SHIPMENTS_QUERY,
    gql.CONFIRM_UNITS_OPERATION: gql.CONFIRM_UNITS_MUTATION,
    gql.SET_TRACKING_OPERATION: gql.SET_TRACKING_MUTATION,
    gql.SHIPMENT_UNITS_OPERATION: gql.SHIPMENT_UNITS_QUERY,
}
# Names the parser reads from responses, grouped by the document that must select them.
READ_BY_PARSER = {
    gql.SHIPMENTS_QUERY: [
        gql.Connection,
        gql.ShipmentFields,
        gql.OrderFields,
        gql.AddressFields,
        gql.CountryFields,
        gql.UnitFields,
        gql.VariantFields,
        gql.TradeIdFields,
        gql.TrackingFields,
    ],
    gql.CONFIRM_UNITS_MUTATION: [gql.PayloadErrorFields],
    gql.SET_TRACKING_MUTATION: [gql.PayloadErrorFields],
    gql.SHIPMENT_UNITS_QUERY: [gql.ShipmentUnitsFields],
}


def _selected_fields(document: DocumentNode) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            names.add(node.name.value)

    visit(document, Collect())
    return names


def _string_constants(namespace: type) -> list[str]:
    return [
        value
        for name, value in vars(namespace).items()
        if name.isupper() and isinstance(value, str) and not name.endswith("_TYPE")
    ]


@pytest.mark.parametrize(("operation", "text"), DOCUMENTS.items())
def test_each_document_is_one_named_operation(operation: str, text: str) -> None:
    definitions = parse(text).definitions

    assert len(definitions) == 1
    definition = definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    assert definition.name is not None
    assert definition.name.value == operation


@pytest.mark.parametrize(("text", "namespaces"), READ_BY_PARSER.items())
def test_every_name_the_parser_reads_is_selected(text: str, namespaces: list[type]) -> None:
    selected = _selected_fields(parse(text))
    expected = {name for namespace in namespaces for name in _string_constants(namespace)}

    assert expected - selected == set()


def test_shipments_query_selects_brand_typename_and_translations() -> None:
    selected = _selected_fields(parse(gql.SHIPMENTS_QUERY))

    assert {gql.ProductFields.NAME, gql.ProductFields.BRAND, gql.BrandFields.TYPENAME} <= selected
    assert set(gql.ProductFields.TRANSLATIONS) <= selected
    assert f"... on {gql.BrandFields.BRAND_TYPE} {{ name }}" in gql.SHIPMENTS_QUERY


@pytest.mark.parametrize("text", DOCUMENTS.values())
def test_documents_are_valid_against_the_sandbox_schema(text: str) -> None:
    sdl = resources.files("ordergate.sandbox").joinpath("schema.graphql").read_text()

    assert validate(build_schema(sdl), parse(text)) == []


def test_variables_use_the_input_names() -> None:
    assert gql.confirm_units_variables([("u1", True), ("u2", False)]) == {
        "input": {
            "inventoryUnits": [
                {"inventoryUnitId": "u1", "isAvailable": True},
                {"inventoryUnitId": "u2", "isAvailable": False},
            ]
        }
    }
    assert gql.set_tracking_variables("s1", "LU1", "post_lu") == {
        "input": {"shipmentId": "s1", "code": "LU1", "provider": "post_lu"}
    }
    assert gql.shipments_variables("unconfirmed", 50, None) == {
        "state": "unconfirmed",
        "first": 50,
        "after": None,
    }

"""The executable GraphQL schema: ``schema.graphql`` bound to resolvers over ``SandboxState``.

Resolvers hand the stored dicts straight to graphql-core, whose default resolver reads dict
keys, so injected oddities reach the client as they are.

Two variants are served (``POST /control/schema``): ``standard`` is ``schema.graphql``;
``drifted`` is the same text with the three differences of ``DRIFTS`` applied, so a contract
check has something exact to find (a renamed input field, a missing enum value, a scalar whose
type changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from ariadne import (
    MutationType,
    ObjectType,
    QueryType,
    ScalarType,
    UnionType,
    make_executable_schema,
)
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema

from ordergate.sandbox.schema_switch import SchemaVariant
from ordergate.sandbox.state import (
    SandboxInputError,
    SandboxState,
    encode_cursor,
    shipment_state,
)

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")

# (what changes, the text in schema.graphql, its replacement in the drifted variant)
DRIFTS: tuple[tuple[str, str, str], ...] = (
    (
        "InventoryUnitConfirmationInput.inventoryUnitId is called id",
        "input InventoryUnitConfirmationInput {\n  inventoryUnitId: ID!\n",
        "input InventoryUnitConfirmationInput {\n  id: ID!\n",
    ),
    (
        "ShipmentStateEnum has no value confirmed",
        "enum ShipmentStateEnum {\n  unconfirmed\n  confirmed\n}",
        "enum ShipmentStateEnum {\n  unconfirmed\n}",
    ),
    (
        "Variant.price is a String",
        "  price: Money\n",
        "  price: String\n",
    ),
)


@dataclass(frozen=True, slots=True)
class SandboxContext:
    """Per request: the state and the vendors the caller's key covers."""

    state: SandboxState
    vendor_ids: tuple[str, ...]


@cache
def sandbox_schema(variant: SchemaVariant = "standard") -> GraphQLSchema:
    return make_executable_schema(schema_sdl(variant), *_bindables())


def schema_sdl(variant: SchemaVariant = "standard") -> str:
    """The SDL the variant serves."""
    sdl = SCHEMA_PATH.read_text(encoding="utf-8")
    if variant == "standard":
        return sdl
    for change, before, after in DRIFTS:
        if sdl.count(before) != 1:
            raise RuntimeError(f"schema.graphql changed: cannot apply drift {change!r}")
        sdl = sdl.replace(before, after)
    return sdl


def _bindables() -> list[Any]:
    query = QueryType()
    mutation = MutationType()
    shipment = ObjectType("Shipment")
    brand = UnionType("BrandUnion")
    money = ScalarType("Money", serializer=_serialize_money)
    date_time = ScalarType("ISO8601DateTime", serializer=_serialize_date_time)

    query.set_field("shipments", resolve_shipments)
    query.set_field("shipment", resolve_shipment)
    mutation.set_field("confirmInventoryUnits", resolve_confirm_inventory_units)
    mutation.set_field("setShipmentTracking", resolve_set_shipment_tracking)
    shipment.set_field("state", resolve_shipment_state)
    brand.set_type_resolver(resolve_brand_type)
    return [query, mutation, shipment, brand, money, date_time]


def _context(info: GraphQLResolveInfo) -> SandboxContext:
    context = info.context
    if not isinstance(context, SandboxContext):
        raise TypeError("sandbox resolvers need a SandboxContext")
    return context


def resolve_shipments(
    _obj: Any,
    info: GraphQLResolveInfo,
    state: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    context = _context(info)
    try:
        page = context.state.page(context.vendor_ids, state=state, first=first, after=after)
    except SandboxInputError as error:
        raise GraphQLError(str(error)) from error
    cursors = [encode_cursor(stored.seq) for stored in page.shipments]
    nodes = [stored.data for stored in page.shipments]
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": page.has_previous_page,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def resolve_shipment(_obj: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    context = _context(info)
    return context.state.shipment(context.vendor_ids, id)


def resolve_shipment_state(obj: Mapping[str, Any], _info: GraphQLResolveInfo) -> str:
    return shipment_state(obj)


def resolve_brand_type(obj: Any, *_: Any) -> str:
    if isinstance(obj, Mapping):
        typename = obj.get("__typename")
        if typename in ("Brand", "BrandUnknown"):
            return str(typename)
        return "Brand" if obj.get("name") else "BrandUnknown"
    return "BrandUnknown"


def resolve_confirm_inventory_units(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    context = _context(info)
    # The drifted variant calls the unit id ``id``.
    decisions = [
        (item.get("inventoryUnitId", item.get("id")), item["isAvailable"])
        for item in input["inventoryUnits"]
    ]
    outcome = context.state.confirm_units(context.vendor_ids, decisions)
    return {"inventoryUnits": outcome.changed, "errors": outcome.errors}


def resolve_set_shipment_tracking(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    context = _context(info)
    outcome = context.state.set_tracking(
        context.vendor_ids, input["shipmentId"], input["code"], input.get("provider")
    )
    return {"shipment": outcome.changed[0] if outcome.changed else None, "errors": outcome.errors}


def _serialize_money(value: Any) -> Any:
    # Pass numbers and strings through unchanged: clients must cope with both.
    return str(value) if isinstance(value, Decimal) else value


def _serialize_date_time(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value

"""Turn Letzshop GraphQL JSON into the typed objects of ``ordergate.letzshop.types``.

Each shipment node is parsed on its own: a malformed node becomes a ``ShipmentParseFailure`` in
the page and the rest of the page still imports. Field names come from ``graphql.py`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ordergate.letzshop.errors import LetzshopProtocolError
from ordergate.letzshop.graphql import (
    AddressFields,
    BrandFields,
    ConfirmFields,
    Connection,
    CountryFields,
    Envelope,
    OrderFields,
    PayloadErrorFields,
    ProductFields,
    ShipmentFields,
    TrackingFields,
    TrackingMutationFields,
    TradeIdFields,
    UnitFields,
    VariantFields,
)
from ordergate.letzshop.types import (
    Address,
    ConfirmResult,
    InventoryUnit,
    LetzshopOrder,
    Shipment,
    ShipmentPage,
    ShipmentParseFailure,
    Tracking,
    TrackingResult,
    UnitError,
    UnitResult,
    Variant,
)

_CENTS_PER_EURO = Decimal(100)
_WHOLE = Decimal(1)


class ParseError(ValueError):
    """One field of one node is unusable; ``str(error)`` says which and why."""


@dataclass(frozen=True, slots=True)
class GraphQLErrorItem:
    """One entry of a response's top-level ``errors`` list."""

    message: str
    path: tuple[str | int, ...]
    code: str | None


# --- scalars -----------------------------------------------------------------------------------


def to_cents(value: object) -> int | None:
    """Euro amount (number or decimal string) to integer cents, rounded half-up.

    Floats go through ``str`` so 10.005 is read as written, not as its binary approximation.
    """
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int subclass; True is not a price
        raise ParseError(f"not an amount: {value!r}")
    if isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ParseError(f"not an amount: {value!r}")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ParseError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ParseError(f"not an amount: {value!r}")
    return int((amount * _CENTS_PER_EURO).quantize(_WHOLE, rounding=ROUND_HALF_UP))


def to_utc_datetime(value: object) -> datetime | None:
    """ISO-8601 text to an aware UTC datetime; a value without offset is taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(f"not a timestamp: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ParseError(f"not a timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _text(value: object, where: str) -> str | None:
    # GraphQL ID and String arrive as strings; a number is accepted but kept as its text.
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ParseError(f"{where}: expected text, got {type(value).__name__}")


def _required_id(value: object, where: str) -> str:
    text = _text(value, where)
    if not text:
        raise ParseError(f"{where}: missing")
    return text


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        found = "null" if value is None else type(value).__name__
        raise ParseError(f"{where}: expected an object, got {found}")
    return value


def _optional_object(value: object, where: str) -> dict[str, Any] | None:
    return None if value is None else _object(value, where)


# --- shipment nodes ----------------------------------------------------------------------------


def _address(value: object, where: str) -> Address | None:
    raw = _optional_object(value, where)
    if raw is None:
        return None
    country = _optional_object(raw.get(AddressFields.COUNTRY), f"{where}.country") or {}
    return Address(
        first_name=_text(raw.get(AddressFields.FIRST_NAME), f"{where}.firstName"),
        last_name=_text(raw.get(AddressFields.LAST_NAME), f"{where}.lastName"),
        company=_text(raw.get(AddressFields.COMPANY), f"{where}.company"),
        street_name=_text(raw.get(AddressFields.STREET_NAME), f"{where}.streetName"),
        street_number=_text(raw.get(AddressFields.STREET_NUMBER), f"{where}.streetNumber"),
        city=_text(raw.get(AddressFields.CITY), f"{where}.city"),
        zip_code=_text(raw.get(AddressFields.ZIP_CODE), f"{where}.zipCode"),
        phone=_text(raw.get(AddressFields.PHONE), f"{where}.phone"),
        country_name=_text(country.get(CountryFields.NAME), f"{where}.country.name"),
        country_iso=_text(country.get(CountryFields.ISO), f"{where}.country.iso"),
    )


def _order(value: object) -> LetzshopOrder:
    raw = _object(value, "order")
    try:
        total_cents = to_cents(raw.get(OrderFields.TOTAL))
        completed_at = to_utc_datetime(raw.get(OrderFields.COMPLETED_AT))
    except ParseError as exc:
        raise ParseError(f"order: {exc}") from None
    return LetzshopOrder(
        id=_required_id(raw.get(OrderFields.ID), "order.id"),
        number=_text(raw.get(OrderFields.NUMBER), "order.number"),
        email=_text(raw.get(OrderFields.EMAIL), "order.email"),
        total_cents=total_cents,
        completed_at=completed_at,
        locale=_text(raw.get(OrderFields.LOCALE), "order.locale"),
        ship_address=_address(raw.get(OrderFields.SHIP_ADDRESS), "order.shipAddress"),
        bill_address=_address(raw.get(OrderFields.BILL_ADDRESS), "order.billAddress"),
    )


def _product_names(product: dict[str, Any], where: str) -> dict[str, str | None]:
    names = _optional_object(product.get(ProductFields.NAME), f"{where}.name") or {}
    return {
        lang: _text(names.get(lang), f"{where}.name.{lang}") for lang in ProductFields.TRANSLATIONS
    }


def _brand_name(value: object, where: str) -> str | None:
    brand = _optional_object(value, where)
    if brand is None:
        return None
    typename = brand.get(BrandFields.TYPENAME)
    # Without __typename (a server that ignores it) the presence of ``name`` is the only hint.
    if typename == BrandFields.BRAND_TYPE or typename is None:
        return _text(brand.get(BrandFields.NAME), f"{where}.name")
    return None  # BrandUnknown, or a union member this client does not know yet


def _variant(value: object, where: str) -> Variant:
    raw = _object(value, where)
    trade_id = _optional_object(raw.get(VariantFields.TRADE_ID), f"{where}.tradeId") or {}
    product = _optional_object(raw.get(VariantFields.PRODUCT), f"{where}.product") or {}
    try:
        price_cents = to_cents(raw.get(VariantFields.PRICE))
    except ParseError as exc:
        raise ParseError(f"{where}.price: {exc}") from None
    return Variant(
        id=_required_id(raw.get(VariantFields.ID), f"{where}.id"),
        sku=_text(raw.get(VariantFields.SKU), f"{where}.sku"),
        mpn=_text(raw.get(VariantFields.MPN), f"{where}.mpn"),
        price_cents=price_cents,
        trade_id_number=_text(trade_id.get(TradeIdFields.NUMBER), f"{where}.tradeId.number"),
        trade_id_parser=_text(trade_id.get(TradeIdFields.PARSER), f"{where}.tradeId.parser"),
        product_names=_product_names(product, f"{where}.product"),
        brand_name=_brand_name(product.get(ProductFields.BRAND), f"{where}.product._brand"),
    )


def _unit(value: object, where: str) -> InventoryUnit:
    raw = _object(value, where)
    state = _text(raw.get(UnitFields.STATE), f"{where}.state")
    if not state:
        raise ParseError(f"{where}.state: missing")
    return InventoryUnit(
        id=_required_id(raw.get(UnitFields.ID), f"{where}.id"),
        state=state,
        variant=_variant(raw.get(UnitFields.VARIANT), f"{where}.variant"),
    )


def _units(value: object) -> list[InventoryUnit]:
    if not isinstance(value, list):
        raise ParseError("inventoryUnits: expected a list")
    return [_unit(unit, f"inventoryUnits[{index}]") for index, unit in enumerate(value)]


def _tracking(value: object) -> Tracking | None:
    raw = _optional_object(value, "tracking")
    if raw is None:
        return None
    code = _text(raw.get(TrackingFields.CODE), "tracking.code")
    provider = _text(raw.get(TrackingFields.PROVIDER), "tracking.provider")
    # An empty tracking object means "none yet"; callers only need to test for None.
    if code is None and provider is None:
        return None
    return Tracking(code=code, provider=provider)


def _shipment(raw: dict[str, Any]) -> Shipment:
    shipment_id = _required_id(raw.get(ShipmentFields.ID), "id")
    state = _text(raw.get(ShipmentFields.STATE), "state")
    if not state:
        raise ParseError("state: missing")
    return Shipment(
        id=shipment_id,
        number=_text(raw.get(ShipmentFields.NUMBER), "number"),
        state=state,
        order=_order(raw.get(ShipmentFields.ORDER)),
        inventory_units=_units(raw.get(ShipmentFields.INVENTORY_UNITS)),
        tracking=_tracking(raw.get(ShipmentFields.TRACKING)),
        raw=raw,
    )


def parse_shipment(node: object, *, errors: Sequence[str] = ()) -> Shipment | ShipmentParseFailure:
    """Parse one ``shipments.nodes`` entry; ``errors`` are GraphQL messages aimed at this node."""
    external_id = _node_id(node)
    try:
        return _shipment(_object(node, "node"))
    except ParseError as exc:
        reason = str(exc)
        if errors:
            reason = f"{reason} (GraphQL: {'; '.join(errors)})"
        return ShipmentParseFailure(external_id=external_id, reason=reason, raw=node)


def _node_id(node: object) -> str | None:
    if not isinstance(node, dict):
        return None
    try:
        return _text(node.get(ShipmentFields.ID), "id") or None
    except ParseError:
        return None


# --- pages and payloads ------------------------------------------------------------------------


def parse_graphql_errors(value: object) -> list[GraphQLErrorItem]:
    """The top-level ``errors`` list; an entry without a message still counts, as ``"?"``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise LetzshopProtocolError("'errors' is not a list")
    return [_graphql_error(entry) for entry in value]


def _graphql_error(entry: object) -> GraphQLErrorItem:
    if not isinstance(entry, dict):
        return GraphQLErrorItem(message=str(entry), path=(), code=None)
    path = entry.get(Envelope.PATH)
    extensions = entry.get(Envelope.EXTENSIONS)
    code = extensions.get(Envelope.CODE) if isinstance(extensions, dict) else None
    return GraphQLErrorItem(
        message=str(entry.get(Envelope.MESSAGE) or "?"),
        path=tuple(path) if isinstance(path, list) else (),
        code=code if isinstance(code, str) else None,
    )


def _errors_by_node(errors: Sequence[GraphQLErrorItem]) -> dict[int, list[str]]:
    # Partial-data errors point at their node through a path like
    # ["shipments", "nodes", 3, "order"]: use that to explain the node's parse failure.
    prefix = (Connection.ROOT, Connection.NODES)
    by_node: dict[int, list[str]] = {}
    for error in errors:
        if error.path[:2] == prefix and len(error.path) > 2 and isinstance(error.path[2], int):
            by_node.setdefault(error.path[2], []).append(error.message)
    return by_node


def parse_shipment_page(
    connection: object, *, errors: Sequence[GraphQLErrorItem] = ()
) -> ShipmentPage:
    """Parse ``data.shipments``; raise ``LetzshopProtocolError`` if the page cannot be walked."""
    if not isinstance(connection, dict):
        raise LetzshopProtocolError("'shipments' is not an object")
    nodes = connection.get(Connection.NODES)
    page_info = connection.get(Connection.PAGE_INFO)
    if not isinstance(nodes, list):
        raise LetzshopProtocolError("'shipments.nodes' is not a list")
    if not isinstance(page_info, dict):
        raise LetzshopProtocolError("'shipments.pageInfo' is not an object")
    has_next_page = page_info.get(Connection.HAS_NEXT_PAGE)
    end_cursor = page_info.get(Connection.END_CURSOR)
    if not isinstance(has_next_page, bool):
        raise LetzshopProtocolError("'pageInfo.hasNextPage' is not a boolean")
    if end_cursor is not None and not isinstance(end_cursor, str):
        raise LetzshopProtocolError("'pageInfo.endCursor' is not a string")

    node_errors = _errors_by_node(errors)
    shipments: list[Shipment] = []
    failures: list[ShipmentParseFailure] = []
    for index, node in enumerate(nodes):
        parsed = parse_shipment(node, errors=node_errors.get(index, ()))
        if isinstance(parsed, Shipment):
            shipments.append(parsed)
        else:
            failures.append(parsed)
    return ShipmentPage(
        shipments=shipments,
        failures=failures,
        has_next_page=has_next_page,
        end_cursor=end_cursor,
        graphql_errors=[error.message for error in errors],
    )


def parse_confirm_payload(payload: object) -> ConfirmResult:
    """Parse ``data.confirmInventoryUnits``: accepted units plus per-unit errors."""
    if not isinstance(payload, dict):
        raise LetzshopProtocolError(f"'{ConfirmFields.ROOT}' is not an object")
    units_raw = payload.get(ConfirmFields.UNITS) or []
    if not isinstance(units_raw, list):
        raise LetzshopProtocolError(f"'{ConfirmFields.ROOT}.{ConfirmFields.UNITS}' is not a list")
    try:
        units = [_unit_result(unit) for unit in units_raw]
    except ParseError as exc:
        raise LetzshopProtocolError(f"'{ConfirmFields.ROOT}': {exc}") from None
    return ConfirmResult(units=units, errors=parse_payload_errors(payload, ConfirmFields.ROOT))


def _unit_result(value: object) -> UnitResult:
    raw = _object(value, "unit")
    state = _text(raw.get(ConfirmFields.UNIT_STATE), "unit.state")
    if not state:
        raise ParseError("unit.state: missing")
    return UnitResult(id=_required_id(raw.get(ConfirmFields.UNIT_ID), "unit.id"), state=state)


def parse_payload_errors(payload: dict[str, Any], root: str) -> list[UnitError]:
    """A mutation payload's own ``errors`` list (per item, unlike top-level GraphQL errors)."""
    raw_errors = payload.get(PayloadErrorFields.ERRORS) or []
    if not isinstance(raw_errors, list):
        raise LetzshopProtocolError(f"'{root}.{PayloadErrorFields.ERRORS}' is not a list")
    return [_unit_error(entry) for entry in raw_errors]


def _unit_error(value: object) -> UnitError:
    if not isinstance(value, dict):
        return UnitError(id=None, code=None, message=str(value))
    try:
        return UnitError(
            id=_text(value.get(PayloadErrorFields.ID), "error.id"),
            code=_text(value.get(PayloadErrorFields.CODE), "error.code"),
            message=_text(value.get(PayloadErrorFields.MESSAGE), "error.message") or "?",
        )
    except ParseError as exc:
        raise LetzshopProtocolError(f"payload error entry: {exc}") from None


def parse_tracking_payload(payload: object) -> TrackingResult:
    """Parse ``data.setShipmentTracking``; the echoed tracking is informative only."""
    root = TrackingMutationFields.ROOT
    if not isinstance(payload, dict):
        raise LetzshopProtocolError(f"'{root}' is not an object")
    shipment = payload.get(TrackingMutationFields.SHIPMENT)
    echoed = shipment.get(ShipmentFields.TRACKING) if isinstance(shipment, dict) else None
    try:
        tracking = _tracking(echoed)
    except ParseError as exc:
        raise LetzshopProtocolError(f"'{root}': {exc}") from None
    return TrackingResult(tracking=tracking, errors=parse_payload_errors(payload, root))

"""Turn Letzshop GraphQL JSON into the typed objects of ``ordergate.letzshop.types``.

Each shipment node is parsed on its own: a malformed node becomes a ``ShipmentParseFailure`` in
the page and the rest of the page still imports. Field names come from ``graphql.py`` only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson

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
from ordergate.letzshop.models import SyncRun
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
from ordergate.orders.intake import LIMITS, max_length

# Characters no database here stores in text or JSON: NUL (PostgreSQL) and lone surrogates
# (not Unicode, so not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Decimal text as Letzshop writes an amount; Decimal() alone would also take "NaN", "1_0", "٣".
_AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_MAX_AMOUNT_TEXT = 100
MAX_CENTS = LIMITS.cents
_MAX_EUROS = Decimal(MAX_CENTS).scaleb(-2)
_CENT = Decimal("0.01")
# What the JSON columns (raw_payload) take: orjson writes 64-bit integers and 254 nested levels.
_JSON_INT_BITS = 63
_MAX_DEPTH = 254
_MAX_SHOWN = 40
_MAX_CURSOR = max_length(SyncRun.last_cursor)
# Part of every shipment digest: change it when the import starts reading a node differently,
# so orders stored under the old reading are compared in full once more.
_DIGEST_VERSION = b"letzshop-shipment-1\n"


class ParseError(ValueError):
    """One field of one node is unusable; ``str(error)`` says which and why."""


@dataclass(frozen=True, slots=True)
class GraphQLErrorItem:
    """One entry of a response's top-level ``errors`` list."""

    message: str
    path: tuple[str | int, ...]
    code: str | None
    # (line, column) pairs in the request's query text, as the service gave them.
    locations: tuple[tuple[int, int], ...] = ()


# --- scalars -----------------------------------------------------------------------------------


def to_cents(value: object) -> int | None:
    """Euro amount (number or decimal text) to integer cents, rounded half-up.

    Negative amounts and amounts beyond what the cents columns store (``MAX_CENTS``) are refused
    like any non-amount, always with ``ParseError``. Floats go through ``str`` so 10.005 is read
    as written, not as its binary approximation.
    """
    if value is None:
        return None
    amount = _decimal(value)
    if amount < 0:
        raise ParseError(f"{_shown(value)} is negative")
    if amount > _MAX_EUROS:
        raise ParseError(f"{_shown(value)} is beyond {_MAX_EUROS:,}")
    # Bounded above, so the quantized amount has at most 11 digits: exact, never an overflow.
    return int(amount.quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(2))


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ParseError(f"not an amount: {_shown(value)}")
    if isinstance(value, int):
        return Decimal(value)
    text = str(value).strip()
    if len(text) <= _MAX_AMOUNT_TEXT and _AMOUNT.fullmatch(text):
        try:
            return Decimal(text)
        except InvalidOperation:  # an exponent beyond what Decimal represents (about 10^18)
            pass
    raise ParseError(f"not an amount: {_shown(value)}")


def to_utc_datetime(value: object) -> datetime | None:
    """ISO-8601 text to an aware UTC datetime; a value without offset is taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(f"not a timestamp: {_shown(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset pushing year 9999 past UTC
        raise ParseError(f"not a timestamp: {_shown(value)}") from None


def _shown(value: object) -> str:
    """A value as a reason quotes it: short JSON, every unusual character escaped."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= _MAX_SHOWN else f"{text[: _MAX_SHOWN - 3]}..."


def _message(value: object) -> str:
    """An error message from Letzshop, kept for people to read (in a run's failures and errors):
    never refused, but escaped where it holds what the database cannot store."""
    if not value:
        return "?"
    text = value if isinstance(value, str) else _shown(value)
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _amount(value: object, where: str) -> int | None:
    try:
        return to_cents(value)
    except ParseError as exc:
        raise ParseError(f"{where}: {exc}") from None


def _timestamp(value: object, where: str) -> datetime | None:
    try:
        return to_utc_datetime(value)
    except ParseError as exc:
        raise ParseError(f"{where}: {exc}") from None


def _storable(text: str, where: str) -> None:
    # Hot (every text of every shipment): plain ASCII needs only the NUL test.
    if "\x00" in text or (not text.isascii() and _UNSTORABLE.search(text)):
        what = "a NUL character" if "\x00" in text else "a lone surrogate"
        raise ParseError(f"{where}: contains {what}, which cannot be stored")


def _text(value: object, where: str, max_length: int | None) -> str | None:
    """Text as it will be stored: at most ``max_length`` characters (None: the value is kept in
    JSON only) and storable. GraphQL IDs may arrive as numbers: an integer is kept as its text.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _JSON_INT_BITS:
            raise ParseError(f"{where}: expected text, got an integer beyond 64 bits")
        value = str(value)
    if not isinstance(value, str):
        raise ParseError(f"{where}: expected text, got {type(value).__name__}")
    _storable(value, where)
    if max_length is not None and len(value) > max_length:
        raise ParseError(f"{where}: {len(value):,} characters, longer than {max_length}")
    return value


def _storable_json(value: object, where: str, depth: int = 0) -> None:
    """Every key, text and number of a node the import keeps whole, as ``raw_payload``."""
    if depth >= _MAX_DEPTH and isinstance(value, dict | list):
        raise ParseError(f"{where}: nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, str):
        _storable(value, where)
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _JSON_INT_BITS:
            raise ParseError(f"{where}: an integer beyond 64 bits")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or _UNSTORABLE.search(key):
                raise ParseError(f"{where or 'node'}: a key that cannot be stored: {_shown(key)}")
            _storable_json(item, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable_json(item, f"{where}[{index}]", depth + 1)
    elif not (value is None or isinstance(value, bool | float)):
        raise ParseError(f"{where}: not JSON ({type(value).__name__})")


def _required_text(value: object, where: str, max_length: int | None) -> str:
    text = _text(value, where, max_length)
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
# Each text names the limit of the column it ends up in (``LIMITS``); None where it is kept only
# in the JSON of the order (addresses, brand, MPN).


def _address(value: object, where: str) -> Address | None:
    raw = _optional_object(value, where)
    if raw is None:
        return None
    country = _optional_object(raw.get(AddressFields.COUNTRY), f"{where}.country") or {}
    # The customer's name is made of the two names (cut to its column if both are long).
    name = LIMITS.customer_name
    return Address(
        first_name=_text(raw.get(AddressFields.FIRST_NAME), f"{where}.firstName", name),
        last_name=_text(raw.get(AddressFields.LAST_NAME), f"{where}.lastName", name),
        company=_text(raw.get(AddressFields.COMPANY), f"{where}.company", None),
        street_name=_text(raw.get(AddressFields.STREET_NAME), f"{where}.streetName", None),
        street_number=_text(raw.get(AddressFields.STREET_NUMBER), f"{where}.streetNumber", None),
        city=_text(raw.get(AddressFields.CITY), f"{where}.city", None),
        zip_code=_text(raw.get(AddressFields.ZIP_CODE), f"{where}.zipCode", None),
        phone=_text(raw.get(AddressFields.PHONE), f"{where}.phone", None),
        country_name=_text(country.get(CountryFields.NAME), f"{where}.country.name", None),
        country_iso=_text(country.get(CountryFields.ISO), f"{where}.country.iso", None),
    )


def _order(value: object) -> LetzshopOrder:
    raw = _object(value, "order")
    return LetzshopOrder(
        id=_required_text(raw.get(OrderFields.ID), "order.id", LIMITS.order_id),
        number=_text(raw.get(OrderFields.NUMBER), "order.number", LIMITS.order_number),
        email=_text(raw.get(OrderFields.EMAIL), "order.email", LIMITS.customer_email),
        total_cents=_amount(raw.get(OrderFields.TOTAL), "order.total"),
        completed_at=_timestamp(raw.get(OrderFields.COMPLETED_AT), "order.completedAt"),
        locale=_text(raw.get(OrderFields.LOCALE), "order.locale", LIMITS.customer_locale),
        ship_address=_address(raw.get(OrderFields.SHIP_ADDRESS), "order.shipAddress"),
        bill_address=_address(raw.get(OrderFields.BILL_ADDRESS), "order.billAddress"),
    )


def _product_names(product: dict[str, Any], where: str) -> dict[str, str | None]:
    names = _optional_object(product.get(ProductFields.NAME), f"{where}.name") or {}
    return {
        lang: _text(names.get(lang), f"{where}.name.{lang}", LIMITS.product_name)
        for lang in ProductFields.TRANSLATIONS
    }


def _brand_name(value: object, where: str) -> str | None:
    brand = _optional_object(value, where)
    if brand is None:
        return None
    typename = brand.get(BrandFields.TYPENAME)
    # Without __typename (a server that ignores it) the presence of ``name`` is the only hint.
    if typename == BrandFields.BRAND_TYPE or typename is None:
        return _text(brand.get(BrandFields.NAME), f"{where}.name", None)
    return None  # BrandUnknown, or a union member this client does not know yet


def _variant(value: object, where: str) -> Variant:
    raw = _object(value, where)
    trade_id = _optional_object(raw.get(VariantFields.TRADE_ID), f"{where}.tradeId") or {}
    product = _optional_object(raw.get(VariantFields.PRODUCT), f"{where}.product") or {}
    return Variant(
        id=_required_text(raw.get(VariantFields.ID), f"{where}.id", LIMITS.item_id),
        sku=_text(raw.get(VariantFields.SKU), f"{where}.sku", LIMITS.sku),
        mpn=_text(raw.get(VariantFields.MPN), f"{where}.mpn", None),
        price_cents=_amount(raw.get(VariantFields.PRICE), f"{where}.price"),
        trade_id_number=_text(
            trade_id.get(TradeIdFields.NUMBER), f"{where}.tradeId.number", LIMITS.gtin
        ),
        trade_id_parser=_text(
            trade_id.get(TradeIdFields.PARSER), f"{where}.tradeId.parser", LIMITS.gtin_type
        ),
        product_names=_product_names(product, f"{where}.product"),
        brand_name=_brand_name(product.get(ProductFields.BRAND), f"{where}.product._brand"),
    )


# Variants parsed so far on the page, by their node's JSON: a variant reads the same in every
# unit and shipment, so a node serialising to the same bytes takes the parsed one. Bytes, not
# dict equality, which holds True == 1 and would let a malformed node borrow a good one.
_Variants = dict[bytes, Variant]


def _seen_variant(value: object, where: str, variants: _Variants) -> Variant:
    try:
        key = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _variant(value, where)  # which names what is wrong with it
    variant = variants.get(key)
    if variant is None:
        variant = variants[key] = _variant(value, where)
    return variant


def _unit(value: object, where: str, variants: _Variants) -> InventoryUnit:
    raw = _object(value, where)
    return InventoryUnit(
        id=_required_text(raw.get(UnitFields.ID), f"{where}.id", LIMITS.unit_id),
        state=_required_text(raw.get(UnitFields.STATE), f"{where}.state", LIMITS.unit_state),
        variant=_seen_variant(raw.get(UnitFields.VARIANT), f"{where}.variant", variants),
    )


def _units(value: object, variants: _Variants) -> list[InventoryUnit]:
    if not isinstance(value, list):
        raise ParseError("inventoryUnits: expected a list")
    return [_unit(unit, f"inventoryUnits[{index}]", variants) for index, unit in enumerate(value)]


def _tracking(value: object) -> Tracking | None:
    raw = _optional_object(value, "tracking")
    if raw is None:
        return None
    code = _text(raw.get(TrackingFields.CODE), "tracking.code", LIMITS.tracking_code)
    provider = _text(
        raw.get(TrackingFields.PROVIDER), "tracking.provider", LIMITS.tracking_provider
    )
    # An empty tracking object means "none yet"; callers only need to test for None.
    if code is None and provider is None:
        return None
    return Tracking(code=code, provider=provider)


def _shipment(raw: dict[str, Any], variants: _Variants) -> Shipment:
    # Keyword arguments are evaluated in order: the fields' checks name a bad field before the
    # whole node's check, which runs last.
    return Shipment(
        id=_required_text(raw.get(ShipmentFields.ID), "id", LIMITS.shipment_id),
        # Stands in for the order number when the order has none.
        number=_text(raw.get(ShipmentFields.NUMBER), "number", LIMITS.order_number),
        state=_required_text(raw.get(ShipmentFields.STATE), "state", None),
        order=_order(raw.get(ShipmentFields.ORDER)),
        inventory_units=_units(raw.get(ShipmentFields.INVENTORY_UNITS), variants),
        tracking=_tracking(raw.get(ShipmentFields.TRACKING)),
        raw=raw,
        digest=_storable_node(raw),
    )


def _storable_node(raw: dict[str, Any]) -> str | None:
    """The node is stored whole (``raw_payload``), so what the fields do not read must be
    storable too. The JSON columns' serializer (orjson) decides quickly; only a node it refuses,
    or writes with a NUL, is walked to name the field (and a false alarm passes the walk).
    Returns the digest of the serialised node (``Shipment.digest``)."""
    try:
        serialised = orjson.dumps(raw)
    except orjson.JSONEncodeError:
        _storable_json(raw, "")
        return None
    if b"\\u0000" in serialised:
        _storable_json(raw, "")
    return hashlib.blake2b(_DIGEST_VERSION + serialised, digest_size=16).hexdigest()


def parse_shipment(
    node: object, *, errors: Sequence[str] = (), variants: _Variants | None = None
) -> Shipment | ShipmentParseFailure:
    """Parse one ``shipments.nodes`` entry; ``errors`` are GraphQL messages aimed at this node;
    ``variants``: the variants parsed so far on its page (``parse_shipment_page`` keeps it).

    Never raises: whatever is wrong with the node (a type, a range, a length, a character no
    database stores) becomes a failure whose reason starts with the field's path.
    """
    external_id = _node_id(node)
    try:
        return _shipment(_object(node, "node"), {} if variants is None else variants)
    except ParseError as exc:
        reason = str(exc)
        if errors:
            reason = f"{reason} (GraphQL: {'; '.join(errors)})"
        return ShipmentParseFailure(external_id=external_id, reason=reason, raw=node)


def _node_id(node: object) -> str | None:
    # The failure's id is stored with the run: only an id that could be stored is kept.
    if not isinstance(node, dict):
        return None
    try:
        return _text(node.get(ShipmentFields.ID), "id", LIMITS.shipment_id) or None
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
        return GraphQLErrorItem(message=_message(entry), path=(), code=None)
    path = entry.get(Envelope.PATH)
    extensions = entry.get(Envelope.EXTENSIONS)
    code = extensions.get(Envelope.CODE) if isinstance(extensions, dict) else None
    return GraphQLErrorItem(
        message=_message(entry.get(Envelope.MESSAGE)),
        path=tuple(path) if isinstance(path, list) else (),
        code=code if isinstance(code, str) else None,
        locations=_locations(entry.get(Envelope.LOCATIONS)),
    )


def _locations(value: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list):
        return ()
    found = []
    for item in value:
        line = item.get("line") if isinstance(item, dict) else None
        column = item.get("column") if isinstance(item, dict) else None
        if isinstance(line, int) and isinstance(column, int):
            found.append((line, column))
    return tuple(found)


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
    try:
        # Kept with the run so a later run can resume from it: the same rules as stored text.
        _text(end_cursor, "'pageInfo.endCursor'", _MAX_CURSOR)
    except ParseError as exc:
        raise LetzshopProtocolError(str(exc)) from None

    node_errors = _errors_by_node(errors)
    shipments: list[Shipment] = []
    failures: list[ShipmentParseFailure] = []
    variants: _Variants = {}
    for index, node in enumerate(nodes):
        parsed = parse_shipment(node, errors=node_errors.get(index, ()), variants=variants)
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
    return UnitResult(
        id=_required_text(raw.get(ConfirmFields.UNIT_ID), "unit.id", LIMITS.unit_id),
        state=_required_text(raw.get(ConfirmFields.UNIT_STATE), "unit.state", LIMITS.unit_state),
    )


def parse_payload_errors(payload: dict[str, Any], root: str) -> list[UnitError]:
    """A mutation payload's own ``errors`` list (per item, unlike top-level GraphQL errors)."""
    raw_errors = payload.get(PayloadErrorFields.ERRORS) or []
    if not isinstance(raw_errors, list):
        raise LetzshopProtocolError(f"'{root}.{PayloadErrorFields.ERRORS}' is not a list")
    return [_unit_error(entry) for entry in raw_errors]


def _unit_error(value: object) -> UnitError:
    if not isinstance(value, dict):
        return UnitError(id=None, code=None, message=_message(value))
    try:
        return UnitError(
            id=_text(value.get(PayloadErrorFields.ID), "error.id", None),
            code=_text(value.get(PayloadErrorFields.CODE), "error.code", None),
            message=_message(value.get(PayloadErrorFields.MESSAGE)),
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

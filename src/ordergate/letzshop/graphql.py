"""Every GraphQL text and field name ordergate uses against Letzshop, in one module.

Letzshop publishes no schema, so several names below are inferred (see
``docs/letzshop-api.md``). Keeping them here means the first introspection run against the real
service is corrected by editing this file only: ``parse.py`` and ``client.py`` read fields through
the constants below, never through string literals.

The Shipments query is the documented one, plus ``__typename`` on ``_brand`` so the parser can
tell ``Brand`` from ``BrandUnknown`` without guessing from missing keys.
"""

from __future__ import annotations

from typing import Final

SHIPMENTS_OPERATION: Final = "Shipments"
SHIPMENTS_QUERY: Final = """\
query Shipments($state: ShipmentStateEnum, $first: Int, $after: String) {
  shipments(state: $state, first: $first, after: $after) {
    nodes {
      id number state
      order {
        id number email total completedAt locale
        shipAddress { firstName lastName company streetName streetNumber city zipCode phone country { name iso } }
        billAddress { firstName lastName company streetName streetNumber city zipCode phone country { name iso } }
      }
      inventoryUnits {
        id state
        variant {
          id sku mpn price
          tradeId { number parser }
          product { name { en fr de } _brand { __typename ... on Brand { name } } }
        }
      }
      tracking { code provider }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""  # noqa: E501 - kept line for line as in the API document, so the two compare by eye

CONFIRM_UNITS_OPERATION: Final = "ConfirmUnits"
CONFIRM_UNITS_MUTATION: Final = """\
mutation ConfirmUnits($input: ConfirmInventoryUnitsInput!) {
  confirmInventoryUnits(input: $input) {
    inventoryUnits { id state }
    errors { id code message }
  }
}
"""

# Read before any resend of a confirm whose answer was lost. A single-shipment field is not in the
# API document (only the ``shipments`` connection is known); ``shipment(id:)`` follows the
# graphql-ruby convention and is the first name to check by introspection.
SHIPMENT_UNITS_OPERATION: Final = "ShipmentUnits"
SHIPMENT_UNITS_QUERY: Final = """\
query ShipmentUnits($id: ID!) {
  shipment(id: $id) {
    id
    inventoryUnits { id state }
  }
}
"""

# The tracking mutation's name and shape are unknown (docs: "a plausible mutation"); the payload
# mirrors confirmInventoryUnits so both answers are read the same way.
SET_TRACKING_OPERATION: Final = "SetShipmentTracking"
SET_TRACKING_MUTATION: Final = """\
mutation SetShipmentTracking($input: SetShipmentTrackingInput!) {
  setShipmentTracking(input: $input) {
    shipment { id tracking { code provider } }
    errors { id code message }
  }
}
"""


class Envelope:
    """The GraphQL-over-HTTP request and response envelope."""

    QUERY: Final = "query"
    VARIABLES: Final = "variables"
    OPERATION_NAME: Final = "operationName"
    DATA: Final = "data"
    ERRORS: Final = "errors"
    MESSAGE: Final = "message"
    PATH: Final = "path"
    LOCATIONS: Final = "locations"
    EXTENSIONS: Final = "extensions"
    CODE: Final = "code"


class ShipmentsVars:
    STATE: Final = "state"
    FIRST: Final = "first"
    AFTER: Final = "after"


class Connection:
    ROOT: Final = "shipments"
    NODES: Final = "nodes"
    PAGE_INFO: Final = "pageInfo"
    HAS_NEXT_PAGE: Final = "hasNextPage"
    END_CURSOR: Final = "endCursor"


class ShipmentFields:
    ID: Final = "id"
    NUMBER: Final = "number"
    STATE: Final = "state"
    ORDER: Final = "order"
    INVENTORY_UNITS: Final = "inventoryUnits"
    TRACKING: Final = "tracking"


class OrderFields:
    ID: Final = "id"
    NUMBER: Final = "number"
    EMAIL: Final = "email"
    TOTAL: Final = "total"
    COMPLETED_AT: Final = "completedAt"
    LOCALE: Final = "locale"
    SHIP_ADDRESS: Final = "shipAddress"
    BILL_ADDRESS: Final = "billAddress"


class AddressFields:
    FIRST_NAME: Final = "firstName"
    LAST_NAME: Final = "lastName"
    COMPANY: Final = "company"
    STREET_NAME: Final = "streetName"
    STREET_NUMBER: Final = "streetNumber"
    CITY: Final = "city"
    ZIP_CODE: Final = "zipCode"
    PHONE: Final = "phone"
    COUNTRY: Final = "country"


class CountryFields:
    NAME: Final = "name"
    ISO: Final = "iso"


class UnitFields:
    ID: Final = "id"
    STATE: Final = "state"
    VARIANT: Final = "variant"


class VariantFields:
    ID: Final = "id"
    SKU: Final = "sku"
    MPN: Final = "mpn"
    PRICE: Final = "price"
    TRADE_ID: Final = "tradeId"
    PRODUCT: Final = "product"


class TradeIdFields:
    NUMBER: Final = "number"
    PARSER: Final = "parser"


class ProductFields:
    NAME: Final = "name"
    BRAND: Final = "_brand"
    TRANSLATIONS: Final = ("en", "fr", "de")


class BrandFields:
    TYPENAME: Final = "__typename"
    NAME: Final = "name"
    BRAND_TYPE: Final = "Brand"
    UNKNOWN_TYPE: Final = "BrandUnknown"


class TrackingFields:
    CODE: Final = "code"
    PROVIDER: Final = "provider"


class ConfirmFields:
    ROOT: Final = "confirmInventoryUnits"
    INPUT: Final = "input"
    INPUT_UNITS: Final = "inventoryUnits"
    INPUT_UNIT_ID: Final = "inventoryUnitId"
    INPUT_IS_AVAILABLE: Final = "isAvailable"
    UNITS: Final = "inventoryUnits"
    UNIT_ID: Final = "id"
    UNIT_STATE: Final = "state"


class ShipmentUnitsFields:
    ROOT: Final = "shipment"
    VAR_ID: Final = "id"
    UNITS: Final = "inventoryUnits"
    UNIT_ID: Final = "id"
    UNIT_STATE: Final = "state"


class TrackingMutationFields:
    ROOT: Final = "setShipmentTracking"
    INPUT: Final = "input"
    INPUT_SHIPMENT_ID: Final = "shipmentId"
    INPUT_CODE: Final = "code"
    INPUT_PROVIDER: Final = "provider"
    SHIPMENT: Final = "shipment"


class PayloadErrorFields:
    """Per-item errors inside a mutation payload (not the top-level GraphQL ``errors``)."""

    ERRORS: Final = "errors"
    ID: Final = "id"
    CODE: Final = "code"
    MESSAGE: Final = "message"


def shipments_variables(state: str | None, first: int, after: str | None) -> dict[str, object]:
    return {ShipmentsVars.STATE: state, ShipmentsVars.FIRST: first, ShipmentsVars.AFTER: after}


def confirm_units_variables(decisions: list[tuple[str, bool]]) -> dict[str, object]:
    units = [
        {ConfirmFields.INPUT_UNIT_ID: unit_id, ConfirmFields.INPUT_IS_AVAILABLE: available}
        for unit_id, available in decisions
    ]
    return {ConfirmFields.INPUT: {ConfirmFields.INPUT_UNITS: units}}


def shipment_units_variables(shipment_id: str) -> dict[str, object]:
    return {ShipmentUnitsFields.VAR_ID: shipment_id}


def set_tracking_variables(shipment_id: str, code: str, provider: str) -> dict[str, object]:
    fields = TrackingMutationFields
    return {
        fields.INPUT: {
            fields.INPUT_SHIPMENT_ID: shipment_id,
            fields.INPUT_CODE: code,
            fields.INPUT_PROVIDER: provider,
        }
    }

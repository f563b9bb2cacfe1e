"""Typed Letzshop objects, parsed from GraphQL JSON by ``ordergate.letzshop.parse``.

Money is integer cents (Decimal, rounded half-up), never negative and within what the cents
columns store; strings stay strings (GTINs keep leading zeros) and fit the column they are stored
in (``ordergate.orders.intake.LIMITS``). A node that breaks either is a ``ShipmentParseFailure``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Address:
    first_name: str | None
    last_name: str | None
    company: str | None
    street_name: str | None
    street_number: str | None
    city: str | None
    zip_code: str | None
    phone: str | None
    country_name: str | None
    country_iso: str | None


@dataclass(frozen=True, slots=True)
class Variant:
    id: str
    sku: str | None
    mpn: str | None
    price_cents: int | None
    trade_id_number: str | None  # the GTIN/EAN, verbatim
    trade_id_parser: str | None  # gtin14 gtin13 gtin12 gtin8 isbn13 isbn10
    product_names: dict[str, str | None]  # {"en": ..., "fr": ..., "de": ...}
    brand_name: str | None  # None for BrandUnknown

    def name_for(self, locale: str | None) -> str | None:
        """The product name in ``locale``, falling back to any non-empty translation."""
        if locale and self.product_names.get(locale):
            return self.product_names[locale]
        for lang in ("en", "fr", "de"):
            if self.product_names.get(lang):
                return self.product_names[lang]
        return next((name for name in self.product_names.values() if name), None)


@dataclass(frozen=True, slots=True)
class InventoryUnit:
    id: str
    state: str
    variant: Variant


@dataclass(frozen=True, slots=True)
class LetzshopOrder:
    id: str
    number: str | None
    email: str | None
    total_cents: int | None
    completed_at: datetime | None
    locale: str | None
    ship_address: Address | None
    bill_address: Address | None


@dataclass(frozen=True, slots=True)
class Tracking:
    code: str | None
    provider: str | None


@dataclass(frozen=True, slots=True)
class Shipment:
    id: str
    number: str | None
    state: str
    order: LetzshopOrder
    inventory_units: list[InventoryUnit]
    tracking: Tracking | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    # A digest of the node's JSON (parse.py): the same bytes, the same digest. None when the
    # node could not be serialised as it came (then the import compares the order in full).
    digest: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ShipmentParseFailure:
    """A shipment node that could not be parsed; the import records it and goes on."""

    external_id: str | None
    reason: str
    raw: Any = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ShipmentPage:
    shipments: list[Shipment]
    failures: list[ShipmentParseFailure]
    has_next_page: bool
    end_cursor: str | None
    # Top-level GraphQL error messages that came with partial data; empty on a clean page.
    graphql_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UnitResult:
    id: str
    state: str


@dataclass(frozen=True, slots=True)
class UnitError:
    id: str | None
    code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """What Letzshop answered to ``confirmInventoryUnits``: accepted units and per-unit errors.

    ``reconciled`` names the units of ``units`` whose state was read back from Letzshop because
    the answer to a request that decided them was lost."""

    units: list[UnitResult]
    errors: list[UnitError]
    reconciled: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TrackingResult:
    """What Letzshop answered to ``setShipmentTracking``.

    ``tracking`` is the echo, if any: Letzshop does not reliably read tracking back, so ordergate
    keeps its own copy and treats an empty ``errors`` list as "accepted".
    """

    tracking: Tracking | None
    errors: list[UnitError]

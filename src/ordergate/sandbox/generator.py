"""Deterministic shipments in the Letzshop GraphQL response shape, with realistic dirt.

Same seed, same catalogue, same mix: same shipments, byte for byte. Nothing here reads the clock;
dates count from a fixed base.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ordergate.sandbox.catalog import (
    Article,
    sandbox_catalog,
    unknown_gtin,
    with_wrong_check_digit,
)

LineKind = Literal["known", "unknown_gtin", "invalid_check_digit", "duplicate_gtin", "no_trade_id"]

BASE_COMPLETED_AT = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
# Letzshop answers in Luxembourg local time; a fixed offset keeps the output deterministic.
_LUXEMBOURG = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DirtMix:
    """How dirty the generated shipments are. All fractions are between 0 and 1.

    Line kinds (``unknown_gtin``, ``invalid_check_digit``, ``duplicate_gtin``, ``no_trade_id``)
    are exclusive and drawn per order line; the rest of the lines are known catalogue articles.
    ``alternate_gtin_form`` is drawn per known line; brand, translation and price format are
    drawn once per variant (a variant reads the same in every shipment); address and state
    fields are drawn per shipment.
    """

    unknown_gtin: float = 0.10
    invalid_check_digit: float = 0.03
    duplicate_gtin: float = 0.02
    no_trade_id: float = 0.02
    alternate_gtin_form: float = 0.25  # GTIN-12 or GTIN-14 instead of the GTIN-13
    brand_unknown: float = 0.10
    missing_translation: float = 0.15
    price_as_string: float = 0.5
    multi_quantity: float = 0.25  # a line of 2..max_quantity units of one variant
    missing_company: float = 0.7
    missing_phone: float = 0.3
    confirmed: float = 0.2  # shipments whose units are already all decided
    max_lines: int = 4
    max_quantity: int = 3

    def __post_init__(self) -> None:
        exclusive = self.unknown_gtin + self.invalid_check_digit
        exclusive += self.duplicate_gtin + self.no_trade_id
        if exclusive > 1:
            raise ValueError(f"line kind fractions add up to {exclusive}, more than 1")
        if self.max_lines < 1 or self.max_quantity < 2:
            raise ValueError("max_lines must be >= 1 and max_quantity >= 2")


@dataclass(slots=True)
class GeneratedShipments:
    """Shipments plus the truth a benchmark scores against: the kind of every variant."""

    shipments: list[dict[str, Any]]
    variant_kinds: dict[str, LineKind] = field(default_factory=dict)


def generate_shipments(
    seed: int,
    count: int,
    *,
    mix: DirtMix | None = None,
    catalog: list[Article] | None = None,
    id_prefix: str = "v1",
    end_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """``count`` shipment nodes exactly as the GraphQL API returns them."""
    return generate_dataset(
        seed, count, mix=mix, catalog=catalog, id_prefix=id_prefix, end_at=end_at
    ).shipments


def generate_dataset(
    seed: int,
    count: int,
    *,
    mix: DirtMix | None = None,
    catalog: list[Article] | None = None,
    id_prefix: str = "v1",
    end_at: datetime | None = None,
) -> GeneratedShipments:
    """Like ``generate_shipments``, also telling which line kind each variant id stands for.

    ``catalog`` defaults to ``sandbox_catalog(seed)``; ``id_prefix`` keeps ids of different
    vendors apart. Orders count from a fixed date in 2024; with ``end_at`` (the demo: about
    now) the same orders are moved in time so that the newest was completed at ``end_at``:
    the caller's clock, never read here, and without it the output stays as it always was.
    """
    dataset, last = _generated(seed, count, mix, catalog, id_prefix, BASE_COMPLETED_AT)
    if end_at is None:
        return dataset
    # Same seed, same spacing: a second pass from the shifted start ends exactly at end_at.
    start = BASE_COMPLETED_AT + (end_at - last)
    return _generated(seed, count, mix, catalog, id_prefix, start)[0]


def _generated(
    seed: int,
    count: int,
    mix: DirtMix | None,
    catalog: list[Article] | None,
    id_prefix: str,
    start: datetime,
) -> tuple[GeneratedShipments, datetime]:
    builder = _Builder(
        rng=random.Random(f"shipments:{seed}:{id_prefix}"),
        mix=mix or DirtMix(),
        catalog=catalog if catalog is not None else sandbox_catalog(seed),
        id_prefix=id_prefix,
        start=start,
    )
    shipments = [builder.shipment(index) for index in range(count)]
    dataset = GeneratedShipments(shipments=shipments, variant_kinds=builder.variant_kinds)
    return dataset, builder.completed_at


def money(cents: int, *, as_string: bool) -> int | float | str:
    """Euros as Letzshop might send them: a number, or a decimal string."""
    if as_string:
        return f"{cents // 100}.{cents % 100:02d}"
    return cents // 100 if cents % 100 == 0 else cents / 100


class _Builder:
    def __init__(
        self,
        *,
        rng: random.Random,
        mix: DirtMix,
        catalog: list[Article],
        id_prefix: str,
        start: datetime,
    ) -> None:
        self.rng = rng
        self.mix = mix
        self.id_prefix = id_prefix
        self.regular = [article for article in catalog if not article.is_duplicate]
        self.duplicates = [article for article in catalog if article.is_duplicate]
        # Unknown articles recur, as a vendor's unlisted bestseller would.
        self.unknown_gtins = [unknown_gtin(rng) for _ in range(max(10, len(catalog) // 4))]
        self.variants: dict[tuple[str, str], dict[str, Any]] = {}
        self.variant_kinds: dict[str, LineKind] = {}
        self.variant_prices: dict[str, int] = {}
        self.unit_count = 0
        self.completed_at = start

    def shipment(self, index: int) -> dict[str, Any]:
        rng = self.rng
        self.completed_at += timedelta(minutes=rng.randrange(3, 180))
        lines = [self.line() for _ in range(self._line_count())]
        confirmed = rng.random() < self.mix.confirmed
        units = self._units(lines, confirmed=confirmed)
        order = self._order(index, sum(self.variant_prices[v["id"]] for v, _ in lines))
        any_open = any(unit["state"] == "unconfirmed" for unit in units)
        return {
            "id": f"{self.id_prefix}-shp-{index:05d}",
            "number": f"H{rng.randrange(10**10, 10**11)}",
            "state": "unconfirmed" if any_open else "confirmed",
            "order": order,
            "inventoryUnits": units,
            "tracking": self._tracking() if confirmed and rng.random() < 0.5 else None,
        }

    def _line_count(self) -> int:
        choices = list(range(1, self.mix.max_lines + 1))
        # Most marketplace orders hold one article; longer ones get rarer.
        return self.rng.choices(choices, weights=[1 / n**2 for n in choices])[0]

    def line(self) -> tuple[dict[str, Any], int]:
        """One distinct variant and how many units of it."""
        variant = self._variant(self._line_kind())
        quantity = 1
        if self.rng.random() < self.mix.multi_quantity:
            quantity = self.rng.randint(2, self.mix.max_quantity)
        return variant, quantity

    def _line_kind(self) -> LineKind:
        roll = self.rng.random()
        mix = self.mix
        kinds: tuple[tuple[LineKind, float], ...] = (
            ("unknown_gtin", mix.unknown_gtin),
            ("invalid_check_digit", mix.invalid_check_digit),
            ("duplicate_gtin", mix.duplicate_gtin),
            ("no_trade_id", mix.no_trade_id),
        )
        for kind, fraction in kinds:
            if roll < fraction:
                return kind
            roll -= fraction
        return "known"

    def _variant(self, kind: LineKind) -> dict[str, Any]:
        trade_id, article = self._trade_id(kind)
        key = (kind, trade_id["number"] if trade_id else self._voucher_sku())
        if key not in self.variants:
            self.variants[key] = self._new_variant(kind, trade_id, article, key[1])
        return self.variants[key]

    def _trade_id(self, kind: LineKind) -> tuple[dict[str, str] | None, Article | None]:
        rng = self.rng
        if kind == "no_trade_id":
            return None, None
        if kind == "unknown_gtin":
            return {"number": rng.choice(self.unknown_gtins), "parser": "gtin13"}, None
        if kind == "duplicate_gtin" and self.duplicates:
            article = rng.choice(self.duplicates)
            return {"number": article.gtin13, "parser": article.parser}, article
        article = rng.choice(self.regular)
        if kind == "invalid_check_digit":
            return {"number": with_wrong_check_digit(article.gtin13), "parser": "gtin13"}, article
        return self._presented_form(article), article

    def _presented_form(self, article: Article) -> dict[str, str]:
        """The article's GTIN-13, or sometimes its GTIN-12 or GTIN-14 spelling."""
        if article.parser != "gtin13" or self.rng.random() >= self.mix.alternate_gtin_form:
            return {"number": article.gtin13, "parser": article.parser}
        if article.has_gtin12_form and self.rng.random() < 0.6:
            return {"number": article.gtin13[1:], "parser": "gtin12"}
        return {"number": "0" + article.gtin13, "parser": "gtin14"}

    def _voucher_sku(self) -> str:
        return f"VOUCHER-{self.rng.choice((10, 25, 50, 100))}"

    def _new_variant(
        self,
        kind: LineKind,
        trade_id: dict[str, str] | None,
        article: Article | None,
        identity: str,
    ) -> dict[str, Any]:
        rng = self.rng
        variant_id = f"{self.id_prefix}-var-{len(self.variants) + 1:05d}"
        names, brand, sku, mpn, price_cents = self._variant_details(kind, article, identity)
        if rng.random() < self.mix.missing_translation:
            names = self._drop_translations(names)
        if brand is None or rng.random() < self.mix.brand_unknown:
            brand_node: dict[str, Any] = {"__typename": "BrandUnknown"}
        else:
            brand_node = {"__typename": "Brand", "name": brand}
        self.variant_kinds[variant_id] = kind
        self.variant_prices[variant_id] = price_cents
        return {
            "id": variant_id,
            "sku": sku,
            "mpn": mpn,
            "price": money(price_cents, as_string=rng.random() < self.mix.price_as_string),
            "tradeId": trade_id,
            "product": {"name": names, "_brand": brand_node},
        }

    def _variant_details(
        self, kind: LineKind, article: Article | None, identity: str
    ) -> tuple[dict[str, str | None], str | None, str | None, str | None, int]:
        rng = self.rng
        if article is not None:
            return dict(article.names), article.brand, article.sku, article.mpn, article.price_cents
        if kind == "no_trade_id":
            euros = int(identity.split("-")[1])
            names: dict[str, str | None] = {
                "en": f"Gift voucher {euros} €",
                "fr": f"Bon cadeau {euros} €",
                "de": f"Gutschein {euros} €",
            }
            return names, None, identity, None, euros * 100
        # An article the vendor sells on Letzshop but never entered into our catalogue.
        names = {
            "en": f"Imported item {identity[-5:]}",
            "fr": f"Article importé {identity[-5:]}",
            "de": f"Importartikel {identity[-5:]}",
        }
        sku = None if rng.random() < 0.3 else f"EXT-{identity[-6:]}"
        return names, "Grossiste SA", sku, None, rng.randrange(299, 9_000)

    def _drop_translations(self, names: dict[str, str | None]) -> dict[str, str | None]:
        dropped = dict(names)
        if self.rng.random() < 0.1:
            return dict.fromkeys(dropped)
        for language in self.rng.sample(["en", "fr", "de"], k=self.rng.randint(1, 2)):
            dropped[language] = None
        return dropped

    def _units(
        self, lines: list[tuple[dict[str, Any], int]], *, confirmed: bool
    ) -> list[dict[str, Any]]:
        rng = self.rng
        declines_all = confirmed and rng.random() < 0.2
        units = []
        for variant, quantity in lines:
            for _ in range(quantity):
                self.unit_count += 1
                units.append(
                    {
                        "id": f"{self.id_prefix}-unit-{self.unit_count:06d}",
                        "state": self._unit_state(confirmed=confirmed, declines_all=declines_all),
                        "variant": variant,
                    }
                )
        # Letzshop does not promise units of one variant are adjacent; clients must group.
        rng.shuffle(units)
        return units

    def _unit_state(self, *, confirmed: bool, declines_all: bool) -> str:
        if not confirmed:
            return "unconfirmed"
        if declines_all or self.rng.random() < 0.15:
            return "confirmed_unavailable"
        return "confirmed_available"

    def _tracking(self) -> dict[str, str]:
        provider = self.rng.choice(("post_lu", "dhl", "dpd", "bpost"))
        return {"code": f"LU{self.rng.randrange(10**9, 10**10)}", "provider": provider}

    def _order(self, index: int, lines_cents: int) -> dict[str, Any]:
        rng = self.rng
        shipping_cents = 0 if lines_cents >= 5_000 else 490
        ship_address = _address(rng, self.mix)
        bill_roll = rng.random()
        if bill_roll < 0.7:
            bill_address: dict[str, Any] | None = dict(ship_address)
        elif bill_roll < 0.97:
            bill_address = _address(rng, self.mix)
        else:
            bill_address = None
        first = (ship_address["firstName"] or "client").lower()
        return {
            "id": f"{self.id_prefix}-ord-{index:05d}",
            "number": f"R{rng.randrange(10**8, 10**9)}",
            "email": f"{first}.{index}@example.lu",
            "total": money(lines_cents + shipping_cents, as_string=rng.random() < 0.5),
            "completedAt": (self.completed_at + _LUXEMBOURG).strftime("%Y-%m-%dT%H:%M:%S+01:00"),
            "locale": rng.choices(("fr", "de", "en"), weights=(5, 3, 2))[0],
            "shipAddress": ship_address,
            "billAddress": bill_address,
        }


_FIRST_NAMES = ("Claire", "Marc", "Sophie", "Luc", "Anne", "Tom", "Léa", "Jérôme", "Nadia", "Paulo")
_LAST_NAMES = ("Schmit", "Muller", "Weber", "Wagner", "Hoffmann", "Da Silva", "Thill", "Kieffer")
_STREETS = ("Rue de la Gare", "Avenue de la Liberté", "Grand-Rue", "Route d'Arlon", "Hauptstrooss")
_COUNTRIES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("Luxembourg", "LU", ("Luxembourg", "Esch-sur-Alzette", "Differdange", "Ettelbruck"), "L-"),
    ("France", "FR", ("Thionville", "Metz"), ""),
    ("Belgium", "BE", ("Arlon", "Liège"), ""),
    ("Germany", "DE", ("Trier", "Saarbrücken"), ""),
)


def _address(rng: random.Random, mix: DirtMix) -> dict[str, Any]:
    country, iso, cities, zip_prefix = rng.choices(_COUNTRIES, weights=(80, 8, 7, 5))[0]
    zip_digits = 4 if iso in ("LU", "BE") else 5
    return {
        "firstName": rng.choice(_FIRST_NAMES),
        "lastName": rng.choice(_LAST_NAMES),
        "company": None if rng.random() < mix.missing_company else "Atelier Schmit S.à r.l.",
        "streetName": rng.choice(_STREETS),
        "streetNumber": None if rng.random() < 0.05 else str(rng.randrange(1, 180)),
        "city": rng.choice(cities),
        "zipCode": zip_prefix + str(rng.randrange(10 ** (zip_digits - 1), 10**zip_digits)),
        "phone": None if rng.random() < mix.missing_phone else _phone(rng),
        "country": {"name": country, "iso": iso},
    }


def _phone(rng: random.Random) -> str:
    return f"+352 621 {rng.randrange(1000):03d} {rng.randrange(1000):03d}"

"""Themed article sets for sandbox vendors that sell different things (the demo: a toy shop, a
wine house, a bookshop), alongside the mixed ``sandbox_catalog`` the tests and benchmarks use
(unchanged: benchmarks compare their datasets across runs).

Same theme and seed, same articles in the same order. Each theme has GS1 prefixes of its own,
away from ``sandbox_catalog``'s (0xx, 54x) and ``unknown_gtin``'s (40-44), so no two shops and
no unknown article ever share a GTIN.
"""

from __future__ import annotations

import random
from typing import Literal

from ordergate.sandbox.catalog import DUPLICATE_EVERY, Article, with_check_digit

Theme = Literal["toys", "wine", "books"]

# (en, fr, de)
_TOYS: tuple[tuple[str, str, str], ...] = (
    ("Wooden train set", "Train en bois", "Holzeisenbahn"),
    (
        "Puzzle 1000 pieces, Vianden castle",
        "Puzzle 1000 pièces, château de Vianden",
        "Puzzle 1000 Teile, Burg Vianden",
    ),
    ("Plush fox", "Renard en peluche", "Plüschfuchs"),
    ("Building blocks, 120 pieces", "Blocs de construction, 120 pièces", "Bausteine, 120 Teile"),
    ("Doll's house", "Maison de poupée", "Puppenhaus"),
    ("Kite", "Cerf-volant", "Drachen"),
    ("Marble run", "Circuit à billes", "Murmelbahn"),
    ("Memory game", "Jeu de mémoire", "Memospiel"),
    ("Balance bike", "Draisienne", "Laufrad"),
    ("Wooden kitchen", "Cuisine en bois", "Holzküche"),
    ("Spinning top", "Toupie", "Kreisel"),
    ("Board game, Moselle trail", "Jeu de société, sentier de la Moselle", "Brettspiel, Moselweg"),
    ("Toy tractor", "Tracteur jouet", "Spielzeugtraktor"),
    ("Xylophone", "Xylophone", "Xylophon"),
    ("Rocking horse", "Cheval à bascule", "Schaukelpferd"),
    (
        "Finger puppets, farm animals",
        "Marionnettes à doigts, animaux de la ferme",
        "Fingerpuppen, Bauernhoftiere",
    ),
)
_TOY_STYLES = (("red", "rouge", "rot"), ("blue", "bleu", "blau"), ("natural", "naturel", "natur"))
_TOY_BRANDS = ("Petit Castor", "Ardennes Wood", "Kiddo Lux", "Spillschoul")

_WINES: tuple[str, ...] = (
    "Riesling Grand Premier Cru",
    "Pinot Gris",
    "Auxerrois",
    "Elbling",
    "Rivaner",
    "Pinot Blanc",
    "Gewürztraminer",
    "Pinot Noir",
    "Crémant de Luxembourg Brut",
    "Crémant Rosé",
    "Vin de paille",
)
_WINE_SITES = ("Wormeldange Koeppchen", "Remich Primerberg", "Grevenmacher Fels", "Schengen")
_WINE_SIZES = ("75cl", "75cl", "75cl", "37.5cl", "150cl magnum")
_WINE_BRANDS = ("Domaine Mosella", "Caves Schwebsange", "Clos du Kiemel", "Vinsmoselle Demo")

_BOOKS: tuple[str, ...] = (
    "Luxembourg Walks",
    "Recettes du Grand-Duché",
    "Geschichte Luxemburgs",
    "The Moselle Valley by Bike",
    "Contes des Ardennes",
    "Die Burgen des Öslings",
    "A Short History of the Schueberfouer",
    "Lëtzebuerger Wierderbuch",
    "Jardins de Luxembourg",
    "Kinderreime aus Luxemburg",
)
_EDITIONS = (
    ("paperback", "broché", "Taschenbuch"),
    ("hardcover", "relié", "gebunden"),
    ("large print", "gros caractères", "Großdruck"),
)
_PUBLISHERS = ("Éditions Kirchberg", "Verlag Alzette", "Petrusse Press")


def shop_catalog(theme: Theme, *, seed: int = 0) -> list[Article]:
    """The fixed articles of a shop of ``theme`` for ``seed``: one per name (toys 48, wines 44,
    books 30), every 20th meant to be in the vendor's catalog twice (as ``sandbox_catalog``)."""
    size = _SIZES[theme]
    rng = random.Random(f"shop:{theme}:{seed}")
    articles: list[Article] = []
    seen: set[str] = set()
    while len(articles) < size:
        article = _ARTICLE[theme](rng, len(articles))
        if article.gtin13 in seen:
            continue
        seen.add(article.gtin13)
        articles.append(article)
    return articles


def _gtin(rng: random.Random, prefix: str) -> str:
    return with_check_digit(
        prefix + "".join(str(rng.randrange(10)) for _ in range(12 - len(prefix)))
    )


def _toy(rng: random.Random, index: int) -> Article:
    noun = _TOYS[index % len(_TOYS)]
    style = _TOY_STYLES[(index // len(_TOYS)) % len(_TOY_STYLES)]
    # Every third toy is imported from the US (UPC-A: a GTIN-12 behind a leading zero).
    prefix = "07" if index % 3 == 0 else "5471"
    return Article(
        gtin13=_gtin(rng, prefix),
        parser="gtin13",
        sku=f"LT-{index:04d}",
        mpn=f"T{rng.randrange(10**5):05d}",
        names={
            "en": f"{noun[0]}, {style[0]}",
            "fr": f"{noun[1]}, {style[1]}",
            "de": f"{noun[2]}, {style[2]}",
        },
        brand=rng.choice(_TOY_BRANDS),
        price_cents=rng.randrange(599, 14_900),
        is_duplicate=index % DUPLICATE_EVERY == DUPLICATE_EVERY - 1,
    )


def _wine(rng: random.Random, index: int) -> Article:
    grape = _WINES[index % len(_WINES)]
    site = _WINE_SITES[(index // len(_WINES)) % len(_WINE_SITES)]
    vintage = 2018 + rng.randrange(6)
    volume = rng.choice(_WINE_SIZES)
    name = f"{grape} {site} {vintage}, {volume}"
    return Article(
        gtin13=_gtin(rng, "5472"),
        parser="gtin13",
        sku=f"MW-{index:04d}",
        mpn=None,
        names={"en": name, "fr": name, "de": name},
        brand=rng.choice(_WINE_BRANDS),
        price_cents=rng.randrange(890, 6_500),
        is_duplicate=index % DUPLICATE_EVERY == DUPLICATE_EVERY - 1,
    )


def _book(rng: random.Random, index: int) -> Article:
    title = _BOOKS[index % len(_BOOKS)]
    edition = _EDITIONS[(index // len(_BOOKS)) % len(_EDITIONS)]
    return Article(
        gtin13=_gtin(rng, "97820"),
        parser="isbn13",
        sku=f"BK-{index:04d}",
        mpn=None,
        names={
            "en": f"{title} ({edition[0]})",
            "fr": f"{title} ({edition[1]})",
            "de": f"{title} ({edition[2]})",
        },
        brand=rng.choice(_PUBLISHERS),
        price_cents=rng.randrange(990, 4_900),
        is_duplicate=index % DUPLICATE_EVERY == DUPLICATE_EVERY - 1,
    )


_ARTICLE = {"toys": _toy, "wine": _wine, "books": _book}
_SIZES = {
    "toys": len(_TOYS) * len(_TOY_STYLES),
    "wine": len(_WINES) * len(_WINE_SITES),
    "books": len(_BOOKS) * len(_EDITIONS),
}

"""The sandbox's fixed article catalogue: the articles a sandbox vendor "really" sells.

A benchmark loads these into a vendor catalog; the generator then draws order lines from them
(known GTINs) or deliberately from outside them (unknown GTINs). Check digits always come from
``stdnum.ean`` so a valid GTIN here is valid everywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from stdnum import ean

CATALOG_SIZE = 200
# Every 20th article is meant to exist twice in the vendor's catalog (two products, one GTIN).
DUPLICATE_EVERY = 20

_NOUNS: tuple[tuple[str, str, str], ...] = (
    ("Coffee mug", "Tasse à café", "Kaffeebecher"),
    ("Tea towel", "Torchon", "Geschirrtuch"),
    ("Notebook", "Carnet", "Notizbuch"),
    ("Candle", "Bougie", "Kerze"),
    ("Wooden toy car", "Voiture en bois", "Holzauto"),
    ("Olive oil", "Huile d'olive", "Olivenöl"),
    ("Wool scarf", "Écharpe en laine", "Wollschal"),
    ("Phone case", "Coque de téléphone", "Handyhülle"),
    ("Honey jar", "Pot de miel", "Honigglas"),
    ("Cutting board", "Planche à découper", "Schneidebrett"),
    ("Riesling 75cl", "Riesling 75cl", "Riesling 75cl"),
    ("Hand cream", "Crème pour les mains", "Handcreme"),
)
_ADJECTIVES: tuple[tuple[str, str, str], ...] = (
    ("blue", "bleu", "blau"),
    ("large", "grand", "groß"),
    ("organic", "bio", "Bio"),
    ("classic", "classique", "klassisch"),
    ("small", "petit", "klein"),
)
_BRANDS = ("Moselle Craft", "Luxlait", "Ardennes Home", "Kirchberg Goods", "Villeroy & Boch")
_BOOK_TITLES = ("Luxembourg Walks", "Recettes du Grand-Duché", "Geschichte Luxemburgs")


@dataclass(frozen=True, slots=True)
class Article:
    """One sellable article. ``gtin13`` is always a valid 13-digit GTIN (ISBN-13 for books)."""

    gtin13: str
    parser: str  # "gtin13" or "isbn13": how Letzshop labels the canonical form
    sku: str
    mpn: str | None
    names: dict[str, str]  # {"en", "fr", "de"}, all filled in the catalogue
    brand: str | None
    price_cents: int
    is_duplicate: bool  # the vendor's catalog is meant to hold two products with this GTIN

    @property
    def has_gtin12_form(self) -> bool:
        """A leading zero means the article is a UPC-A (GTIN-12) code padded to 13 digits."""
        return self.gtin13.startswith("0")


def with_check_digit(body: str) -> str:
    """Append the GS1 check digit to ``body`` (12 digits for GTIN-13)."""
    return body + ean.calc_check_digit(body)


def with_wrong_check_digit(gtin: str) -> str:
    """The same number with a check digit that is guaranteed wrong."""
    return gtin[:-1] + str((int(gtin[-1]) + 3) % 10)


def sandbox_catalog(seed: int = 0, size: int = CATALOG_SIZE) -> list[Article]:
    """The fixed catalogue for ``seed``: same seed, same articles, same order."""
    rng = random.Random(f"catalog:{seed}")
    articles: list[Article] = []
    seen: set[str] = set()
    while len(articles) < size:
        index = len(articles)
        article = _make_article(rng, index)
        if article.gtin13 in seen:
            continue
        seen.add(article.gtin13)
        articles.append(article)
    return articles


def _make_article(rng: random.Random, index: int) -> Article:
    is_book = index % 17 == 16
    gtin13 = _book_isbn(rng) if is_book else _catalog_gtin(rng, index)
    names = _book_names(rng) if is_book else _product_names(rng)
    return Article(
        gtin13=gtin13,
        parser="isbn13" if is_book else "gtin13",
        sku=f"SKU-{index:04d}",
        mpn=None if rng.random() < 0.3 else f"MPN{rng.randrange(10**6):06d}",
        names=names,
        brand=None if is_book else rng.choice(_BRANDS),
        price_cents=rng.randrange(199, 12_000),
        is_duplicate=index % DUPLICATE_EVERY == DUPLICATE_EVERY - 1,
    )


def _catalog_gtin(rng: random.Random, index: int) -> str:
    # Catalogue GTINs use GS1 prefixes 0xx (UPC-A, so they have a GTIN-12 form) and 54x
    # (Belgium/Luxembourg). Unknown articles use other prefixes, so they never collide.
    prefix = "0" + str(rng.randrange(10, 99)) if index % 3 == 0 else "54" + str(rng.randrange(10))
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(12 - len(prefix)))
    return with_check_digit(body)


def _book_isbn(rng: random.Random) -> str:
    return with_check_digit("97829" + "".join(str(rng.randrange(10)) for _ in range(7)))


def _product_names(rng: random.Random) -> dict[str, str]:
    noun = rng.choice(_NOUNS)
    adjective = rng.choice(_ADJECTIVES)
    return {
        "en": f"{noun[0]}, {adjective[0]}",
        "fr": f"{noun[1]}, {adjective[1]}",
        "de": f"{noun[2]}, {adjective[2]}",
    }


def _book_names(rng: random.Random) -> dict[str, str]:
    title = rng.choice(_BOOK_TITLES)
    return {"en": title, "fr": title, "de": title}


def unknown_gtin(rng: random.Random) -> str:
    """A valid GTIN-13 outside the catalogue's prefixes (40-44: Germany), so never known."""
    body = str(rng.randrange(40, 45)) + "".join(str(rng.randrange(10)) for _ in range(10))
    return with_check_digit(body)


def duplicate_gtins(catalog: list[Article]) -> list[str]:
    """GTINs a benchmark should insert as two products into the vendor catalog."""
    return [article.gtin13 for article in catalog if article.is_duplicate]

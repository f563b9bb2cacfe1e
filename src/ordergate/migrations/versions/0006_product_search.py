"""product search for suggestions: title search, case-insensitive SKU, MPN and mapping keys

``GET …/order-exceptions/{id}/suggestions`` (``item_exceptions/suggestions.py``) finds its
candidates through indexes only; see ``ordergate.item_exceptions.product_search``.

Both databases:

- ``ix_marketplace_products_mpn``: marketplace products by manufacturer part number (a line's
  GTIN found in the marketplace feed leads to its MPN, the MPN to the vendor's products copied
  from a listing with that MPN);
- ``ix_gtin_mappings_gtin_key``: remembered mappings by GTIN key across vendors
  (``remembered_elsewhere``; the unique (vendor_id, gtin_key) serves one vendor only);
- ``ix_products_vendor_id_lower_sku``: ``(vendor_id, lower(sku))``, the same-SKU look-up
  without regard to case (an expression index, outside the models).

SQLite: ``products_title_search``, an FTS5 table (unicode61 words, diacritics removed, ``_``
part of a word) holding per product (rowid = product id) its title's words each prefixed with
its vendor, ``v<vendor_id>_<word>``: a search within one vendor then reads only that vendor's
postings (a vendor column ANDed with the words read every vendor's postings of each word:
10 ms per search at 100,000 products) and bm25 weighs words by their frequency in that
vendor's catalog. Kept by triggers on ``products`` (insert; update of id, vendor_id or title;
delete), backfilled here. Punctuation inside a title becomes a space first, so every word
gets its prefix.

PostgreSQL: a ``pg_trgm`` GIN index on ``products.title`` (the extension is created as 0003
does; when it cannot be, a warning is logged and title suggestions are left out).

Revision ID: 0006
Revises: 0005
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

TITLE_SEARCH_TABLE = "products_title_search"
TITLE_TRIGRAM_INDEX = "ix_products_title_trgm"
LOWER_SKU_INDEX = "ix_products_vendor_id_lower_sku"

# Characters that separate words inside a title: replaced by spaces before each space gets
# the vendor prefix (unicode61 separates at them too, which would leave a word unprefixed).
WORD_SEPARATORS = "-/()[],.;:!?&+'\"*#|"


def _words(row: str) -> str:
    """The FTS text of product `row` (new/old): `v<vendor>_` before each of its words."""
    cleaned = f"{row}.title"
    for separator in WORD_SEPARATORS:
        quoted = separator.replace("'", "''")
        cleaned = f"replace({cleaned}, '{quoted}', ' ')"
    prefix = f"'v' || {row}.vendor_id || '_'"
    return f"{prefix} || replace({cleaned}, ' ', ' ' || {prefix})"


_INSERT_ROW = f"INSERT INTO {TITLE_SEARCH_TABLE} (rowid, words) VALUES (new.id, {_words('new')});"
_DELETE_ROW = f"DELETE FROM {TITLE_SEARCH_TABLE} WHERE rowid = old.id;"
SQLITE_TRIGGERS = {
    "products_title_search_insert": f"AFTER INSERT ON products BEGIN {_INSERT_ROW} END",
    "products_title_search_update": "AFTER UPDATE OF id, vendor_id, title ON products "
    f"BEGIN {_DELETE_ROW} {_INSERT_ROW} END",
    "products_title_search_delete": f"AFTER DELETE ON products BEGIN {_DELETE_ROW} END",
}


def _upgrade_sqlite() -> None:
    op.execute(
        f"CREATE VIRTUAL TABLE {TITLE_SEARCH_TABLE} USING fts5("
        "words, tokenize = \"unicode61 remove_diacritics 2 tokenchars '_'\")"
    )
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute(
        f"INSERT INTO {TITLE_SEARCH_TABLE} (rowid, words) "
        f"SELECT products.id, {_words('products')} FROM products"
    )


def _upgrade_postgresql() -> None:
    bind = op.get_bind()
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as error:
        log.warning(
            "pg_trgm could not be created (%s); suggestions leave out similar titles. Have a "
            "superuser run CREATE EXTENSION pg_trgm, then downgrade to 0005 and upgrade again.",
            str(getattr(error, "orig", error)).strip().splitlines()[0],
        )
        return
    op.execute(f"CREATE INDEX {TITLE_TRIGRAM_INDEX} ON products USING gin (title gin_trgm_ops)")


def upgrade() -> None:
    op.create_index("ix_marketplace_products_mpn", "marketplace_products", ["mpn"])
    op.create_index("ix_gtin_mappings_gtin_key", "gtin_mappings", ["gtin_key"])
    op.execute(f"CREATE INDEX {LOWER_SKU_INDEX} ON products (vendor_id, lower(sku))")
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm stays: 0003's indexes use it.
        op.execute(f"DROP INDEX IF EXISTS {TITLE_TRIGRAM_INDEX}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {TITLE_SEARCH_TABLE}")
    op.execute(f"DROP INDEX IF EXISTS {LOWER_SKU_INDEX}")
    op.drop_index("ix_gtin_mappings_gtin_key", table_name="gtin_mappings")
    op.drop_index("ix_marketplace_products_mpn", table_name="marketplace_products")

"""Product search objects for suggestions (migrations 0006, 0019), outside the ORM.

- ``products_title_search`` (SQLite): an FTS5 table (unicode61 words, diacritics removed,
  ``_`` inside words) holding per product (rowid = product id) its title's words, each
  prefixed with its vendor (``v7_lego v7_city``), so a search reads only one vendor's
  postings; written by triggers on ``products`` in the same transaction as the product.
- ``ix_products_vendor_id_title_trgm`` (PostgreSQL, 0019): a GIN index on ``(vendor_id,
  title gin_trgm_ops)`` (``btree_gin`` and ``pg_trgm``), so a title search reads one vendor's
  postings. Without ``btree_gin`` 0006's ``ix_products_title_trgm`` on ``title`` alone stays;
  without ``pg_trgm`` neither exists and title suggestions are left out (docs/suggestions.md).
- ``ix_products_vendor_id_lower_sku`` (both): an expression index on
  ``(vendor_id, lower(sku))`` for the case-insensitive same-SKU look-up.

None of them is in the models (an FTS5 table and expression or operator-class indexes cannot be
compared by Alembic's autogenerate), so the schema comparison skips exactly these names
(``side_tables.include_in_schema_comparison``).
"""

from __future__ import annotations

TITLE_SEARCH_TABLE = "products_title_search"
TITLE_TRIGRAM_INDEX = "ix_products_title_trgm"
VENDOR_TITLE_TRIGRAM_INDEX = "ix_products_vendor_id_title_trgm"
LOWER_SKU_INDEX = "ix_products_vendor_id_lower_sku"
_FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")

PRODUCT_SEARCH_TABLES = frozenset(
    {TITLE_SEARCH_TABLE, *(TITLE_SEARCH_TABLE + suffix for suffix in _FTS5_SHADOW_SUFFIXES)}
)
PRODUCT_SEARCH_INDEXES = frozenset(
    {TITLE_TRIGRAM_INDEX, VENDOR_TITLE_TRIGRAM_INDEX, LOWER_SKU_INDEX}
)


def vendor_word(vendor_id: int, word: str) -> str:
    """A title word as the FTS table holds it for the vendor (the triggers write the same)."""
    return f"v{vendor_id}_{word}"

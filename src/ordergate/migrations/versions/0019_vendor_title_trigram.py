"""title suggestions on PostgreSQL search one vendor's titles: a (vendor_id, title) GIN index

0006's ``ix_products_title_trgm`` indexes every vendor's titles, so ``title %> :name`` for one
vendor read the trigram matches of all vendors and intersected them with the vendor's rows
(931 candidates for 17 of the vendor's at 50 vendors × 1,000 products: 6.4 ms; the
suggestions bench's 20 × 5,000: 13 ms). With ``btree_gin`` the vendor id is a column of the
same GIN index, ``ix_products_vendor_id_title_trgm`` on ``(vendor_id, title gin_trgm_ops)``,
and the search reads only that vendor's postings (2.0 ms). Every title search is within one
vendor (suggestions, the product picker), so it replaces 0006's index.

``btree_gin`` is a contrib module like ``pg_trgm``, created the same way: when the database
user may not create it (or pg_trgm is missing), a warning is logged and 0006's index stays;
the searches are then as before.

Revision ID: 0019
Revises: 0018
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

TITLE_TRIGRAM_INDEX = "ix_products_title_trgm"
VENDOR_TITLE_TRIGRAM_INDEX = "ix_products_vendor_id_title_trgm"


def _has_index(name: str) -> bool:
    found = op.get_bind().exec_driver_sql("SELECT 1 FROM pg_indexes WHERE indexname = %s", (name,))
    return found.first() is not None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql" or not _has_index(TITLE_TRIGRAM_INDEX):
        return
    bind = op.get_bind()
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gin")
    except DBAPIError as error:
        log.warning(
            "btree_gin could not be created (%s); title suggestions keep searching every "
            "vendor's titles. Have a superuser run CREATE EXTENSION btree_gin, then downgrade "
            "to 0018 and upgrade again.",
            str(getattr(error, "orig", error)).strip().splitlines()[0],
        )
        return
    op.execute(
        f"CREATE INDEX {VENDOR_TITLE_TRIGRAM_INDEX} ON products "
        "USING gin (vendor_id, title gin_trgm_ops)"
    )
    op.execute(f"DROP INDEX {TITLE_TRIGRAM_INDEX}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql" or not _has_index(VENDOR_TITLE_TRIGRAM_INDEX):
        return
    # btree_gin stays, as pg_trgm does (CREATE EXTENSION may have needed a superuser).
    op.execute(f"CREATE INDEX {TITLE_TRIGRAM_INDEX} ON products USING gin (title gin_trgm_ops)")
    op.execute(f"DROP INDEX {VENDOR_TITLE_TRIGRAM_INDEX}")

"""deadlines: a vendor's confirmation window

- ``vendors.confirmation_deadline_hours``: how many hours after the order date a blocked order
  must be confirmed at the marketplace (Letzshop declines orders left unconfirmed too long; the
  window is in its seller terms, so it is a per-vendor setting). Null: no deadline.

Not in batch mode: rebuilding ``vendors`` on SQLite would cascade-delete its children.

Revision ID: 0009
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("vendors", sa.Column("confirmation_deadline_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("vendors", "confirmation_deadline_hours")

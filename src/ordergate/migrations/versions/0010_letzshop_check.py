"""letzshop check: the last contract check per vendor, on its Letzshop credentials

``ordergate letzshop check`` / ``POST …/letzshop/check`` record when the vendor's last check
ran, its outcome (``ok`` / ``mismatch``), whether it found the confirmation mutation unfit
(confirmations are refused while it did) and the whole report (JSON). Credentials that were
never checked have nulls and ``false``.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ordergate.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "letzshop_credentials"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_check_at", ordergate.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_check_status", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column(
                "last_check_blocks_confirmation",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_check_result",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_letzshop_credentials_last_check_status"),
            "last_check_status IN ('ok', 'mismatch')",
        )


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_letzshop_credentials_last_check_status"), type_="check")
        batch_op.drop_column("last_check_result")
        batch_op.drop_column("last_check_blocks_confirmation")
        batch_op.drop_column("last_check_status")
        batch_op.drop_column("last_check_at")

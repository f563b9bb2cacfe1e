"""Runs the packaged Alembic migrations against a database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from ordergate.item_exceptions import side_tables

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _procrastinate_object(obj: Any, name: str | None, type_: str) -> bool:
    """Procrastinate's own tables and their indexes (migration 0013, PostgreSQL)."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return bool(table_name and table_name.startswith("procrastinate_"))


# Indexes only a migration spells (dialect-specific): 0020's newest-first order of the orders.
MIGRATION_ONLY_INDEXES = frozenset({"ix_orders_vendor_id_newest", "ix_orders_newest"})


def include_in_schema_comparison(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: the models' schema, without the migration-only side
    tables (``side_tables.py``) and indexes, and without procrastinate's schema, which is
    procrastinate's."""
    if _procrastinate_object(obj, name, type_):
        return False
    if type_ == "index" and name in MIGRATION_ONLY_INDEXES:
        return False
    return side_tables.include_in_schema_comparison(obj, name, type_, reflected, compare_to)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)

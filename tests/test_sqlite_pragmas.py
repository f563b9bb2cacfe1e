"""Every SQLite connection of ordergate's engines gets the same settings (db._sqlite_pragmas)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from ordergate.db import make_engine

EXPECTED = {
    "foreign_keys": 1,
    "journal_mode": "wal",
    "synchronous": 1,  # NORMAL
    "busy_timeout": 30_000,
    "cache_size": -65_536,
    "wal_autocheckpoint": 10_000,
    "journal_size_limit": 67_108_864,
}


def test_each_connection_gets_the_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        for _ in range(2):  # a fresh connection each time, not the pool's first only
            with engine.connect() as connection:
                got = {name: connection.scalar(text(f"PRAGMA {name}")) for name in EXPECTED}
                assert got == EXPECTED
                connection.invalidate()
    finally:
        engine.dispose()

from __future__ import annotations

from pathlib import Path

import pytest

from ordergate.app import create_app
from ordergate.config import ConfigError, Settings


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    settings = Settings(
        env="development",
        secret_key=None,
        secret_key_file=path,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
    )
    first = settings.resolved_secret_key()
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert settings.resolved_secret_key() == first


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    settings = Settings(
        env="production",
        secret_key=None,
        secret_key_file=tmp_path / "secret",
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
    )
    with pytest.raises(ConfigError, match="ORDERGATE_SECRET_KEY is required"):
        create_app(settings)
    assert not (tmp_path / "secret").exists()


def test_short_secret_is_refused(tmp_path: Path) -> None:
    settings = Settings(
        env="production", secret_key="short", database_url=f"sqlite:///{tmp_path / 'x.db'}"
    )
    with pytest.raises(ConfigError, match="at least 16"):
        settings.resolved_secret_key()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERGATE_DATABASE_URL", "postgresql+psycopg://u:p@db/og")
    monkeypatch.setenv("ORDERGATE_TOKEN_LIFETIME_MINUTES", "15")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u:p@db/og"
    assert settings.token_lifetime_minutes == 15

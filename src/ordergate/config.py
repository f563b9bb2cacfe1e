"""Settings, read from ORDERGATE_* environment variables."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(RuntimeError):
    """The configuration cannot be used as it is."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGATE_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./ordergate.db"
    secret_key: str | None = Field(default=None, repr=False)
    secret_key_file: Path = Path("./.ordergate-secret")
    token_lifetime_minutes: int = Field(default=480, ge=1, le=60 * 24 * 30)
    letzshop_endpoint: str = "https://letzshop.lu/graphql"
    letzshop_timeout_seconds: float = Field(default=20.0, gt=0)
    letzshop_max_retries: int = Field(default=4, ge=0, le=10)
    letzshop_page_size: int = Field(default=50, ge=1, le=500)
    sandbox_port: int = 8765
    # Catalog jobs (docs/catalog.md): rows per committed batch of a feed import and of
    # copy-to-catalog (products, then GTINs matched), the heartbeat age after which an import
    # run reads abandoned, row errors/warnings listed. Batch sizes measured in bench/RESULTS.md.
    catalog_batch_rows: int = Field(default=1000, ge=1, le=10_000)  # SQLite: <= 32,766 binds
    catalog_copy_batch_rows: int = Field(default=5000, ge=1, le=100_000)
    catalog_import_lease_seconds: int = Field(default=120, ge=10)
    catalog_import_max_listed: int = Field(default=1000, ge=1, le=10_000)
    # Where uploads are spooled while a job reads them (default: the system's temporary folder).
    catalog_import_dir: Path | None = None

    def resolved_secret_key(self) -> str:
        """The secret key; in development, one generated into a local file on first use."""
        if self.secret_key:
            if len(self.secret_key) < 16:
                raise ConfigError("ORDERGATE_SECRET_KEY must be at least 16 characters long")
            return self.secret_key
        if self.env == "production":
            raise ConfigError(
                "ORDERGATE_SECRET_KEY is required when ORDERGATE_ENV=production; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return _read_or_create_secret_file(self.secret_key_file)


def _read_or_create_secret_file(path: Path) -> str:
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()

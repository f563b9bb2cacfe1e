"""Settings, read from ORDERGATE_* environment variables."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ConfigError(RuntimeError):
    """The configuration cannot be used as it is."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGATE_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./ordergate.db"
    secret_key: str | None = Field(default=None, repr=False)
    # None: ./.ordergate-secret when it exists (where earlier versions put it), else
    # $XDG_CONFIG_HOME/ordergate/secret (~/.config/ordergate/secret), away from the database.
    secret_key_file: Path | None = None
    token_lifetime_minutes: int = Field(default=480, ge=1, le=60 * 24 * 30)
    letzshop_endpoint: str = "https://letzshop.lu/graphql"
    # Where Letzshop requests may go: host names and CIDR networks, comma-separated; empty means
    # the host of letzshop_endpoint. See docs/security.md.
    letzshop_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    letzshop_timeout_seconds: float = Field(default=20.0, gt=0)
    letzshop_max_retries: int = Field(default=4, ge=0, le=10)
    letzshop_page_size: int = Field(default=50, ge=1, le=500)
    # The default sync also repairs orders pending locally that Letzshop decided within these
    # many days (0: off); older ones are not looked for.
    letzshop_reconcile_days: int = Field(default=14, ge=0, le=365)
    # A running sync run whose last committed page is older than this is abandoned (its process
    # died). Well above one page's worst case: 5 attempts x 20 s timeout + 4 waits of <= 32 s.
    letzshop_sync_lease_seconds: float = Field(default=300.0, gt=0)
    sandbox_port: int = 8765
    # Database and concurrency (docs/architecture.md, "Database and concurrency settings").
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)
    db_pool_timeout: float = Field(default=10.0, gt=0, le=600)
    worker_threads: int | None = Field(default=None, ge=1, le=1000)
    db_lock_timeout: float = Field(default=5.0, ge=0, le=3600)
    db_statement_timeout: float = Field(default=30.0, ge=0, le=86400)
    db_busy_retry_after: int = Field(default=2, ge=1, le=3600)
    fulfilment_lease_seconds: int = Field(default=300, ge=10, le=86400)
    # Background jobs (docs/jobs.md): `auto` queues syncs on PostgreSQL (procrastinate; run
    # `ordergate worker`) and runs them inline on SQLite; `inline` always runs them in the
    # caller; `queue` needs PostgreSQL.
    jobs_mode: Literal["auto", "inline", "queue"] = "auto"
    # A worker silent for this long is taken as dead: its jobs are retried (retry_stalled_jobs).
    jobs_stalled_seconds: float = Field(default=60.0, ge=5, le=86400)
    # Queued confirms/declines (docs/jobs.md): attempts of the retry job, and its backoff:
    # `wait + 2 ** (attempt + 1)` seconds before each next attempt (about 75 minutes in all).
    fulfilment_retry_attempts: int = Field(default=12, ge=1, le=100)
    fulfilment_retry_wait_seconds: int = Field(default=30, ge=0, le=86400)

    # Webhooks (docs/webhooks.md). Receivers must be public http(s) hosts; these entries (CIDR
    # networks, or host names) also admit private or loopback addresses (tests: 127.0.0.1).
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Attempts per delivery; attempt n failing waits base x 2^(n-1) seconds (at most the max).
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_retry_base_seconds: float = Field(default=30.0, ge=0, le=86400)
    webhook_retry_max_seconds: float = Field(default=6 * 3600.0, ge=0, le=7 * 86400)
    # Deliveries sent per deliver_due call (the periodic task, the thread, the CLI).
    webhook_batch_size: int = Field(default=100, ge=1, le=10_000)
    # Where jobs run inline (SQLite): the API process's own delivery thread wakes this often
    # (0: off; then run `ordergate webhooks deliver` from cron).
    webhook_deliver_interval_seconds: float = Field(default=10.0, ge=0, le=3600)

    @property
    def db_connections(self) -> int:
        """The most connections the pool opens."""
        return self.db_pool_size + self.db_max_overflow

    @property
    def request_threads(self) -> int:
        """Worker threads for sync endpoints; never more than the pool has connections."""
        return self.worker_threads or self.db_connections

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def jobs_queued(self) -> bool:
        """Whether syncs go to the job queue (else they run inline, in the caller)."""
        return self.jobs_mode == "queue" or (self.jobs_mode == "auto" and self.is_postgres)

    @model_validator(mode="after")
    def _queue_needs_postgres(self) -> Settings:
        if self.jobs_mode == "queue" and not self.is_postgres:
            raise ValueError(
                "ORDERGATE_JOBS_MODE=queue needs PostgreSQL (ORDERGATE_DATABASE_URL); "
                "use auto or inline on SQLite"
            )
        return self

    @model_validator(mode="after")
    def _threads_fit_the_pool(self) -> Settings:
        if self.worker_threads is not None and self.worker_threads > self.db_connections:
            raise ValueError(
                f"ORDERGATE_WORKER_THREADS ({self.worker_threads}) must not exceed "
                f"ORDERGATE_DB_POOL_SIZE + ORDERGATE_DB_MAX_OVERFLOW ({self.db_connections})"
            )
        return self

    @field_validator("letzshop_allowed_hosts", "webhook_allowed_networks", mode="before")
    @classmethod
    def _split_entries(cls, value: object) -> object:
        if isinstance(value, str):
            return [entry.strip() for entry in value.split(",") if entry.strip()]
        return value

    def letzshop_allow_list(self) -> list[str]:
        """The allow-list for Letzshop endpoints; by default the default endpoint's host."""
        return self.letzshop_allowed_hosts or [urlsplit(self.letzshop_endpoint).hostname or ""]

    # Failed logins (and wrong current passwords) allowed per account and per client address in
    # moving windows, as `limits` strings; stacked windows make the wait grow with the failures.
    login_limits_per_account: str = "5/minute;20/hour;100/day"
    login_limits_per_address: str = "20/minute;200/hour;1000/day"
    # memory:// keeps counters per process; several processes share them through e.g.
    # redis://host:6379 (install the `limits[redis]` extra).
    login_throttle_storage_uri: str = "memory://"

    # Request bodies: JSON (and anything not multipart) up to 1 MiB, multipart feed uploads up
    # to 50 MiB; beyond, 413 PAYLOAD_TOO_LARGE (docs/limits.md).
    request_body_limit_bytes: int = Field(default=1024 * 1024, ge=1024)
    upload_body_limit_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    # Catalog jobs (docs/catalog.md): rows per committed batch of a feed import and of
    # copy-to-catalog (products, then GTINs matched), the heartbeat age after which an import
    # run reads abandoned, row errors/warnings listed. Batch sizes measured in bench/RESULTS.md.
    catalog_batch_rows: int = Field(default=1000, ge=1, le=10_000)  # SQLite: <= 32,766 binds
    catalog_copy_batch_rows: int = Field(default=5000, ge=1, le=100_000)
    catalog_import_lease_seconds: int = Field(default=120, ge=10)
    catalog_import_max_listed: int = Field(default=1000, ge=1, le=10_000)
    # Where uploads are spooled while a job reads them (default: the system's temporary folder).
    catalog_import_dir: Path | None = None

    # Dashboard logins (docs/dashboard.md): a session lasts this long from login (a working
    # day); its cookie is Secure when the request came over HTTPS (behind a proxy, run uvicorn
    # with --proxy-headers), or always when web_secure_cookies is true.
    web_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    web_secure_cookies: bool = False

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
        return _read_or_create_secret_file(self.secret_key_file or default_secret_file())


LEGACY_SECRET_FILE = Path(".ordergate-secret")


def default_secret_file() -> Path:
    """The development secret's file: a copy of the working directory (database included)
    must not carry the key that decrypts the stored Letzshop keys."""
    if LEGACY_SECRET_FILE.exists():
        return LEGACY_SECRET_FILE
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "ordergate" / "secret"


def _read_or_create_secret_file(path: Path) -> str:
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()

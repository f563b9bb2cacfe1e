from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.db import Base, JSONType, UTCDateTime, check_in, utcnow


class SyncRunStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker (jobs on the queue, docs/jobs.md); no lease yet
    RUNNING = "running"  # holds the vendor's lease: its heartbeat is refreshed with every page
    SUCCEEDED = "succeeded"  # walked to the end, every shipment imported
    PARTIAL = "partial"  # walked to the end, some shipments failed (listed in `failures`)
    FAILED = "failed"  # stopped by an error (Letzshop unreachable, an internal error)
    ABANDONED = "abandoned"  # its process stopped: no heartbeat within the lease

    @classmethod
    def resumable(cls) -> tuple[SyncRunStatus, ...]:
        """Runs that stopped midway: the vendor's next run of the same state starts at their
        last cursor."""
        return (cls.ABANDONED, cls.FAILED)


class SyncTrigger(StrEnum):
    """Who started a sync run."""

    API = "api"  # POST .../letzshop/sync
    CLI = "cli"  # ordergate letzshop import
    SCHEDULE = "schedule"  # sync-all (cron, a timer), or the queue's periodic due-sync task
    DEMO = "demo"  # ordergate demo
    BENCH = "bench"  # bench/import_orders.py


class SyncState(StrEnum):
    """Which of the vendor's Letzshop shipments a sync reads (the run's `state_filter`)."""

    UNCONFIRMED = "unconfirmed"  # awaiting the vendor's decision (the default)
    CONFIRMED = "confirmed"
    ALL = "all"  # every state


class CheckStatus(StrEnum):
    """The outcome of a contract check (``ordergate letzshop check``)."""

    OK = "ok"  # every text ordergate sends fits what the service declares
    MISMATCH = "mismatch"  # at least one difference, listed in the result


DEFAULT_SYNC_INTERVAL_MINUTES = 10  # what ``auto_sync: true`` means
MAX_SYNC_INTERVAL_MINUTES = 7 * 24 * 60


class LetzshopCredentials(Base):
    __tablename__ = "letzshop_credentials"
    __table_args__ = (
        check_in("last_check_status", CheckStatus),
        CheckConstraint(
            f"sync_interval_minutes BETWEEN 1 AND {MAX_SYNC_INTERVAL_MINUTES}",
            name="sync_interval_minutes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), unique=True
    )
    endpoint_url: Mapped[str] = mapped_column(String(500))
    # Fernet token keyed from the secret key; the plain key is never stored.
    api_key_encrypted: Mapped[str] = mapped_column(Text)
    # Only for keys of 12 characters or more; a shorter key would be shown nearly whole.
    api_key_last4: Mapped[str | None] = mapped_column(String(4))
    # Scheduled syncs every this many minutes (null: none); replaced ``auto_sync`` (0013).
    sync_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The last contract check (letzshop/check.py): when, its outcome, whether it found the
    # confirmation mutation unfit (confirmations are refused then), and its whole report.
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_check_status: Mapped[str | None] = mapped_column(String(20))  # a CheckStatus
    last_check_blocks_confirmation: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    last_check_result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    @property
    def auto_sync(self) -> bool:
        """Whether scheduled syncs are on (the field before ``sync_interval_minutes``)."""
        return self.sync_interval_minutes is not None


class SyncRun(Base):
    """One import run for one vendor: what it saw, what it wrote, what failed."""

    __tablename__ = "sync_runs"
    __table_args__ = (check_in("status", SyncRunStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(30), default="letzshop")
    trigger: Mapped[str] = mapped_column(String(20))  # a SyncTrigger
    state_filter: Mapped[str | None] = mapped_column(String(20))  # a SyncState
    status: Mapped[str] = mapped_column(String(20), default=SyncRunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipments_seen: Mapped[int] = mapped_column(Integer, default=0)
    orders_created: Mapped[int] = mapped_column(Integer, default=0)
    orders_updated: Mapped[int] = mapped_column(Integer, default=0)
    exceptions_created: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    triggered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The lease of a running run: refreshed with every committed page; a run whose heartbeat
    # is older than the lease is "abandoned" (its process died).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pages_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The cursor after the last committed page, so a later run can resume from there.
    last_cursor: Mapped[str | None] = mapped_column(String(500))
    # A run that went through the job queue: when it was queued (``started_at`` is when a
    # worker started it) and the procrastinate job that runs it; null for inline runs.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[int | None] = mapped_column(BigInteger)

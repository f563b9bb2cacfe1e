"""Syncs at scale on the job queue (issue 11 §4): N vendors × M shipments synced over real HTTP
from the sandbox by 1, 2 and 4 ``ordergate worker`` processes on PostgreSQL, against the same
syncs called directly, one after the other, in one process.

    .venv/bin/python scripts/with_postgres.py -- .venv/bin/python bench/jobs_scale.py
    .venv/bin/python bench/jobs_scale.py --database-url URL --vendors 50 --shipments 1000

One sandbox child (``sync_http.sandbox_child``: the same seed and dirt as the other benches)
serves every run. Each run gets a fresh migrated database whose N vendors hold the sandbox's
catalog and their own key (``sync_http.connect_vendors``):

- **direct**: ``letzshop.sync.run_sync`` for each vendor in turn in this process (state
  ``all``), timed from the first call to the last run's ``finished_at``;
- **K workers** (K in ``--workers``, default 1, 2, 4): K ``ordergate worker --concurrency C``
  processes (default C = 1, so K syncs at once) are started and seen registered, then every
  vendor's sync is queued through ``letzshop.queueing.queue_sync`` (the service the API
  calls), timed from before the first queue call to the last run's ``finished_at``.

Reported per run: orders/s over the whole, each vendor's sync latency p50/p95 from its run row
(``queued_at → finished_at``: the wait in the queue included, all vendors being queued at once;
``started_at → finished_at``: the sync alone), the job overhead (1 worker against direct:
target ≤ 1.2×), and the CPU seconds of the workers (this process for direct), the PostgreSQL
server (postmaster, its live backends and those it reaped, from ``/proc``; n/a for a remote
server) and the sandbox, each also as cores busy (CPU seconds / wall seconds): with 2 cores,
the sum near 2 means the machine is saturated, and the largest share says by whom.

Checks (exit 1): every vendor has exactly one run, succeeded; orders, items, units and
exceptions equal the sandbox's (the shipments as served by its control API, a line per shipment
and variant, an exception per line whose variant the sandbox's generator made other than a
known catalog article). ``--smoke``: 3 vendors × 20 shipments, 1 and 2 workers; skipped with a
message when no PostgreSQL URL is set (``make test``'s smoke run is SQLite-only).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import import_orders as bench
import sync_http
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from ordergate.db import make_engine, make_session_factory, utcnow
from ordergate.errors import AppError
from ordergate.jobs.queue import ProcrastinateSyncQueue, build_app
from ordergate.letzshop import queueing
from ordergate.letzshop.models import SyncRun, SyncRunStatus, SyncState, SyncTrigger
from ordergate.letzshop.sync import run_sync
from ordergate.sandbox.generator import generate_dataset
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
TARGET_OVERHEAD = 1.2
CHECKED_ROWS = ("orders", "items", "units", "exceptions")
POLL_SECONDS = 0.2
READY_SECONDS = 120.0


# --- CPU seconds from /proc -------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from its third field (state) on; None when the process is gone."""
    try:
        line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return line[line.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of ``pid``; with ``reaped``, of the children it waited for too."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLK_TCK


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def postmaster_of(engine: Engine) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine."""
    with engine.connect() as conn:
        backend = conn.scalar(text("SELECT pg_backend_pid()"))
    fields = _stat_fields(int(backend or 0))
    return int(fields[1]) if fields is not None else None


def postgres_cpu(postmaster: int | None) -> float | None:
    """The server's CPU seconds: the postmaster, the backends it reaped and the live ones."""
    if postmaster is None:
        return None
    live = sum(cpu_seconds(child) for child in children_of(postmaster))
    return cpu_seconds(postmaster, reaped=True) + live


@dataclass(slots=True)
class Cpu:
    workers: float  # the worker processes; this process for the direct run
    postgres: float | None
    sandbox: float


@dataclass(slots=True)
class CpuMeter:
    worker_pids: list[int]
    postmaster: int | None
    sandbox_pid: int

    def read(self) -> Cpu:
        workers = sum(cpu_seconds(pid) for pid in self.worker_pids)
        return Cpu(
            workers=workers if self.worker_pids else time.process_time(),
            postgres=postgres_cpu(self.postmaster),
            sandbox=cpu_seconds(self.sandbox_pid),
        )


def cpu_used(start: Cpu, end: Cpu) -> Cpu:
    postgres = None
    if start.postgres is not None and end.postgres is not None:
        postgres = end.postgres - start.postgres
    return Cpu(end.workers - start.workers, postgres, end.sandbox - start.sandbox)


# --- the sandbox's truth ------------------------------------------------------------------------


def sandbox_rows(url: str, vendors: int, shipments: int) -> dict[str, int]:
    """Orders, items, units and exceptions the sandbox's shipments make (module docstring)."""
    kinds = {}
    for n in range(1, vendors + 1):
        dataset = generate_dataset(bench.SEED, shipments, mix=bench.BENCH_MIX, id_prefix=f"v{n}")
        kinds.update(dataset.variant_kinds)
    counts = dict.fromkeys(CHECKED_ROWS, 0)
    with httpx.Client(base_url=url, timeout=120) as http:
        for key in sync_http.sandbox_keys(vendors):
            listed = http.get("/control/shipments", params={"api_key": key})
            for entry in listed.raise_for_status().json()["shipments"]:
                units = entry["shipment"]["inventoryUnits"]
                variants = {unit["variant"]["id"] for unit in units}
                counts["orders"] += 1
                counts["items"] += len(variants)
                counts["units"] += len(units)
                counts["exceptions"] += sum(kinds[v] != "known" for v in variants)
    return counts


# --- one run ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setup:
    args: argparse.Namespace
    url: str
    sandbox_pid: int
    workdir: Path
    expected: dict[str, int]


@dataclass(slots=True)
class Database:
    url: str
    engine: Engine
    factory: sessionmaker[Session]
    scopes: list[VendorScope]


@dataclass(slots=True)
class Measured:
    label: str
    workers: int
    seconds: float
    orders: int
    waited: list[float]  # queued_at -> finished_at, per vendor
    ran: list[float]  # started_at -> finished_at, per vendor
    cpu: Cpu
    load: tuple[float, float]
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds > 0 else 0.0


def prepare(name: str, setup: Setup) -> Database:
    url = bench.fresh_database(
        "postgresql", name, workdir=setup.workdir, admin_url=setup.args.database_url
    )
    settings = sync_http.bench_settings(url, setup.workdir)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    scopes = sync_http.connect_vendors(factory, settings, setup.url, vendors=setup.args.vendors)
    return Database(url=url, engine=engine, factory=factory, scopes=scopes)


def run_direct(setup: Setup) -> Measured:
    """Every vendor's sync called in turn in this process."""
    db = prepare("ordergate_jobs_direct", setup)
    settings = sync_http.bench_settings(db.url, setup.workdir)
    box = SecretBox(settings.resolved_secret_key())
    meter = CpuMeter([], postmaster_of(db.engine), setup.sandbox_pid)
    start, load, started_at = meter.read(), os.getloadavg()[0], utcnow()
    for scope in db.scopes:
        try:
            run_sync(
                db.factory,
                settings=settings,
                box=box,
                scope=scope,
                trigger=SyncTrigger.BENCH,
                state=SyncState.ALL,
            )
        except AppError as failed:  # the run is marked failed: the checks report it
            print(f"direct sync of vendor {scope.vendor_id}: {failed.message}", file=sys.stderr)
    cpu = cpu_used(start, meter.read())
    return measured("direct, 1 process", 0, db, started_at, cpu, load, setup)


def run_workers(count: int, setup: Setup) -> Measured:
    """Every vendor's sync queued at once, run by ``count`` worker processes."""
    db = prepare(f"ordergate_jobs_{count}w", setup)
    with workers(count, db, setup) as pids:
        meter = CpuMeter(pids, postmaster_of(db.engine), setup.sandbox_pid)
        start, load, started_at = meter.read(), os.getloadavg()[0], utcnow()
        queue_all(db, setup)
        wait_until_ended(db.engine, setup.args.vendors, pids)
        cpu = cpu_used(start, meter.read())
    label = f"{count} worker{'s' if count > 1 else ''} × concurrency {setup.args.concurrency}"
    return measured(label, count, db, started_at, cpu, load, setup)


def worker_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "ORDERGATE_ENV": "development",
        "ORDERGATE_DATABASE_URL": database_url,
        "ORDERGATE_SECRET_KEY": sync_http.SECRET,
        "ORDERGATE_JOBS_MODE": "queue",
        "ORDERGATE_LETZSHOP_RECONCILE_DAYS": "0",
    }


@contextmanager
def workers(count: int, db: Database, setup: Setup) -> Iterator[list[int]]:
    """``count`` worker processes, seen registered in procrastinate; their pids. Stopped
    (SIGTERM) after."""
    command = [ORDERGATE, "worker", "--concurrency", str(setup.args.concurrency)]
    processes = []
    try:
        for n in range(count):
            with (setup.workdir / f"worker-{count}-{n}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        command, env=worker_env(db.url), stdout=log, stderr=subprocess.STDOUT
                    )
                )
        wait_until_registered(db.engine, count)
        yield [process.pid for process in processes]
    except BaseException:
        for log_path in sorted(setup.workdir.glob(f"worker-{count}-*.log")):
            print(f"--- {log_path.name}\n{log_path.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_registered(engine: Engine, count: int) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT count(*) FROM procrastinate_workers")) == count:
                return
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{count} workers did not register within {READY_SECONDS:.0f} s")


def queue_all(db: Database, setup: Setup) -> None:
    settings = sync_http.bench_settings(db.url, setup.workdir)
    box = SecretBox(settings.resolved_secret_key())
    queue = ProcrastinateSyncQueue(build_app(settings))
    try:
        for scope in db.scopes:
            queueing.queue_sync(
                db.factory,
                queue=queue,
                box=box,
                scope=scope,
                trigger=SyncTrigger.BENCH,
                state=SyncState.ALL,
            )
    finally:
        queue.close()


def wait_until_ended(engine: Engine, vendors: int, pids: list[int]) -> None:
    """Until every vendor's run has ended; fails if a worker exits meanwhile."""
    live = (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING)
    while True:
        with engine.connect() as conn:
            runs = conn.scalar(select(func.count()).select_from(SyncRun)) or 0
            waiting = conn.scalar(select(func.count()).where(SyncRun.status.in_(live))) or 0
        if runs >= vendors and not waiting:
            return
        if any(_stat_fields(pid) is None for pid in pids):
            raise RuntimeError("a worker exited during the run (see its log)")
        time.sleep(POLL_SECONDS)


# --- figures and checks -------------------------------------------------------------------------


def measured(
    label: str,
    count: int,
    db: Database,
    started_at: datetime,
    cpu: Cpu,
    load: float,
    setup: Setup,
) -> Measured:
    with db.factory() as session:
        runs = list(session.scalars(select(SyncRun).order_by(SyncRun.vendor_id)))
    rows = bench.count_rows(db.engine)
    db.engine.dispose()
    ended = [run.finished_at for run in runs if run.finished_at is not None]
    seconds = (max(ended) - started_at).total_seconds() if ended else math.inf
    return Measured(
        label=label,
        workers=count,
        seconds=seconds,
        orders=rows["orders"],
        waited=_spans(runs, queued=True),
        ran=_spans(runs, queued=False),
        cpu=cpu,
        load=(load, os.getloadavg()[0]),
        notes=check(label, runs, rows, setup),
    )


def _spans(runs: list[SyncRun], *, queued: bool) -> list[float]:
    spans = []
    for run in runs:
        begin = run.queued_at if queued else run.started_at
        if begin is not None and run.finished_at is not None:
            spans.append((run.finished_at - begin).total_seconds())
    return spans


def check(label: str, runs: list[SyncRun], rows: dict[str, int], setup: Setup) -> list[str]:
    notes = []
    per_vendor = Counter(run.vendor_id for run in runs)
    if len(per_vendor) != setup.args.vendors or set(per_vendor.values()) != {1}:
        notes.append(f"{label}: runs per vendor {dict(per_vendor)}, expected one each")
    for run in runs:
        if run.status != SyncRunStatus.SUCCEEDED:
            notes.append(f"{label}: run {run.id} {run.status}: {run.error}")
    for name in CHECKED_ROWS:
        if rows[name] != setup.expected[name]:
            notes.append(f"{label}: {rows[name]} {name}, the sandbox's make {setup.expected[name]}")
    return notes


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0-1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _pair(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{percentile(values, 0.5):.2f} / {percentile(values, 0.95):.2f}"


def _cores(seconds: float | None, wall: float) -> str:
    return "n/a" if seconds is None else f"{seconds:.1f} s ({seconds / wall:.2f})"


def report(results: list[Measured], args: argparse.Namespace) -> str:
    direct = results[0]
    lines = [
        f"{args.vendors} vendors × {args.shipments:,} shipments, PostgreSQL, over HTTP "
        f"from the sandbox; {CORES} cores. CPU: seconds (cores busy = CPU s / wall s).",
        "",
        "| run | wall s | orders/s | / direct | queued→finished p50 / p95 s "
        "| started→finished p50 / p95 s | CPU workers | CPU postgres | CPU sandbox "
        "| load start/end |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        lines.append(
            f"| {result.label} | {result.seconds:.1f} | {result.rate:,.0f} | "
            f"{result.seconds / direct.seconds:.2f}× | {_pair(result.waited)} | "
            f"{_pair(result.ran)} | {_cores(result.cpu.workers, result.seconds)} | "
            f"{_cores(result.cpu.postgres, result.seconds)} | "
            f"{_cores(result.cpu.sandbox, result.seconds)} | "
            f"{result.load[0]:.2f}/{result.load[1]:.2f} |"
        )
    lines.append("")
    lines.append(verdict(results))
    return "\n".join(lines)


def verdict(results: list[Measured]) -> str:
    direct = results[0]
    one = next((r for r in results if r.workers == 1), None)
    if one is None:
        return "job overhead: not measured (no 1-worker run)"
    overhead = one.seconds / direct.seconds
    status = "PASS" if overhead <= TARGET_OVERHEAD else "MISSED"
    rates = ", ".join(f"{r.workers or 'direct'}: {r.rate:,.0f}" for r in results)
    return (
        f"job overhead, 1 worker / direct: {overhead:.2f}× (target ≤ {TARGET_OVERHEAD}×) "
        f"— {status}. Orders/s by workers: {rates}."
    )


# --- the suite ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--vendors", type=int, default=50)
    parser.add_argument("--shipments", type=int, default=1_000, help="per vendor")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts, one run each")
    parser.add_argument("--concurrency", type=int, default=1, help="jobs at once per worker")
    parser.add_argument("--database-url", default=os.environ.get(bench.ENV_DATABASE_URL))
    parser.add_argument("--smoke", action="store_true", help="3 × 20, 1 and 2 workers")
    args = parser.parse_args(argv)
    if args.smoke:
        args.vendors, args.shipments, args.workers = 3, 20, "1,2"
    args.workers = [int(n) for n in args.workers.split(",")]
    return args


def run_all(args: argparse.Namespace, log: bench.Callable[[str], None]) -> list[Measured]:
    workdir = Path(tempfile.mkdtemp(prefix="ordergate-jobs-scale-"))
    try:
        with sync_http.sandbox_child(args.vendors, args.shipments) as (url, pid):
            expected = sandbox_rows(url, args.vendors, args.shipments)
            log(f"sandbox {args.vendors} × {args.shipments} on {url}: {expected}")
            setup = Setup(args=args, url=url, sandbox_pid=pid, workdir=workdir, expected=expected)
            results = [run_direct(setup)]
            log(f"direct: {results[0].seconds:.1f}s")
            for count in args.workers:
                results.append(run_workers(count, setup))
                log(f"{count} workers: {results[-1].seconds:.1f}s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.database_url:
        reason = f"the job queue needs PostgreSQL (--database-url or ${bench.ENV_DATABASE_URL})"
        if args.smoke:
            print(f"jobs_scale.py skipped: {reason}")
            return 0
        sys.exit(reason)
    results = run_all(args, bench._logger("jobs-scale"))
    print(report(results, args))
    notes = [note for result in results for note in result.notes]
    for note in notes:
        print(f"CHECK FAILED: {note}")
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())

"""The path a user runs (issue 12 §3): the real Letzshop sync over HTTP against the sandbox,
SQLite and PostgreSQL.

    .venv/bin/python scripts/with_postgres.py -- .venv/bin/python bench/sync_http.py
    .venv/bin/python bench/sync_http.py --backend sqlite --shipments 20000 --vendors 10

For each backend, into fresh migrated databases whose vendors hold the sandbox's catalog (two
products per duplicate GTIN, as in ``import_orders.py``):

1. **one vendor × N shipments** (default 20,000): ``letzshop.sync.run_sync`` — credentials
   read and decrypted, the run claimed, every page fetched over HTTP from the sandbox with the
   configured page size (50, the default), parsed, imported and committed, the run finished;
2. the same again into another fresh database under cProfile, for where the time goes: HTTP +
   GraphQL (the client's ``httpx`` post: the request, the sandbox's work, the answer), JSON
   decoding, parsing (``parse_shipment_page``, ``to_incoming_order``), the database (the rest
   of ``SyncJob.import_page``: the import, the run's heartbeat, the commit) and the rest;
3. **V vendors × N/V shipments in parallel** (default 10 × 2,000), one thread per vendor, each
   its own ``run_sync`` (a vendor's sync is one thread; vendors run side by side);
4. **the sandbox alone**: the same pages fetched with a bare ``httpx`` client and decoded,
   nothing parsed or written — what the sync could at best reach against this sandbox.

The sandbox runs in a child process (``--serve-sandbox``), so its CPU is not this process's
and its GIL is its own; on a 2-core machine it still competes for the cores with the sync and,
on PostgreSQL, the server. Every run checks its counts (orders, items, units created, nothing
failed, the run succeeded) and the bench exits 1 when they are wrong.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import import_orders as bench
import orjson
from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.db import make_engine, make_session_factory
from ordergate.letzshop import credentials
from ordergate.letzshop.graphql import SHIPMENTS_OPERATION, SHIPMENTS_QUERY, shipments_variables
from ordergate.letzshop.models import SyncRunStatus, SyncState, SyncTrigger
from ordergate.letzshop.sync import SyncSummary, run_sync
from ordergate.sandbox import SandboxState, run_in_thread
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

SECRET = "sync-http-bench-secret-0123456789abcdef"


# --- the sandbox, in a child process ------------------------------------------------------------


def sandbox_keys(vendors: int) -> dict[str, tuple[str, ...]]:
    return {f"bench-key-{n}": (f"bench-vendor-{n}",) for n in range(1, vendors + 1)}


def serve_sandbox(vendors: int, shipments: int) -> None:
    """The child: generate, serve on a free port, print its URL, serve until stdin closes."""
    state = SandboxState(
        seed=bench.SEED,
        shipments_per_vendor=shipments,
        mix=bench.BENCH_MIX,
        api_keys=sandbox_keys(vendors),
    )
    handle = run_in_thread(state)
    print(handle.url, flush=True)
    sys.stdin.read()
    handle.stop()


@contextmanager
def sandbox_child(vendors: int, shipments: int) -> Iterator[tuple[str, int]]:
    """A sandbox child serving ``vendors`` keys of ``shipments`` each; its base URL and pid."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-sandbox", str(vendors), str(shipments)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the sandbox did not start")
        yield url, child.pid
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


@contextmanager
def sandbox(vendors: int, shipments: int) -> Iterator[str]:
    """A sandbox child serving ``vendors`` keys of ``shipments`` each; its base URL."""
    with sandbox_child(vendors, shipments) as (url, _):
        yield url


# --- the bench's databases and vendors ----------------------------------------------------------


def bench_settings(database_url: str, workdir: Path) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=SECRET,
        secret_key_file=workdir / "secret",
        letzshop_reconcile_days=0,
    )


def connect_vendors(
    factory: sessionmaker[Session], settings: Settings, url: str, *, vendors: int
) -> list[VendorScope]:
    """``vendors`` vendors holding the sandbox's catalog, each with its sandbox key."""
    box = SecretBox(settings.resolved_secret_key())
    catalog = SandboxState(seed=bench.SEED, shipments_per_vendor=0).catalog
    scopes = []
    for n, key in enumerate(sandbox_keys(vendors), start=1):
        vendor = bench.seed_vendor(factory, catalog, code=f"bench{n}")
        scope = VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True)
        with factory() as session:
            credentials.set_credentials(
                session,
                scope=scope,
                box=box,
                settings=settings,
                api_key=key,
                endpoint=f"{url}/graphql",
            )
            session.commit()
        scopes.append(scope)
    return scopes


# --- one sync run -------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    seconds: float
    orders: int
    summaries: list[SyncSummary]
    notes: list[str] = field(default_factory=list)


def sync_all(
    backend: str,
    name: str,
    url: str,
    *,
    vendors: int,
    shipments: int,
    workdir: Path,
    admin_url: str | None,
    profiler: cProfile.Profile | None = None,
) -> Outcome:
    """Fresh database, ``vendors`` connected vendors, their syncs side by side; timed from the
    first ``run_sync`` call to the last one's return."""
    database_url = bench.fresh_database(backend, name, workdir=workdir, admin_url=admin_url)
    settings = bench_settings(database_url, workdir)
    box = SecretBox(settings.resolved_secret_key())
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    scopes = connect_vendors(factory, settings, url, vendors=vendors)
    before = bench.count_rows(engine)
    summaries: list[SyncSummary | BaseException] = [RuntimeError("not run")] * vendors

    def one(index: int) -> None:
        try:
            summaries[index] = run_sync(
                factory,
                settings=settings,
                box=box,
                scope=scopes[index],
                trigger=SyncTrigger.BENCH,
                state=SyncState.ALL,
            )
        except BaseException as exc:  # reported below as a failed check
            summaries[index] = exc

    started = time.perf_counter()
    if vendors == 1:
        if profiler:
            profiler.enable()
        one(0)
        if profiler:
            profiler.disable()
    else:
        threads = [threading.Thread(target=one, args=(n,)) for n in range(vendors)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.perf_counter() - started
    after = bench.count_rows(engine)
    engine.dispose()
    notes = []
    done = [s for s in summaries if isinstance(s, SyncSummary)]
    for failure in summaries:
        if not isinstance(failure, SyncSummary):
            notes.append(f"a sync raised {type(failure).__name__}: {failure}")
    for summary in done:
        if summary.status != SyncRunStatus.SUCCEEDED or summary.failed:
            notes.append(f"run {summary.run_id}: {summary.status}, {len(summary.failed)} failed")
        if summary.orders_created != shipments:
            notes.append(f"run {summary.run_id}: {summary.orders_created} orders, not {shipments}")
    created = after["orders"] - before["orders"]
    if created != vendors * shipments:
        notes.append(f"{created} orders in the database, expected {vendors * shipments}")
    if after["units"] - before["units"] <= created or after["items"] - before["items"] < created:
        notes.append("fewer items or units than orders")
    return Outcome(seconds=seconds, orders=created, summaries=done, notes=notes)


def sandbox_alone(url: str, vendors: int, page_size: int) -> tuple[float, int]:
    """Every vendor's pages over HTTP and ``orjson.loads``, nothing parsed: seconds, shipments."""
    shipments = 0
    started = time.perf_counter()
    with httpx.Client(timeout=60) as http:
        for key in sandbox_keys(vendors):
            after = None
            while True:
                payload = {
                    "query": SHIPMENTS_QUERY,
                    "variables": shipments_variables(None, page_size, after),
                    "operationName": SHIPMENTS_OPERATION,
                }
                response = http.post(
                    f"{url}/graphql", json=payload, headers={"Authorization": f"Bearer {key}"}
                )
                response.raise_for_status()
                connection = orjson.loads(response.content)["data"]["shipments"]
                shipments += len(connection["nodes"])
                if not connection["pageInfo"]["hasNextPage"]:
                    break
                after = connection["pageInfo"]["endCursor"]
    return time.perf_counter() - started, shipments


# --- the profile's summary ----------------------------------------------------------------------

# (share, where a function is): cumulative seconds of these functions.
_PROFILE_PARTS = {
    "http": ("letzshop/client.py", "_post_once"),
    "json": ("letzshop/client.py", "_json_body"),
    "parse": ("letzshop/parse.py", "parse_shipment_page"),
    "adapt": ("letzshop/adapter.py", "to_incoming_order"),
    "page": ("letzshop/sync.py", "import_page"),
    "total": ("letzshop/sync.py", "run_sync"),
}


def profile_shares(profiler: cProfile.Profile) -> dict[str, float]:
    """Seconds in HTTP + GraphQL, JSON decoding, parsing, the database, the rest."""
    stats = pstats.Stats(profiler)
    found = dict.fromkeys(_PROFILE_PARTS, 0.0)
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        for part, (path, name) in _PROFILE_PARTS.items():
            if function == name and filename.endswith(path):
                found[part] += row[3]  # cumulative time
    http = found["http"] - found["json"]  # _post_once decodes the body too
    parse = found["parse"] + found["adapt"]
    database = found["page"] - found["adapt"]
    rest = found["total"] - found["http"] - found["parse"] - found["page"]
    return {
        "HTTP + GraphQL": http,
        "JSON decode": found["json"],
        "parsing": parse,
        "database": database,
        "rest": rest,
        "total": found["total"],
    }


# --- the suite ----------------------------------------------------------------------------------


def run_backend(
    backend: str, args: argparse.Namespace, log: bench.Callable[[str], None]
) -> tuple[list[str], list[str]]:
    lines, notes = [], []
    workdir = Path(tempfile.mkdtemp(prefix="ordergate-sync-http-"))
    page_size = Settings().letzshop_page_size
    try:
        with sandbox(1, args.shipments) as url:
            log(f"sandbox with 1 vendor x {args.shipments} on {url}")
            load = os.getloadavg()[0]
            single = sync_all(
                backend,
                "ordergate_sync_one",
                url,
                vendors=1,
                shipments=args.shipments,
                workdir=workdir,
                admin_url=args.database_url,
            )
            log(f"1 vendor: {single.seconds:.1f}s")
            profiler = cProfile.Profile()
            profiled = sync_all(
                backend,
                "ordergate_sync_profiled",
                url,
                vendors=1,
                shipments=args.shipments,
                workdir=workdir,
                admin_url=args.database_url,
                profiler=profiler,
            )
            log(f"1 vendor under cProfile: {profiled.seconds:.1f}s")
            alone_one, read_one = sandbox_alone(url, 1, page_size)
            log(f"sandbox alone, 1 vendor: {alone_one:.1f}s")
        per_vendor = args.shipments // args.vendors
        with sandbox(args.vendors, per_vendor) as url:
            log(f"sandbox with {args.vendors} vendors x {per_vendor} on {url}")
            parallel = sync_all(
                backend,
                "ordergate_sync_parallel",
                url,
                vendors=args.vendors,
                shipments=per_vendor,
                workdir=workdir,
                admin_url=args.database_url,
            )
            log(f"{args.vendors} vendors: {parallel.seconds:.1f}s")
            alone_many, read_many = sandbox_alone(url, args.vendors, page_size)
        load_end = os.getloadavg()[0]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for outcome in (single, profiled, parallel):
        notes += [f"{backend}: {note}" for note in outcome.notes]
    if read_one != args.shipments or read_many != per_vendor * args.vendors:
        notes.append(f"{backend}: the sandbox alone read {read_one} and {read_many} shipments")
    for label, outcome, alone in (
        (f"1 × {args.shipments:,}", single, alone_one),
        (f"{args.vendors} × {per_vendor:,} in parallel", parallel, alone_many),
    ):
        lines.append(
            f"| {backend} | {label} | {outcome.seconds:.2f} | "
            f"{outcome.orders / outcome.seconds:,.0f} | {alone:.2f} | "
            f"{outcome.orders / alone:,.0f} | {outcome.seconds / alone:.1f}x | "
            f"{load:.2f}/{load_end:.2f} |"
        )
    shares = profile_shares(profiler)
    total = shares.pop("total") or 1.0
    parts = ", ".join(f"{name} {sec:.1f}s ({sec / total:.0%})" for name, sec in shares.items())
    lines.append(f"|  | profile of 1 × {args.shipments:,} ({total:.1f}s under cProfile): {parts} |")
    return lines, notes


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--serve-sandbox"]:
        serve_sandbox(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shipments", type=int, default=bench.TARGET_SIZE)
    parser.add_argument("--vendors", type=int, default=10)
    parser.add_argument("--backend", choices=("all", "sqlite", "postgresql"), default="all")
    parser.add_argument("--database-url", default=os.environ.get(bench.ENV_DATABASE_URL))
    args = parser.parse_args(argv)
    backends = bench.chosen_backends(args.backend, args.database_url)
    lines, notes = [], []
    for backend in backends:
        more, problems = run_backend(backend, args, bench._logger(f"sync-http {backend}"))
        lines += more
        notes += problems
    print(
        "| backend | vendors × shipments | sync s | orders/s | sandbox alone s | "
        "sandbox alone orders/s | sync / sandbox alone | load start/end |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    print("\n".join(lines))
    for note in notes:
        print(f"CHECK FAILED: {note}")
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())

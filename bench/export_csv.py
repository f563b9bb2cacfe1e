#!/usr/bin/env python3
"""Throughput and memory of the exceptions CSV export (GET …/order-exceptions/export.csv) on
the generated dataset, served by uvicorn over a real socket.

    .venv/bin/python bench/export_csv.py                # SQLite, bench/out/bench.db
    .venv/bin/python bench/export_csv.py --database-url postgresql+psycopg://...

The dataset is bench/exceptions_api.py's (1M order items, 100,000 exceptions, 50 vendors),
generated and loaded when the database holds none. Each export runs in a child process of its
own (`--measure`), so its peak RSS (`ru_maxrss`) is that export's alone and not the dataset
generator's: the child starts the app under uvicorn in a thread, logs in, reads its peak RSS
(the baseline), then streams the export over HTTP to a temporary file, reads the peak again,
and checks the file with the csv module (the header, one row per exception matching the
filter, no id twice). Two exports are measured: one vendor's rows through the vendor tree,
and every vendor's 100,000 through the admin tree; constant memory means the two peaks are
about equal whatever the row count. Reported: rows/s, MB/s, time to the first byte and the
p50/p95 gap between the body's chunks (one chunk per batch of rows), peak RSS and its growth.
Exit 1 when a row count is wrong.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import exceptions_api  # noqa: E402
import generate_dataset  # noqa: E402
import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from ordergate.app import create_app  # noqa: E402
from ordergate.auth.repository import emails_of  # noqa: E402
from ordergate.config import Settings  # noqa: E402
from ordergate.item_exceptions import export  # noqa: E402
from ordergate.orders.models import OrderItemException  # noqa: E402
from ordergate.security import use_cheap_password_hashing  # noqa: E402

EXPECTED_TOTAL = 100_000
EARLY_BYTES = 2 * 2**20  # about 12,000 rows: the RSS then is compared with the RSS at the end


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} missing from /proc/self/status")


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM). Not `ru_maxrss`: Linux keeps that across exec, so a
    child of the parent that generated the dataset would report the parent's peak."""
    return _status_mib("VmHWM")


def rss_mib() -> float:
    return _status_mib("VmRSS")


def serve(url: str) -> tuple[uvicorn.Server, str, Any]:
    app = create_app(
        Settings(
            env="test", database_url=url, secret_key="bench-secret-key-for-ordergate-benchmarks"
        )
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", app


def measure(url: str, tree: str) -> dict[str, Any]:
    """One export in this process: `tree` admin (every vendor) or vendor (the biggest)."""
    use_cheap_password_hashing()
    server, base, app = serve(url)
    with app.state.session_factory() as session:
        vendor_id, vendor_code = exceptions_api.biggest_vendor(session)
        exceptions_api.ensure_users(session, vendor_code)
        scope = [] if tree == "admin" else [OrderItemException.vendor_id == vendor_id]
        expected = (
            session.scalar(select(func.count()).select_from(OrderItemException).where(*scope)) or 0
        )
    with httpx.Client(base_url=base, timeout=120) as http:
        body = {"email": "admin@bench.test", "password": exceptions_api.PASSWORD}
        if tree == "vendor":
            body = {"email": "staff@bench.test", "password": exceptions_api.PASSWORD}
            body["vendor_code"] = vendor_code
        token = http.post("/api/v1/auth/login", json=body).raise_for_status().json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        path = f"/api/v1/{tree}/order-exceptions/export.csv"
        # Warm-up: the app's first requests (imports, pools, plans) before the baseline.
        http.get(f"/api/v1/{tree}/order-exceptions", headers=headers).raise_for_status()
        baseline = peak_rss_mib()
        gaps: list[float] = []
        size = 0
        first_byte = 0.0
        early_rss: float | None = None
        with tempfile.TemporaryFile() as sink:
            started = time.perf_counter()
            with http.stream("GET", path, headers=headers) as response:
                response.raise_for_status()
                last = None
                for chunk in response.iter_raw():
                    now = time.perf_counter()
                    if last is None:
                        first_byte = now - started
                    else:
                        gaps.append((now - last) * 1000)
                    last = now
                    size += len(chunk)
                    sink.write(chunk)
                    if early_rss is None and size >= EARLY_BYTES:
                        early_rss = rss_mib()
            seconds = time.perf_counter() - started
            peak, end_rss = peak_rss_mib(), rss_mib()
            sink.seek(0)
            rows, unique = check(sink)
    server.should_exit = True
    return {
        "tree": tree,
        "rows": rows,
        "expected": expected,
        "unique": unique,
        "seconds": seconds,
        "bytes": size,
        "first_byte_ms": first_byte * 1000,
        "gap_p50_ms": statistics.median(gaps) if gaps else 0.0,
        "gap_p95_ms": (
            statistics.quantiles(gaps, n=100, method="inclusive")[94] if len(gaps) > 1 else 0.0
        ),
        "chunks": len(gaps) + 1,
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak,
        "early_rss_mib": early_rss,
        "end_rss_mib": end_rss,
    }


def measure_service(url: str) -> dict[str, Any]:
    """Every vendor's export through `export.iter_csv` in this process, without HTTP: what the
    rows cost to read and encode alone."""
    app = create_app(
        Settings(
            env="test", database_url=url, secret_key="bench-secret-key-for-ordergate-benchmarks"
        )
    )
    sessions = app.state.read_session_factory
    with sessions() as session:
        expected = session.scalar(select(func.count()).select_from(OrderItemException)) or 0
    job = export.Export(
        scope=exceptions_api.EVERY_VENDOR, filters=export.ExportFilters(), emails=emails_of
    )
    baseline = peak_rss_mib()
    gaps: list[float] = []
    size = 0
    with tempfile.TemporaryFile() as sink:
        started = last = time.perf_counter()
        first_byte = 0.0
        early_rss: float | None = None
        for index, chunk in enumerate(export.iter_csv(sessions, job)):
            now = time.perf_counter()
            if index == 1:
                first_byte = now - started
            elif index > 1:
                gaps.append((now - last) * 1000)
            last = now
            size += len(chunk)
            sink.write(chunk)
            if early_rss is None and size >= EARLY_BYTES:
                early_rss = rss_mib()
        seconds = time.perf_counter() - started
        peak, end_rss = peak_rss_mib(), rss_mib()
        sink.seek(0)
        rows, unique = check(sink)
    return {
        "tree": "service",
        "rows": rows,
        "expected": expected,
        "unique": unique,
        "seconds": seconds,
        "bytes": size,
        "first_byte_ms": first_byte * 1000,
        "gap_p50_ms": statistics.median(gaps),
        "gap_p95_ms": statistics.quantiles(gaps, n=100, method="inclusive")[94],
        "chunks": len(gaps) + 2,
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak,
        "early_rss_mib": early_rss,
        "end_rss_mib": end_rss,
    }


def check(sink: Any) -> tuple[int, int]:
    """Rows and distinct ids of the CSV file, read back with the csv module."""
    text = (line.decode("utf-8") for line in sink)
    reader = csv.reader(text)
    assert tuple(next(reader)) == export.COLUMNS
    ids = set()
    rows = 0
    for row in reader:
        assert len(row) == len(export.COLUMNS), row
        ids.add(int(row[0]))
        rows += 1
    return rows, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, default=exceptions_api.DEFAULT_SQLITE)
    parser.add_argument("--database-url")
    parser.add_argument("--measure", choices=("admin", "vendor", "service"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{args.sqlite}"
    if args.measure:
        result = measure_service(url) if args.measure == "service" else measure(url, args.measure)
        print(json.dumps(result), flush=True)
        return
    load = os.getloadavg()[0]
    exceptions_api.prepare_dataset(url, regenerate=False, seed=generate_dataset.SEED)
    print(f"database: {url.split('@')[-1]}, batch size {export.BATCH_SIZE}, load {load:.2f}")
    failed = False
    for tree in ("vendor", "admin", "service"):
        child = subprocess.run(
            [sys.executable, __file__, "--database-url", url, "--measure", tree],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stdout, child.stderr)
            sys.exit(1)
        r = json.loads(child.stdout.strip().splitlines()[-1])
        ok = r["rows"] == r["expected"] == r["unique"] and (
            tree == "vendor" or r["rows"] == EXPECTED_TOTAL
        )
        failed |= not ok
        verdict = "ok" if ok else f"WRONG, expected {r['expected']}"
        growth = r["peak_rss_mib"] - r["baseline_rss_mib"]
        print(
            f"{tree:6} rows {r['rows']:>7,} ({verdict})"
            f"  {r['rows'] / r['seconds']:>8,.0f} rows/s"
            f"  {r['bytes'] / r['seconds'] / 2**20:5.1f} MB/s  {r['seconds']:5.2f} s"
            f"  first byte {r['first_byte_ms']:.0f} ms"
            f"  chunk gap p50/p95 {r['gap_p50_ms']:.1f}/{r['gap_p95_ms']:.1f} ms"
            f" ({r['chunks']} chunks)"
            f"  peak RSS {r['baseline_rss_mib']:.0f} -> {r['peak_rss_mib']:.0f} MiB"
            f" (+{growth:.1f}); RSS after 2 MB {r['early_rss_mib'] or 0:.0f}, at end"
            f" {r['end_rss_mib']:.0f} MiB",
            flush=True,
        )
    print(f"load at end {os.getloadavg()[0]:.2f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

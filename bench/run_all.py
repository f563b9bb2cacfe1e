#!/usr/bin/env python3
"""Every benchmark, on SQLite and (when ORDERGATE_TEST_DATABASE_URL names a PostgreSQL server,
as `make bench` arranges) on PostgreSQL, each PostgreSQL run in a fresh database.

    .venv/bin/python scripts/with_postgres.py -- .venv/bin/python bench/run_all.py

`--smoke` runs the import, peer, HTTP sync, auto-match, feed and dashboard-pages benches at a
tiny size on SQLite only (about 1 minute on a quiet machine; `make test` does, so a refactor that
breaks a bench fails there); the jobs-at-scale bench, PostgreSQL only, runs at its smoke size
when ORDERGATE_TEST_DATABASE_URL is set and says it is skipped otherwise. Each bench checks its
own row counts and exits non-zero when they are wrong; the figures of a smoke run mean nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).parent


def fresh_database(admin_url: str, name: str) -> str:
    url = make_url(admin_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def run(script: str, *args: str) -> None:
    print(f"\n=== {script} {' '.join(args)}".rstrip(), flush=True)
    subprocess.run([sys.executable, str(BENCH / script), *args], check=True)


def smoke() -> None:
    run("import_orders.py", "--orders", "50,100", "--backend", "sqlite")
    run("peer_naive.py", "--orders", "50", "--backend", "sqlite")
    run("sync_http.py", "--shipments", "40", "--vendors", "2", "--backend", "sqlite")
    run("auto_match.py", "--exceptions", "200", "--products", "500")
    run("feed_import.py", "--rows", "2000")
    run("dashboard_pages.py", "--smoke")
    run("jobs_scale.py", "--smoke")  # PostgreSQL only: skipped without a URL


def main() -> None:
    if sys.argv[1:] == ["--smoke"]:
        smoke()
        return
    pg = os.environ.get("ORDERGATE_TEST_DATABASE_URL")
    # SQLite, and PostgreSQL through the same variable (each makes its own fresh databases)
    run("import_orders.py")
    run("peer_naive.py")
    run("sync_http.py")
    run("auto_match.py")
    if pg:
        run("auto_match.py", "--database-url", fresh_database(pg, "ordergate_bench_match"))
    run("exceptions_api.py", "--regenerate")
    run("export_csv.py")  # on exceptions_api.py's dataset
    run("deadlines_kpis.py")
    run("dashboard_pages.py")
    if pg:
        api_url = fresh_database(pg, "ordergate_bench_api")
        run("exceptions_api.py", "--database-url", api_url)
        run("export_csv.py", "--database-url", api_url)
        run("deadlines_kpis.py", "--database-url", api_url)
        run("dashboard_pages.py", "--database-url", api_url)
    run("feed_import.py")
    if pg:
        run("feed_import.py", "--database-url", fresh_database(pg, "ordergate_bench_feed"))
        run("jobs_scale.py")  # PostgreSQL only: the job queue


if __name__ == "__main__":
    main()

"""How long `agentdesk demo-data --customers 100000 --tickets 1000000` takes, and how big the database gets.

Starts a fresh embedded server in a temporary folder (normal durability settings unless --unsafe-fast),
brings the schema to head, then times the real command in a subprocess, as a user would run it, and
prints the elapsed time, the row counts and pg_database_size. Run:

    /work/venv/bin/python benchmarks/bench_demo_data.py [--customers N] [--tickets N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

from agentdesk import embedded
from agentdesk.config import DATABASE_NAME
from agentdesk.db import migrate

TABLES = ("customer", "subscription", "job", "billing_item", "ticket", "ticket_event", "offer", "adhoc_discount")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--unsafe-fast", action="store_true", help="fsync off, as the test server runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="agentdesk-bench-demo-"))
    server = embedded.start(root / "postgres", unsafe_fast=args.unsafe_fast)
    try:
        migrate.upgrade(server.admin_url(DATABASE_NAME))
        env = dict(os.environ, AGENTDESK_DATA_DIR=str(root), AGENTDESK_CONFIG_DIR=str(root / "config"))
        env.pop("AGENTDESK_DATABASE_URL", None)
        env.pop("AGENTDESK_USER", None)
        command = [sys.executable, "-m", "agentdesk", "demo-data", "--customers", str(args.customers),
                   "--tickets", str(args.tickets), "--seed", str(args.seed)]
        print("$ agentdesk " + " ".join(command[3:]), flush=True)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        result = subprocess.run(command, env=env, text=True, capture_output=True)
        elapsed = time.perf_counter() - started
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()[0]
        print(result.stdout, end="")
        if result.returncode != 0:
            print(result.stderr, end="", file=sys.stderr)
            return result.returncode

        conn = psycopg2.connect(host=server.socket_dir, user="postgres", password=server.superuser_password,
                                dbname=DATABASE_NAME)
        try:
            with conn.cursor() as cur:
                counts = {}
                for table in TABLES:
                    cur.execute(f"SELECT count(*) FROM {table}")
                    counts[table] = cur.fetchone()[0]
                cur.execute("SELECT pg_size_pretty(pg_database_size(current_database())),"
                            " pg_size_pretty(pg_total_relation_size('ticket')),"
                            " pg_size_pretty(pg_total_relation_size('ticket_event'))")
                db_size, ticket_size, event_size = cur.fetchone()
        finally:
            conn.close()
        print()
        print(f"elapsed (whole command, incl. start-up): {elapsed:.1f} s ({elapsed / 60:.1f} min)")
        # The machine may be shared: the command's own CPU time and the load say how much that mattered.
        print(f"CPU of the command (Python side): {cpu.ru_utime + cpu.ru_stime:.1f} s on {os.cpu_count()} cores;"
              f" load average {load_before:.1f} before, {load_after:.1f} after")
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        print(f"database size: {db_size} (ticket {ticket_size}, ticket_event {event_size})")
        if args.keep:
            print(f"kept: {root}")
        return 0
    finally:
        server.release()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

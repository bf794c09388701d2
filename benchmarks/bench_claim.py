"""Benchmark: claiming tickets from one big service queue with many agents at once.

Builds a queue of --tickets queued tickets (bulk INSERT ... SELECT generate_series as the installer, with
the ticket triggers disabled during the load), then with --agents concurrent agent connections (threads,
one Database each, each agent its own login role):

1. bare SQL: `UPDATE ticket ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)` over raw psycopg2
   (triggers still on: stamps, version, state machine, notification), --claims claims;
2. the service: `queues.take_next` (event and notification included), --claims claims;
3. the service paced at --rate claims per second, for latency (p50 / p99 from the scheduled start);

and reports claims/s for 1 and 2 with their ratio, double claims (must be zero), p50 of the first and last
1000 claims of run 2, and EXPLAIN of both claim statements (the queue index, no Sort node).

Runs on its own embedded PostgreSQL in a temporary folder, so nobody's data is touched:
    /work/venv/bin/python benchmarks/bench_claim.py --tickets 20000 --claims 2000 --agents 10   # quick
    /work/venv/bin/python benchmarks/bench_claim.py                                           # full size
Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL

from agentdesk import bootstrap, embedded
from agentdesk.bootstrap import Database
from agentdesk.db import migrate
from agentdesk.demo.reference import load_reference_data
from agentdesk.services import queues, users
from agentdesk.services.dto import QueueFilter
from agentdesk.services.notifications import connect_kwargs

DATABASE = "agentdesk_bench"
SERVER_ROOT: list[Path] = [Path("/nonexistent")]  # set in main()
PASSWORD = "bench-password-123"
BARE_CLAIM = """
UPDATE ticket SET state = 'in_progress', assigned_to = session_user
WHERE id = (
    SELECT id FROM ticket
    WHERE state = 'queued' AND queue_unit_id = %(unit)s
    ORDER BY priority, due_at, customer_value DESC, id
    FOR UPDATE SKIP LOCKED
    LIMIT 1)
RETURNING id
"""


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


# -- setting up ------------------------------------------------------------------------------------------


def prepare(server: embedded.EmbeddedServer, tickets: int, agents: int) -> tuple[URL, list[str], int]:
    admin = server.admin_url(DATABASE)
    started = time.perf_counter()
    migrate.upgrade(admin)
    installer = bootstrap.connect_url(admin)
    try:
        with installer.session() as s:
            load_reference_data(s, dt.date.today())
        names = [f"bench_agent_{i:02d}" for i in range(agents)]
        for name in names:
            users.add_user(installer, name, role="csr", password=PASSWORD, display_name=name, units=("retention",))
        with installer.session() as s:
            unit_id = s.execute(text("SELECT id FROM unit WHERE code = 'retention'")).scalar_one()
    finally:
        installer.dispose()
    log(f"schema, reference data and {agents} agents ready in {time.perf_counter() - started:.1f} s")

    customers = max(1, min(tickets, 100_000))
    started = time.perf_counter()
    engine = create_engine(admin)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO customer (account_number, name, segment, customer_since, lifetime_value) "
            "SELECT 'B-' || lpad(g::text, 7, '0'), 'Bench customer ' || g, "
            "(ARRAY['platinum','gold','silver','bronze'])[1 + (g % 4)::int], DATE '2015-01-01' + (g % 3000)::int, "
            "((g * 7919) % 1000000) / 100.0 FROM generate_series(1::bigint, :n) g"), {"n": customers})
        first_customer = conn.execute(text("SELECT min(id) FROM customer")).scalar_one()
        # The bulk load is the installer's: user triggers off (numbers, stamps, state machine, notify).
        conn.execute(text("ALTER TABLE ticket DISABLE TRIGGER USER"))
        conn.execute(text(
            "INSERT INTO ticket (id, number, customer_id, channel, call_type, state, queue_unit_id, priority, "
            " customer_value, due_at, created_by, updated_by, version) "
            "SELECT g, 'T-' || lpad(g::text, 7, '0'), :c0 + (g % :nc), 'phone', 'cancellation', 'queued', :u, "
            " 1 + (g * 7919) % 5, ((g * 31337) % 1000000) / 100.0, "
            " now() + ((g * 104729) % 10080) * interval '1 minute', 'installer', 'installer', 1 "
            "FROM generate_series(1::bigint, :n) g"),
            {"n": tickets, "nc": customers, "c0": first_customer, "u": unit_id})
        conn.execute(text("ALTER TABLE ticket ENABLE TRIGGER USER"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), :n)"), {"n": tickets})
    engine.dispose()
    vacuum(admin)
    log(f"{tickets:,} queued tickets for {customers:,} customers loaded in {time.perf_counter() - started:.1f} s")
    return admin, names, unit_id


def vacuum(admin: URL) -> None:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) ticket"))
        conn.execute(text("VACUUM (ANALYZE) customer"))
    engine.dispose()


# -- measuring -------------------------------------------------------------------------------------------


def server_cpu_seconds(root: Path) -> float:
    """CPU used so far by the embedded server: the postmaster, its live backends and the reaped ones."""
    try:
        pid = int((root / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    tick = os.sysconf("SC_CLK_TCK")

    def fields(p: str) -> list[str]:
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    try:
        own = fields(str(pid))
    except OSError:
        return float("nan")
    total = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime (reaped backends)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                f = fields(entry)
            except OSError:
                continue
            if int(f[1]) == pid:
                total += int(f[11]) + int(f[12])
    return total / tick


@dataclass
class Run:
    name: str
    claims: list[tuple[float, float, float, int]] = field(default_factory=list)  # scheduled, start, end, id
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    client_cpu: float = 0.0  # this process (the agents' Python and driver)
    server_cpu: float = 0.0  # the PostgreSQL server

    @property
    def rate(self) -> float:
        return len(self.claims) / self.wall if self.wall else 0.0

    def latencies_ms(self, *, from_schedule: bool = False) -> list[float]:
        ordered = sorted(self.claims, key=lambda c: c[2])
        return [(end - (sched if from_schedule else start)) * 1000 for sched, start, end, _ in ordered]

    def double_claims(self) -> int:
        counts = Counter(c[3] for c in self.claims)
        return sum(n - 1 for n in counts.values() if n > 1)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def run_agents(
    name: str, agents: int, total: int, open_agent: Callable[[int], object],
    claim: Callable[[object], int | None], close: Callable[[object], None], rate: float | None = None,
) -> Run:
    """`agents` threads share `total` claims; with `rate`, claim k is scheduled at k / rate seconds."""
    run = Run(name)
    lock = threading.Lock()
    next_k = [0]
    ready = threading.Barrier(agents + 1)
    t0_box: list[float] = []

    def agent(i: int) -> None:
        handle = open_agent(i)
        try:
            ready.wait()
            ready.wait()  # start together
            t0 = t0_box[0]
            while True:
                with lock:
                    k = next_k[0]
                    if k >= total:
                        return
                    next_k[0] += 1
                scheduled = t0 + k / rate if rate else time.perf_counter()
                if rate and (delay := scheduled - time.perf_counter()) > 0:
                    time.sleep(delay)
                start = time.perf_counter()
                got = claim(handle)
                end = time.perf_counter()
                if got is None:
                    run.errors.append("queue empty")
                    return
                with lock:
                    run.claims.append((scheduled, start, end, got))
        except Exception as exc:  # reported with the figures
            run.errors.append(f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(threading.BrokenBarrierError):
                ready.abort()
        finally:
            close(handle)

    threads = [threading.Thread(target=agent, args=(i,), daemon=True) for i in range(agents)]
    for th in threads:
        th.start()
    ready.wait()  # everyone connected
    t0_box.append(time.perf_counter() + 0.05)
    cpu0, server0 = time.process_time(), server_cpu_seconds(SERVER_ROOT[0])
    start = time.perf_counter()
    ready.wait()
    for th in threads:
        th.join()
    run.wall = time.perf_counter() - start
    run.client_cpu = time.process_time() - cpu0
    time.sleep(1.0)  # the agents' backends exit and are reaped: their CPU moves to the postmaster's account
    run.server_cpu = server_cpu_seconds(SERVER_ROOT[0]) - server0
    return run


def bare_run(admin: URL, names: list[str], unit_id: int, claims: int) -> Run:
    def open_agent(i: int) -> object:
        url = admin.set(username=names[i], password=PASSWORD)
        conn = psycopg2.connect(**connect_kwargs(url))
        return conn

    def claim(conn: object) -> int | None:
        assert isinstance(conn, psycopg2.extensions.connection)
        with conn.cursor() as cur:
            cur.execute(BARE_CLAIM, {"unit": unit_id})
            row = cur.fetchone()
        conn.commit()
        return None if row is None else int(row[0])

    return run_agents("bare SQL", len(names), claims, open_agent, claim, lambda c: c.close())  # type: ignore[attr-defined]


def service_run(admin: URL, names: list[str], claims: int, rate: float | None = None) -> Run:
    def open_agent(i: int) -> object:
        return bootstrap.connect_url(admin.set(username=names[i], password=PASSWORD), pool_size=1)

    def claim(db: object) -> int | None:
        assert isinstance(db, Database)
        t = queues.take_next(db)
        return None if t is None else t.id

    name = "take_next" if rate is None else f"take_next paced at {rate:g}/s"
    return run_agents(name, len(names), claims, open_agent, claim, lambda db: db.dispose(), rate)  # type: ignore[attr-defined]


def explain(admin: URL, agent: str, unit_id: int) -> None:
    """EXPLAIN both claim statements as an agent (ANALYZE inside a transaction that is rolled back; the
    second run of each is shown). The take_next statement is the one the service prepares."""
    service_sql = str(
        queues.CLAIM_NEXT_STATEMENT.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    conn = psycopg2.connect(**connect_kwargs(admin.set(username=agent, password=PASSWORD)))
    try:
        for label, sql in (("bare SQL claim", BARE_CLAIM % {"unit": unit_id}), ("take_next claim", service_sql)):
            for _warm_up in range(2):  # the first run in a session also compiles the trigger functions
                with conn.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
                    plan = [r[0] for r in cur.fetchall()]
                conn.rollback()
            uses_index = any("ix_ticket_queue_order" in line for line in plan)
            sorts = any(line.strip().startswith("Sort") or "-> Sort" in line or "->  Sort" in line for line in plan)
            print(f"\nEXPLAIN {label}: queue index used: {'yes' if uses_index else 'NO'}; "
                  f"Sort node: {'YES' if sorts else 'none'}")
            for line in plan:
                print("    " + line)
    finally:
        conn.close()


def queue_reads(admin: URL, agent: str) -> None:
    """How long the queue screen's reads take on this queue (second run of each, warm)."""
    db = bootstrap.connect_url(admin.set(username=agent, password=PASSWORD), pool_size=1)
    try:
        for _warm_up in range(2):
            t = time.perf_counter()
            counts = queues.queue_counts(db)
            t_counts = time.perf_counter() - t
            t = time.perf_counter()
            page = queues.list_queue(db, "retention", limit=50)
            t_first = time.perf_counter() - t
            key = page.next_key
            t = time.perf_counter()
            for _ in range(99):  # to page 100 by keyset
                page = queues.list_queue(db, "retention", after_key=key, limit=50)
                key = page.next_key
            t_page = (time.perf_counter() - t) / 99
            t = time.perf_counter()
            queues.list_queue(db, "retention", QueueFilter(text="B-0012345"), limit=50)
            t_search = time.perf_counter() - t
        print(f"\nqueue_counts {t_counts * 1000:.1f} ms ({counts.queued('retention'):,} queued); list_queue first page "
              f"{t_first * 1000:.1f} ms, pages 2-100 {t_page * 1000:.1f} ms each; account search {t_search * 1000:.1f} ms")
    finally:
        db.dispose()


def check_database(admin: URL) -> tuple[int, int]:
    """(tickets claimed more than once by events, tickets in progress without exactly one claim event)."""
    engine = create_engine(admin)
    with engine.connect() as conn:
        doubled = conn.execute(text(
            "SELECT count(*) FROM (SELECT ticket_id FROM ticket_event WHERE kind = 'claimed' "
            "GROUP BY ticket_id HAVING count(*) > 1) d")).scalar_one()
        in_progress = conn.execute(text("SELECT count(*) FROM ticket WHERE state = 'in_progress'")).scalar_one()
    engine.dispose()
    return int(doubled), int(in_progress)


def report(run: Run) -> None:
    lat = run.latencies_ms()
    n = max(len(run.claims), 1)
    print(f"{run.name:<26} {len(run.claims):>6,} claims in {run.wall:6.2f} s = {run.rate:7.1f} claims/s; "
          f"latency p50 {pct(lat, 50):6.2f} ms, p99 {pct(lat, 99):6.2f} ms; CPU per claim: server "
          f"{run.server_cpu / n * 1000:.2f} ms, client {run.client_cpu / n * 1000:.2f} ms; "
          f"double claims {run.double_claims()}; errors {len(run.errors)}")
    for e in sorted(set(run.errors))[:3]:
        print(f"    error: {e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rate", type=float, nargs="+", default=[500.0], help="paced runs: claims per second")
    parser.add_argument("--paced-seconds", type=float, default=10.0, help="length of each paced run")
    parser.add_argument("--fsync", action="store_true", help="keep fsync on (default: off, like the test server)")
    args = parser.parse_args(argv)
    needed = 2 * args.claims + sum(int(r * args.paced_seconds) for r in args.rate)
    if args.tickets < needed:
        parser.error(f"--tickets must be at least {needed:,} (two runs of --claims and the paced runs)")
    # Each agent is really its own workstation process; in one process, let a thread whose answer has
    # arrived get the interpreter sooner than the default 5 ms switch interval would.
    sys.setswitchinterval(0.0005)

    root = Path(tempfile.mkdtemp(prefix="agentdesk-bench-"))
    SERVER_ROOT[0] = root
    log(f"starting a private embedded PostgreSQL in {root} (fsync {'on' if args.fsync else 'off'})")
    server = embedded.start(root, unsafe_fast=not args.fsync, delete_on_exit=True)
    try:
        admin, names, unit_id = prepare(server, args.tickets, args.agents)
        explain(admin, names[0], unit_id)
        queue_reads(admin, names[0])

        log(f"bare SQL: {args.agents} agents, {args.claims:,} claims")
        bare = bare_run(admin, names, unit_id, args.claims)
        vacuum(admin)  # both runs start from a vacuumed queue head
        log(f"take_next: {args.agents} agents, {args.claims:,} claims")
        service = service_run(admin, names, args.claims)
        doubled_events, in_progress = check_database(admin)
        vacuum(admin)
        paced_runs = []
        for rate in args.rate:
            paced_claims = int(rate * args.paced_seconds)
            log(f"take_next paced at {rate:g}/s: {paced_claims:,} claims")
            paced_runs.append((rate, service_run(admin, names, paced_claims, rate=rate)))
            vacuum(admin)
        explain(admin, names[0], unit_id)  # after all the claims

        print()
        print(f"queue: {args.tickets:,} tickets; agents: {args.agents} threads, one Database each; "
              f"fsync {'on' if args.fsync else 'off'}; {os.cpu_count()} CPUs shared by server and agents")
        report(bare)
        report(service)
        for _rate, paced in paced_runs:
            report(paced)
        ratio = service.rate / bare.rate if bare.rate else float("nan")
        print(f"take_next / bare SQL throughput ratio: {ratio:.2f} (target >= 0.5)")
        server_ratio = (bare.server_cpu / max(len(bare.claims), 1)) / (service.server_cpu / max(len(service.claims), 1))
        print(f"take_next / bare SQL ratio of claims per server CPU second: {server_ratio:.2f} "
              "(what a database server shared by many workstations can sustain)")
        for rate, paced in paced_runs:
            sched = paced.latencies_ms(from_schedule=True)
            print(f"paced {rate:g}/s achieved {paced.rate:.1f}/s; latency from scheduled start p50 "
                  f"{pct(sched, 50):.2f} ms, p99 {pct(sched, 99):.2f} ms (target at 500/s: p99 <= 50 ms)")
        for run in (bare, service):
            lat = run.latencies_ms()
            print(f"{run.name}: p50 of the first 1000 claims {statistics.median(lat[:1000]):.2f} ms, "
                  f"of the last 1000 {statistics.median(lat[-1000:]):.2f} ms")
        paced_doubles = sum(p.double_claims() for _r, p in paced_runs)
        print(f"double claims: bare {bare.double_claims()}, take_next {service.double_claims()}, "
              f"paced {paced_doubles}; tickets with more than one 'claimed' event: {doubled_events}; "
              f"tickets in progress after the first two runs {in_progress:,} "
              f"(claims made: {len(bare.claims) + len(service.claims):,})")
        ok = (bare.double_claims() == service.double_claims() == paced_doubles == doubled_events == 0
              and in_progress == len(bare.claims) + len(service.claims))
        return 0 if ok else 1
    finally:
        server.release()
        shutil.rmtree(root, ignore_errors=True)  # the server deleted its data; its password file remains


if __name__ == "__main__":
    raise SystemExit(main())

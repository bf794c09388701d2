"""Benchmark: 10,000 issued invoices read from the database and rendered to PDF on both cores.

Bills --invoices customers (bulk-loaded as in bench_billing.py, ~10 % with a discount) so that real issued
invoices exist, then renders all of them with a pool of --processes worker processes (spawned, each with
its own database connection). Each process takes chunks of --chunk invoice ids: one read of the chunk's
invoices, lines and the letterhead (`agentdesk.billing.documents.documents_for`), then one PDF per invoice
(`agentdesk.pdf.invoice.render_invoice`) written to a temporary folder. Target: 10,000 in <= 3 minutes.

    /work/venv/bin/python benchmarks/bench_invoice_pdf_db.py --invoices 1000    # quick
    /work/venv/bin/python benchmarks/bench_invoice_pdf_db.py                    # 10,000 on 2 processes
Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_billing  # noqa: E402  (the shared server and bulk-loading helpers)

TARGET_SECONDS = 180.0

_db = None
_out: Path | None = None


def _init(url: str, out: str) -> None:
    global _db, _out
    from sqlalchemy.engine import make_url

    from agentdesk import bootstrap
    from agentdesk.pdf.fonts import register_fonts

    _db = bootstrap.connect_url(make_url(url), pool_size=1)
    _out = Path(out)
    register_fonts()


def _render_chunk(ids: list[int]) -> tuple[int, int, float, float]:
    from agentdesk.billing.documents import documents_for
    from agentdesk.pdf.invoice import render_invoice

    assert _db is not None and _out is not None
    started = time.perf_counter()
    with _db.session() as s:
        docs = documents_for(s, ids)
    read = time.perf_counter() - started
    size = 0
    for doc in docs:
        data = render_invoice(doc)
        (_out / f"{doc.number}.pdf").write_bytes(data)
        size += len(data)
    return len(docs), size, read, time.perf_counter() - started - read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=100)
    args = parser.parse_args(argv)

    from agentdesk.billing.run import run_billing

    with bench_billing.bench_server() as server:
        db = bench_billing.prepare(server)
        bench_billing.load_subscriptions(db.installer, args.invoices, 0.10)
        started = time.perf_counter()
        summary = run_billing(db.accounting, bench_billing.PERIOD)
        print(f"billed {summary.invoices:,} invoices in {time.perf_counter() - started:.1f} s (setup)")
        with db.accounting.session() as s:
            ids = [int(r[0]) for r in s.execute(text("SELECT id FROM invoice WHERE state = 'issued' ORDER BY id"))]
        url = server.url(bench_billing.ACCOUNTANT, bench_billing.PASSWORD, bench_billing.DATABASE)
        chunks = [ids[i:i + args.chunk] for i in range(0, len(ids), args.chunk)]
        with tempfile.TemporaryDirectory(prefix="agentdesk-pdf-") as out:
            context = multiprocessing.get_context("spawn")
            started = time.perf_counter()
            with context.Pool(args.processes, initializer=_init,
                              initargs=(url.render_as_string(hide_password=False), out)) as pool:
                results = pool.map(_render_chunk, chunks, chunksize=1)
            elapsed = time.perf_counter() - started
            files = len(list(Path(out).glob("*.pdf")))
        count = sum(r[0] for r in results)
        size = sum(r[1] for r in results)
        read = sum(r[2] for r in results)
        render = sum(r[3] for r in results)
        print(f"rendered {count:,} invoices ({files:,} files, {size / 2**20:.1f} MiB) with {args.processes} processes "
              f"in {elapsed:.1f} s = {count / elapsed:,.0f} invoices/s (includes starting the processes)")
        print(f"  time inside the processes: database reads {read:.1f} s, rendering + writing {render:.1f} s "
              f"({read / max(read + render, 1e-9):.0%} reads)")
        verdict = "within" if elapsed <= TARGET_SECONDS * count / 10_000 else "OVER"
        print(f"  target: 10,000 in <= {TARGET_SECONDS:.0f} s -> {verdict} "
              f"(scaled: {elapsed * 10_000 / max(count, 1):.0f} s per 10,000)")
        db.accounting.dispose()
        db.installer.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

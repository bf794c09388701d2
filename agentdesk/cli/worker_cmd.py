"""`agentdesk worker`: the background worker (billing runs, invoice PDFs, outbox, offer lapsing).

It signs in as a user of the accounting group (`--user` or $AGENTDESK_USER, password from
$AGENTDESK_PASSWORD). SIGTERM or Ctrl-C lets the batch under way finish, hands unfinished jobs back to the
queue and exits. `--once` runs what is ready and exits (cron, tests).
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from agentdesk.billing.worker import Worker, WorkerConfig
from agentdesk.cli.common import open_database, settings_from
from agentdesk.domain.errors import ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = subparsers.add_parser("worker", help="run background jobs (billing runs, PDFs, outbox)")
    cmd.add_argument("--once", action="store_true", help="run the jobs that are ready, then exit")
    cmd.add_argument("--concurrency", type=int, default=1, metavar="N", help="jobs run at the same time")
    cmd.add_argument("--poll-interval", type=float, default=5.0, metavar="SECONDS",
                     help="look for jobs at least this often (notifications wake the worker sooner)")
    cmd.add_argument("--stale-after", type=float, default=60.0, metavar="SECONDS",
                     help="take over a running job whose heartbeat is older than this")
    cmd.add_argument("--heartbeat", type=float, default=None, metavar="SECONDS",
                     help="heartbeat interval (default: a quarter of --stale-after)")
    cmd.set_defaults(handler=worker_command)


def worker_command(args: argparse.Namespace) -> int:
    if args.concurrency < 1 or args.concurrency > 32:
        raise ValidationError("concurrency", "--concurrency must be between 1 and 32")
    if args.stale_after <= 0 or args.poll_interval <= 0:
        raise ValidationError("stale_after", "--stale-after and --poll-interval must be positive")
    logging.getLogger("agentdesk").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    config = WorkerConfig(concurrency=args.concurrency, once=args.once, poll_interval=args.poll_interval,
                          stale_after=args.stale_after, heartbeat_every=args.heartbeat)
    db = open_database(args, pool_size=2 * args.concurrency + 2)
    worker = Worker(db, settings_from(args), config)

    def stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("agentdesk.worker").info("signal %d: finishing the batch under way, then stopping", signum)
        worker.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        db.dispose()
    return 0

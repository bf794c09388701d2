"""`agentdesk intake FILE`: take cancellation requests from a JSON object, a JSON array or a CSV file.

Each row is taken in its own transaction: valid rows become tickets (or join the ticket already open for
that service), refused rows leave nothing behind and are reported with their row number and field.
Exit status: 0 when every row was taken, 1 when some were refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentdesk.cli.common import open_database
from agentdesk.services import intake
from agentdesk.services.dto import IntakeOutcome

FORMAT_HELP = """\
Fields (JSON keys or CSV header): account, subscription or job, channel (phone, email, web),
call_type (cancellation, complaint, late_installation, billing_dispute, price, moving, competitor),
reason, requested_end_date (2026-12-31 or 31/12/2026). Rows are numbered from 1 (the CSV header is not
a row)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "intake", help="take cancellation requests from a JSON or CSV file",
        description="Take cancellation requests from a file. " + FORMAT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, help="a .json (one object or an array) or .csv file")
    p.add_argument("-q", "--quiet", action="store_true", help="print only refused rows and the summary")
    p.set_defaults(handler=intake_command)


def intake_command(args: argparse.Namespace) -> int:
    rows = intake.read_rows(args.file)  # an unreadable file is refused before signing in

    def show(outcome: IntakeOutcome) -> None:
        if not outcome.ok:
            print(intake.describe_outcome(outcome), file=sys.stderr)
        elif not args.quiet:
            print(intake.describe_outcome(outcome))

    db = open_database(args)
    try:
        outcomes = intake.intake_rows(db, rows, show)
    finally:
        db.dispose()
    taken = [o for o in outcomes if o.ok]
    joined = sum(1 for o in taken if o.ticket is not None and o.ticket.joined)
    refused = len(outcomes) - len(taken)
    print(
        f"{len(outcomes)} row{'s' if len(outcomes) != 1 else ''}: {len(taken)} taken "
        f"({len(taken) - joined} new ticket{'s' if len(taken) - joined != 1 else ''}, {joined} joined an open one), "
        f"{refused} refused"
    )
    return 0 if refused == 0 else 1

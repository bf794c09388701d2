"""The `agentdesk` command. With no subcommand it opens the desktop app; subcommands do headless work.

Each module in this package that defines `register(subparsers)` adds its subcommands, so an area's
commands live beside each other (db, user, demo-data, intake, offer, billing, invoice, worker...).
Every command is a thin layer over the service functions the desktop also calls.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from agentdesk import __version__
from agentdesk.domain.errors import AgentDeskError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentdesk",
        description="AgentDesk retention desk. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"agentdesk {__version__}")
    parser.add_argument("--database-url", metavar="URL", help="shared PostgreSQL server (default: embedded)")
    parser.add_argument("--user", metavar="NAME", help="sign in as this user (default: $AGENTDESK_USER)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is happening")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command is None:
            from agentdesk.gui.app import run_app

            return run_app(args)
        result: int = args.handler(args)
        return result
    except AgentDeskError as exc:
        print(f"agentdesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agentdesk: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130

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


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", metavar="URL", help="shared PostgreSQL server (default: embedded)")
    parser.add_argument("--user", metavar="NAME", help="sign in as this user (default: $AGENTDESK_USER)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is happening")


def _desktop_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The options when `argv` asks for the desktop app (no command), else None.

    Checked before the full parser is built, so opening the app does not import every command's modules.
    """
    parser = argparse.ArgumentParser(add_help=False)
    _add_global_options(parser)
    try:
        args, rest = parser.parse_known_args(argv)
    except SystemExit:
        return None
    return None if rest else args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentdesk",
        description="AgentDesk retention desk. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"agentdesk {__version__}")
    _add_global_options(parser)
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
    argv = list(sys.argv[1:] if argv is None else argv)
    desktop = _desktop_args(argv)
    args = desktop if desktop is not None else build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if desktop is not None:
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

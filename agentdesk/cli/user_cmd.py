"""`agentdesk user add|list|disable|enable|password`: people and their login roles (administrators only)."""

from __future__ import annotations

import argparse

from agentdesk.cli.common import open_database, read_password
from agentdesk.services import users


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    user = subparsers.add_parser("user", help="add, list and disable users")
    sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a login for a person")
    add.add_argument("name", help="login name: lower-case letters, digits, '_' or '.'")
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument("--unit", action="append", default=[], metavar="CODE", help="unit code (repeatable)")
    add.add_argument("--display-name", help="the person's full name")
    add.add_argument("--email")
    add.set_defaults(handler=add_command)
    change = sub.add_parser("set", help="change a user's role or units")
    change.add_argument("name")
    change.add_argument("--role", choices=users.ROLES)
    change.add_argument("--unit", action="append", metavar="CODE", help="unit code (repeatable; replaces the units)")
    change.add_argument("--no-units", action="store_true", help="remove the user from every unit")
    change.set_defaults(handler=set_command)
    lst = sub.add_parser("list", help="list users")
    lst.set_defaults(handler=list_command)
    for action, active in (("disable", False), ("enable", True)):
        p = sub.add_parser(action, help=f"{action} a user's sign-in")
        p.add_argument("name")
        p.set_defaults(handler=lambda a, active=active: set_active_command(a, active))
    pw = sub.add_parser("password", help="set a user's password")
    pw.add_argument("name")
    pw.set_defaults(handler=password_command)


def add_command(args: argparse.Namespace) -> int:
    password = read_password(f"Password for the new user {args.name}: ", "AGENTDESK_NEW_PASSWORD")
    db = open_database(args)
    try:
        info = users.add_user(
            db, args.name, role=args.role, password=password, display_name=args.display_name,
            units=tuple(args.unit), email=args.email,
        )
    finally:
        db.dispose()
    print(f"added {info.name} ({info.role}{', ' + ', '.join(info.units) if info.units else ''})")
    return 0


def list_command(args: argparse.Namespace) -> int:
    db = open_database(args)
    try:
        people = users.list_users(db)
    finally:
        db.dispose()
    print(f"{'NAME':<20} {'ROLE':<11} {'ACTIVE':<7} {'UNITS':<30} FULL NAME")
    for p in people:
        print(f"{p.name:<20} {p.role:<11} {'yes' if p.active else 'no':<7} {','.join(p.units):<30} {p.display_name}")
    return 0


def set_active_command(args: argparse.Namespace, active: bool) -> int:
    db = open_database(args)
    try:
        users.set_active(db, args.name, active)
    finally:
        db.dispose()
    print(f"{'enabled' if active else 'disabled'} {args.name}")
    return 0


def password_command(args: argparse.Namespace) -> int:
    password = read_password(f"New password for {args.name}: ", "AGENTDESK_NEW_PASSWORD")
    db = open_database(args)
    try:
        users.set_password(db, args.name, password)
    finally:
        db.dispose()
    print(f"password changed for {args.name}")
    return 0


def set_command(args: argparse.Namespace) -> int:
    units = () if args.no_units else (tuple(args.unit) if args.unit else None)
    db = open_database(args)
    try:
        info = users.update_user(db, args.name, role=args.role, units=units)
    finally:
        db.dispose()
    print(f"{info.name}: {info.role}{', ' + ', '.join(info.units) if info.units else ', no units'}")
    return 0

"""People: adding login roles, listing and disabling them. The database functions do the work and the
checks (only administrators, valid names, known units); these are thin, typed calls over them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text

from agentdesk.bootstrap import Database
from agentdesk.db.models import AppUser, Unit, UserUnit
from agentdesk.domain.errors import ValidationError
from agentdesk.services.passwords import scram_verifier

ROLES = ("csr", "manager", "accounting", "admin")


@dataclass(frozen=True)
class UserInfo:
    name: str
    display_name: str
    role: str
    units: tuple[str, ...]
    active: bool
    created_at: dt.datetime


def add_user(
    db: Database,
    name: str,
    *,
    role: str,
    password: str,
    display_name: str | None = None,
    units: tuple[str, ...] = (),
    email: str | None = None,
) -> UserInfo:
    if role not in ROLES:
        raise ValidationError("role", f"Role must be one of {', '.join(ROLES)}")
    verifier = scram_verifier(password)
    with db.session() as s:
        s.execute(
            text("SELECT admin_add_user(:n, :d, :r, :v, :u, :e)"),
            {"n": name, "d": display_name or name, "r": role, "v": verifier, "u": list(units), "e": email},
        )
    return get_user(db, name)


def update_user(db: Database, name: str, *, role: str | None = None, units: tuple[str, ...] | None = None) -> UserInfo:
    """Change a person's role (their group) and/or units; None leaves that part as it is."""
    if role is not None and role not in ROLES:
        raise ValidationError("role", f"Role must be one of {', '.join(ROLES)}")
    with db.session() as s:
        s.execute(
            text("SELECT admin_update_user(:n, :r, :u)"),
            {"n": name, "r": role, "u": list(units) if units is not None else None},
        )
    return get_user(db, name)


def set_active(db: Database, name: str, active: bool) -> None:
    with db.session() as s:
        s.execute(text("SELECT admin_set_user_active(:n, :a)"), {"n": name, "a": active})


def set_password(db: Database, name: str, password: str) -> None:
    verifier = scram_verifier(password)
    with db.session() as s:
        s.execute(text("SELECT admin_set_password(:n, :v)"), {"n": name, "v": verifier})


def list_users(db: Database) -> list[UserInfo]:
    with db.session() as s:
        users = s.scalars(select(AppUser).order_by(AppUser.role_name)).all()
        memberships = s.execute(select(UserUnit.user_id, Unit.code).join(Unit, Unit.id == UserUnit.unit_id)).all()
    units: dict[int, list[str]] = {}
    for user_id, code in memberships:
        units.setdefault(user_id, []).append(code)
    return [
        UserInfo(u.role_name, u.display_name, u.role, tuple(sorted(units.get(u.id, []))), u.active, u.created_at)
        for u in users
    ]


def get_user(db: Database, name: str) -> UserInfo:
    for user in list_users(db):
        if user.name == name:
            return user
    from agentdesk.domain.errors import NotFound

    raise NotFound("User", name)

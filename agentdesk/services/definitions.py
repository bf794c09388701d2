"""Discount definitions: list, read, create, and save changes as a new version.

A definition is checked with the domain's own validation (``DiscountDefinition.problems``) before it is
saved. Once a definition has been offered or turned into a discount it is never edited: saving a change
writes a new row with the same code and the next version, and deactivates the old one, so every offer and
discount keeps pointing at the terms it was given under (the database refuses any other change to a used
definition, see 25_discounts.sql). A definition nobody used yet may be corrected in place.

Managers and administrators keep the definitions (database grants).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import AdhocDiscount, Offer, Unit
from agentdesk.db.models import DiscountDefinition as DefinitionRow
from agentdesk.domain.discounts import DiscountDefinition
from agentdesk.domain.errors import NotFound, RuleViolation, ValidationError
from agentdesk.services.eligibility import to_domain_definition


@dataclass(frozen=True)
class DefinitionInfo:
    """A stored definition: the domain object plus what the database knows about it."""

    definition: DiscountDefinition
    description: str
    approval_unit_name: str | None
    created_by: str
    created_at: dt.datetime
    in_use: bool  # offered or given at least once: changes make a new version

    @property
    def id(self) -> int:
        return int(self.definition.id or 0)

    @property
    def code(self) -> str:
        return self.definition.code

    @property
    def version(self) -> int:
        return self.definition.version

    @property
    def active(self) -> bool:
        return self.definition.active


# Domain fields that are not columns of their own (or are set by this module).
_NOT_COLUMNS = {"id", "approval_unit"}


def _in_use(session: Session, definition_id: int) -> bool:
    return bool(
        session.scalar(select(func.count()).select_from(Offer).where(Offer.definition_id == definition_id))
        or session.scalar(select(func.count()).select_from(AdhocDiscount)
                          .where(AdhocDiscount.definition_id == definition_id))
    )


def _units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit)).all())


def _info(session: Session, row: DefinitionRow) -> DefinitionInfo:
    units = _units(session)
    codes = {u.id: u.code for u in units}
    names = {u.id: u.name for u in units}
    return DefinitionInfo(
        definition=to_domain_definition(row, codes), description=row.description,
        approval_unit_name=names.get(row.approval_unit_id) if row.approval_unit_id is not None else None,
        created_by=row.created_by, created_at=row.created_at, in_use=_in_use(session, row.id),
    )


def _unit_id(session: Session, unit: str | None) -> int | None:
    """The unit by code or by name (the domain carries whichever the caller knew)."""
    if unit is None or not unit.strip():
        return None
    wanted = unit.strip()
    found = session.scalar(select(Unit.id).where(or_(Unit.code == wanted, func.lower(Unit.name) == wanted.lower())))
    if found is None:
        raise ValidationError("approval_unit", f"There is no unit '{wanted}'")
    return int(found)


def _column_values(session: Session, d: DiscountDefinition) -> dict[str, Any]:
    """Row values for a domain definition (enums as their strings, sets as sorted lists)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(d):
        if f.name in _NOT_COLUMNS:
            continue
        value = getattr(d, f.name)
        if isinstance(value, frozenset):
            value = sorted(str(v) for v in value)
        elif isinstance(value, enum.Enum):
            value = value.value
        values[f.name] = value
    values["approval_unit_id"] = _unit_id(session, d.approval_unit)
    return values


def _validated(d: DiscountDefinition) -> None:
    problems = d.problems()
    if problems:
        raise problems[0]


def list_definitions(db: Database, *, include_inactive: bool = False) -> list[DefinitionInfo]:
    with db.session() as s:
        query = select(DefinitionRow)
        if not include_inactive:
            query = query.where(DefinitionRow.active)
        rows = s.scalars(query.order_by(DefinitionRow.code, DefinitionRow.version)).all()
        return [_info(s, r) for r in rows]


def get_definition(db: Database, definition_id: int) -> DefinitionInfo:
    with db.session() as s:
        row = s.get(DefinitionRow, definition_id)
        if row is None:
            raise NotFound("Discount definition", definition_id)
        return _info(s, row)


def definition_history(db: Database, code: str) -> list[DefinitionInfo]:
    """Every version of a code, oldest first."""
    with db.session() as s:
        rows = s.scalars(select(DefinitionRow).where(DefinitionRow.code == code).order_by(DefinitionRow.version)).all()
        if not rows:
            raise NotFound("Discount definition", code)
        return [_info(s, r) for r in rows]


def create_definition(db: Database, definition: DiscountDefinition, description: str = "") -> DefinitionInfo:
    """Save a new definition (version 1) after the domain's validation."""
    d = dataclasses.replace(definition, id=None, version=1, code=definition.code.strip(), name=definition.name.strip())
    _validated(d)
    with db.session() as s:
        if s.scalar(select(DefinitionRow.id).where(DefinitionRow.code == d.code).limit(1)) is not None:
            raise ValidationError("code", f"A definition with code {d.code} exists: save a new version of it instead")
        row = DefinitionRow(description=description.strip(), **_column_values(s, d))
        s.add(row)
        s.flush()
        s.refresh(row)
        return _info(s, row)


def new_version(db: Database, definition_id: int, *, description: str | None = None,
                **changes: Any) -> DefinitionInfo:
    """Save ``changes`` as the next version of the definition's code; the old version is deactivated."""
    with db.session() as s:
        old = s.execute(
            select(DefinitionRow).where(DefinitionRow.id == definition_id).with_for_update()
        ).scalar_one_or_none()
        if old is None:
            raise NotFound("Discount definition", definition_id)
        latest = s.scalar(select(func.max(DefinitionRow.version)).where(DefinitionRow.code == old.code))
        if latest != old.version:
            raise RuleViolation(f"{old.code} has a newer version ({latest}): change that one")
        current = to_domain_definition(old, {u.id: u.code for u in _units(s)})
        _check_changes(changes)
        d = dataclasses.replace(current, **changes, id=None, version=old.version + 1, active=True)
        _validated(d)
        text = old.description if description is None else description.strip()
        old.active = False
        s.flush()  # the partial unique index allows one active row per code: retire the old one first
        row = DefinitionRow(description=text, **_column_values(s, d))
        s.add(row)
        s.flush()
        s.refresh(row)
        return _info(s, row)


def _check_changes(changes: dict[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(DiscountDefinition)} - {"id", "version", "active"}
    for name in changes:
        if name not in known:
            raise ValidationError(name, f"'{name}' is not a field of a discount definition")
    if "code" in changes:
        raise ValidationError("code", "The code names every version: create a new definition for a new code")


def save_changes(db: Database, definition_id: int, *, description: str | None = None,
                 **changes: Any) -> DefinitionInfo:
    """Edit an unused definition in place; a used one gets a new version instead (see module docstring)."""
    with db.session() as s:
        row = s.get(DefinitionRow, definition_id)
        if row is None:
            raise NotFound("Discount definition", definition_id)
        used = _in_use(s, row.id)
    if used:
        return new_version(db, definition_id, description=description, **changes)
    _check_changes(changes)
    with db.session() as s:
        row = s.execute(select(DefinitionRow).where(DefinitionRow.id == definition_id).with_for_update()).scalar_one()
        current = to_domain_definition(row, {u.id: u.code for u in _units(s)})
        d = dataclasses.replace(current, **changes)
        _validated(d)
        for name, value in _column_values(s, d).items():
            setattr(row, name, value)
        if description is not None:
            row.description = description.strip()
        s.flush()
        s.refresh(row)
        return _info(s, row)


def set_definition_active(db: Database, definition_id: int, active: bool) -> DefinitionInfo:
    """Stop offering a definition (or offer it again); allowed even once it has been used."""
    with db.session() as s:
        row = s.get(DefinitionRow, definition_id)
        if row is None:
            raise NotFound("Discount definition", definition_id)
        row.active = active
        s.flush()
        s.refresh(row)
        return _info(s, row)


__all__ = [
    "DefinitionInfo",
    "create_definition",
    "definition_history",
    "get_definition",
    "list_definitions",
    "new_version",
    "save_changes",
    "set_definition_active",
]

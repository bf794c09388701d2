"""Routing rules: which unit's service queue a new ticket lands in, and at what priority and due time.

Rules are data. The first active rule (lowest position) whose non-empty criteria all match wins. Managers
and administrators may add and change rules; only administrators may delete them (the database grants
enforce both). `rule_problems` is the pure check behind the editor's messages and the save.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import RoutingRule, Unit
from agentdesk.db.models.base import CALL_TYPES, CHANNELS, CUSTOMER_SEGMENTS
from agentdesk.domain.errors import NotFound, RuleViolation, ValidationError
from agentdesk.domain.money import CENT

_UNIT_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    is_service_queue: bool


@dataclass(frozen=True)
class RuleInput:
    """What the editor submits; None criteria mean "any"."""

    position: int
    name: str
    unit_code: str
    segment: str | None = None
    call_type: str | None = None
    channel: str | None = None
    min_lifetime_value: Decimal | None = None
    priority: int = 3
    due_minutes: int = 240
    active: bool = True


@dataclass(frozen=True)
class RuleInfo:
    id: int
    position: int
    name: str
    unit_code: str
    unit_name: str
    segment: str | None
    call_type: str | None
    channel: str | None
    min_lifetime_value: Decimal | None
    priority: int
    due_minutes: int
    active: bool

    def as_input(self) -> RuleInput:
        return RuleInput(self.position, self.name, self.unit_code, self.segment, self.call_type, self.channel,
                         self.min_lifetime_value, self.priority, self.due_minutes, self.active)

    def criteria_text(self) -> str:
        """"gold, cancellation" / "any call" for lists."""
        parts = [p for p in (self.segment, self.call_type and self.call_type.replace("_", " "), self.channel) if p]
        if self.min_lifetime_value is not None:
            parts.append(f"value >= {self.min_lifetime_value:.2f}")
        return ", ".join(parts) or "any call"


def rule_problems(rule: RuleInput, unit_codes: set[str] | None = None) -> list[ValidationError]:
    """Every problem with `rule`, each naming the field and the fix (empty list = valid)."""
    out: list[ValidationError] = []
    if not rule.name.strip():
        out.append(ValidationError("name", "Name is required: say which calls the rule catches"))
    elif len(rule.name) > 200:
        out.append(ValidationError("name", "Name is too long: at most 200 characters"))
    if rule.position < 1:
        out.append(ValidationError("position", "Position must be 1 or more (lower positions are tried first)"))
    if not rule.unit_code:
        out.append(ValidationError("unit_code", "Choose the unit whose queue receives the tickets"))
    elif unit_codes is not None and rule.unit_code not in unit_codes:
        out.append(ValidationError("unit_code", f"There is no unit '{rule.unit_code}'"))
    if rule.segment is not None and rule.segment not in CUSTOMER_SEGMENTS:
        out.append(ValidationError("segment", f"Segment must be one of {', '.join(CUSTOMER_SEGMENTS)}"))
    if rule.call_type is not None and rule.call_type not in CALL_TYPES:
        out.append(ValidationError("call_type", f"Call type must be one of {', '.join(CALL_TYPES)}"))
    if rule.channel is not None and rule.channel not in CHANNELS:
        out.append(ValidationError("channel", f"Channel must be one of {', '.join(CHANNELS)}"))
    value = rule.min_lifetime_value
    if value is not None and (value < 0 or value != value.quantize(CENT)):
        out.append(ValidationError("min_lifetime_value",
                                   "Minimum lifetime value must be 0 or more with at most 2 decimals"))
    if not 1 <= rule.priority <= 5:
        out.append(ValidationError("priority", "Priority must be 1 (most urgent) to 5"))
    if rule.due_minutes < 1:
        out.append(ValidationError("due_minutes", "Due time must be at least 1 minute"))
    elif rule.due_minutes > 60 * 24 * 30:
        out.append(ValidationError("due_minutes", "Due time must be at most 30 days (43200 minutes)"))
    return out


def list_units(db: Database) -> list[UnitInfo]:
    with db.session() as s:
        rows = s.scalars(select(Unit).order_by(Unit.name)).all()
        return [UnitInfo(u.id, u.code, u.name, u.is_service_queue) for u in rows]


def list_rules(db: Database) -> list[RuleInfo]:
    with db.session() as s:
        rows = s.execute(select(RoutingRule, Unit).join(Unit, Unit.id == RoutingRule.unit_id)
                         .order_by(RoutingRule.position)).all()
        return [_info(r, u) for r, u in rows]


def _info(r: RoutingRule, u: Unit) -> RuleInfo:
    return RuleInfo(r.id, r.position, r.name, u.code, u.name, r.segment, r.call_type, r.channel,
                    r.min_lifetime_value, r.priority, r.due_minutes, r.active)


def _apply(row: RoutingRule, rule: RuleInput, unit: Unit) -> None:
    row.position = rule.position
    row.name = rule.name.strip()
    row.unit_id = unit.id
    row.segment = rule.segment
    row.call_type = rule.call_type
    row.channel = rule.channel
    row.min_lifetime_value = rule.min_lifetime_value
    row.priority = rule.priority
    row.due_minutes = rule.due_minutes
    row.active = rule.active


def _checked(s: Session, rule: RuleInput, own_id: int | None) -> Unit:
    problems = rule_problems(rule)
    if problems:
        raise problems[0]
    unit = s.scalar(select(Unit).where(Unit.code == rule.unit_code))
    if unit is None:
        raise ValidationError("unit_code", f"There is no unit '{rule.unit_code}'")
    if not unit.is_service_queue:
        raise ValidationError("unit_code", f"{unit.name} has no service queue: choose a queue unit")
    clash = s.scalar(select(RoutingRule.name).where(RoutingRule.position == rule.position,
                                                    RoutingRule.id != (own_id or -1)))
    if clash is not None:
        raise ValidationError("position", f"Position {rule.position} is taken by '{clash}': choose a free one")
    return unit


def next_free_position(db: Database) -> int:
    """A position after the last rule but before a catch-all at 100, when there is room."""
    with db.session() as s:
        taken = set(s.scalars(select(RoutingRule.position)))
    candidate = 10
    while candidate in taken:
        candidate += 10
    return candidate


def create_rule(db: Database, rule: RuleInput) -> RuleInfo:
    with db.session() as s:
        unit = _checked(s, rule, None)
        row = RoutingRule()
        _apply(row, rule, unit)
        s.add(row)
        s.flush()
        return _info(row, unit)


def update_rule(db: Database, rule_id: int, rule: RuleInput) -> RuleInfo:
    with db.session() as s:
        row = s.get(RoutingRule, rule_id, with_for_update=True)
        if row is None:
            raise NotFound("Routing rule", rule_id)
        unit = _checked(s, rule, rule_id)
        _apply(row, rule, unit)
        s.flush()
        return _info(row, unit)


def delete_rule(db: Database, rule_id: int) -> None:
    """Delete a rule; the last active catch-all may not go (tickets would have nowhere to land)."""
    with db.session() as s:
        row = s.get(RoutingRule, rule_id, with_for_update=True)
        if row is None:
            raise NotFound("Routing rule", rule_id)
        others = s.scalar(select(func.count()).select_from(RoutingRule).where(
            RoutingRule.id != rule_id, RoutingRule.active, RoutingRule.segment.is_(None),
            RoutingRule.call_type.is_(None), RoutingRule.channel.is_(None),
            RoutingRule.min_lifetime_value.is_(None)))
        is_catch_all = (row.active and row.segment is None and row.call_type is None and row.channel is None
                        and row.min_lifetime_value is None)
        if is_catch_all and not others:
            raise RuleViolation(f"'{row.name}' is the only rule that catches every call: "
                                "add another catch-all before deleting it")
        s.delete(row)




def unit_problems(code: str, name: str) -> list[ValidationError]:
    out: list[ValidationError] = []
    if not code.strip():
        out.append(ValidationError("code", "Code is required: a short name such as 'senior_save'"))
    elif not _UNIT_CODE.match(code.strip()):
        out.append(ValidationError("code", "Code: 2-40 lower-case letters, digits or '_', starting with a letter"))
    if not name.strip():
        out.append(ValidationError("name", "Name is required: the team's name as people know it"))
    elif len(name.strip()) > 200:
        out.append(ValidationError("name", "Name is too long: at most 200 characters"))
    return out


def create_unit(db: Database, code: str, name: str, *, is_service_queue: bool) -> UnitInfo:
    """Add a team (administrators only: the database grants say so)."""
    problems = unit_problems(code, name)
    if problems:
        raise problems[0]
    with db.session() as s:
        if s.scalar(select(Unit.id).where(Unit.code == code.strip())) is not None:
            raise ValidationError("code", f"A unit with code '{code.strip()}' already exists: choose another code")
        unit = Unit(code=code.strip(), name=name.strip(), is_service_queue=is_service_queue)
        s.add(unit)
        s.flush()
        return UnitInfo(unit.id, unit.code, unit.name, unit.is_service_queue)


__all__ = [
    "RuleInfo",
    "create_unit",
    "unit_problems",
    "RuleInput",
    "UnitInfo",
    "create_rule",
    "delete_rule",
    "list_rules",
    "list_units",
    "next_free_position",
    "rule_problems",
    "update_rule",
]

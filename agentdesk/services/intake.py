"""Intake: a customer's cancellation request becomes a ticket in the right service queue.

The queue (unit), priority and due time come from `routing_rule` rows (data, not code): the first active
rule by position whose non-null criteria (segment, call type, channel, minimum lifetime value) all match.
A second request for a service that already has an open ticket joins that ticket (an event on its
timeline) instead of opening another; the customer's row is locked for the unit of work, so two agents
taking the same customer's call at the same moment still end up with one ticket.

Also here: verifying that the caller is the account holder, and reading requests in bulk from JSON or CSV
(`agentdesk intake FILE`), each row in its own transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import Customer, Job, RoutingRule, Subscription, Ticket, Unit
from agentdesk.db.models.base import CALL_TYPES, CHANNELS
from agentdesk.domain.errors import AgentDeskError, RuleViolation, ValidationError
from agentdesk.domain.periods import format_date
from agentdesk.services import audit
from agentdesk.services.dto import IntakeOutcome, TicketSummary
from agentdesk.services.tickets import (
    MAX_REASON,
    TICKET,
    jsonable,
    load_summary,
    lock_ticket,
    update_ticket_row,
)

# How an agent made sure the caller is the account holder (retention patent: "the customer may be verified").
VERIFY_METHODS = {
    "security_question": "security question answered",
    "pin": "account PIN given",
    "date_of_birth_and_address": "date of birth and address confirmed",
    "callback": "called back on the number on file",
    "email_link": "confirmed through a link sent to the e-mail on file",
    "in_person": "identity document shown in person",
}

# Field names of an intake row, with the other spellings people use.
FIELD_ALIASES = {
    "account": "account",
    "account_number": "account",
    "account_no": "account",
    "subscription": "subscription",
    "subscription_number": "subscription",
    "job": "job",
    "job_number": "job",
    "channel": "channel",
    "call_type": "call_type",
    "type": "call_type",
    "reason": "reason",
    "requested_end_date": "requested_end_date",
    "end_date": "requested_end_date",
}


@dataclass(frozen=True)
class Route:
    """Where routing sends a new ticket."""

    rule_name: str
    unit_id: int
    unit_code: str
    priority: int
    due_minutes: int


@dataclass(frozen=True)
class IntakeRequest:
    """One cancellation request as read from a form, a JSON object or a CSV row."""

    account: str
    channel: str
    call_type: str
    subscription: str | None = None
    job: str | None = None
    reason: str | None = None
    requested_end_date: dt.date | None = None


# -- routing ---------------------------------------------------------------------------------------------


def route(session: Session, segment: str, call_type: str, channel: str, lifetime_value: Decimal) -> Route:
    """The first active routing rule (by position) whose non-null criteria all match."""
    row = session.execute(
        select(RoutingRule.name, RoutingRule.unit_id, Unit.code, RoutingRule.priority, RoutingRule.due_minutes)
        .join(Unit, Unit.id == RoutingRule.unit_id)
        .where(
            RoutingRule.active,
            or_(RoutingRule.segment.is_(None), RoutingRule.segment == segment),
            or_(RoutingRule.call_type.is_(None), RoutingRule.call_type == call_type),
            or_(RoutingRule.channel.is_(None), RoutingRule.channel == channel),
            or_(RoutingRule.min_lifetime_value.is_(None), RoutingRule.min_lifetime_value <= lifetime_value),
        )
        .order_by(RoutingRule.position)
        .limit(1)
    ).one_or_none()
    if row is None:
        raise RuleViolation(
            f"No routing rule sends a {segment} customer's {call_type.replace('_', ' ')} call by {channel} "
            "to a queue: ask a manager to add a catch-all rule"
        )
    return Route(*row)


# -- intake ----------------------------------------------------------------------------------------------


def _check_choice(field: str, value: str | None, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if not value:
        raise ValidationError(field, f"Give the {what} ({', '.join(allowed)})")
    if value not in allowed:
        raise ValidationError(field, f"'{value}' is not a {what}: use one of {', '.join(allowed)}")
    return value


def create_cancellation_request(
    db: Database,
    account_number: str,
    service_number: str,
    channel: str,
    call_type: str,
    reason: str | None = None,
    requested_end_date: dt.date | None = None,
    *,
    service_kind: Literal["subscription", "job"] | None = None,
) -> TicketSummary:
    """Open a ticket for a customer's request about one service, routed to its service queue; or join the
    ticket already open for that service (the result then has `joined=True`).

    `service_number` is one of the customer's subscription or job numbers; `service_kind` says which when
    the customer has both with the same number.
    """
    field = service_kind or "service"
    account = (account_number or "").strip()
    if not account:
        raise ValidationError("account", "Give the customer's account number")
    number = (service_number or "").strip()
    if not number:
        raise ValidationError(field, "Name the service: a subscription number or a job number")
    _check_choice("channel", channel, CHANNELS, "channel")
    _check_choice("call_type", call_type, CALL_TYPES, "call type")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ValidationError("reason", f"Keep the reason under {MAX_REASON} characters")
    if requested_end_date is not None and requested_end_date < dt.date.today():
        raise ValidationError(
            "requested_end_date", f"The requested end date {format_date(requested_end_date)} is in the past"
        )

    with db.session() as s:
        # The lock serialises intake per customer: the open-ticket check below cannot race another intake.
        customer = s.scalars(
            select(Customer).where(Customer.account_number == account).with_for_update(key_share=True)
        ).one_or_none()
        if customer is None:
            raise ValidationError("account", f"no customer with account '{account}'")
        sub = job = None
        if service_kind != "job":
            sub = s.scalars(
                select(Subscription).where(Subscription.number == number, Subscription.customer_id == customer.id)
            ).one_or_none()
        if service_kind != "subscription":
            job = s.scalars(select(Job).where(Job.number == number, Job.customer_id == customer.id)).one_or_none()
        if sub is not None and job is not None:
            raise ValidationError("service", f"'{number}' is both a subscription and a job of account '{account}': say which")
        service_filter: Any
        if sub is not None:
            if sub.state == "cancelled":
                raise ValidationError(field, f"subscription '{number}' is already cancelled")
            service_filter, service_values = Ticket.subscription_id == sub.id, {"subscription_id": sub.id}
            service_label = f"subscription {number}"
        elif job is not None:
            if job.state == "cancelled":
                raise ValidationError(field, f"job '{number}' is cancelled")
            service_filter, service_values = Ticket.job_id == job.id, {"job_id": job.id}
            service_label = f"job {number}"
        else:
            what = {"subscription": "subscription", "job": "job"}.get(field, "subscription or job")
            raise ValidationError(field, f"account '{account}' has no {what} '{number}'")

        request = {"channel": channel, "call_type": call_type, "reason": reason,
                   "requested_end_date": jsonable(requested_end_date)}
        open_id = s.scalar(
            select(Ticket.id)
            .where(Ticket.customer_id == customer.id, service_filter, Ticket.state != "closed")
            .order_by(Ticket.id)
            .limit(1)
        )
        if open_id is not None:
            audit.record_event(
                s, open_id, "request joined",
                f"Another {call_type.replace('_', ' ')} request by {channel} joined this ticket"
                + (f": {reason}" if reason else ""),
                after=request,
            )
            return load_summary(s, open_id, joined=True)

        r = route(s, customer.segment, call_type, channel, customer.lifetime_value)
        ticket_id = s.execute(
            insert(TICKET)
            .values(
                customer_id=customer.id,
                channel=channel,
                call_type=call_type,
                reason=reason,
                queue_unit_id=r.unit_id,
                priority=r.priority,
                due_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=r.due_minutes),
                customer_value=customer.lifetime_value,
                requested_end_date=requested_end_date,
                **service_values,
            )
            .returning(TICKET.c.id)
        ).scalar_one()
        audit.record_event(
            s, ticket_id, "created",
            f"{call_type.replace('_', ' ').capitalize()} request for {service_label} by {channel}; "
            f"routed to {r.unit_code} by rule '{r.rule_name}' (priority {r.priority})",
            after=request | {"queue": r.unit_code, "priority": r.priority, "rule": r.rule_name},
        )
        return load_summary(s, ticket_id)


def verify_caller(db: Database, ticket_id: int, version: int, method: str) -> TicketSummary:
    """Record that the caller proved to be the account holder (offers need this); who is stamped by the DB."""
    if method not in VERIFY_METHODS:
        raise ValidationError("method", f"Say how the caller was verified: one of {', '.join(VERIFY_METHODS)}")
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, version)
        was = ticket.verified_at
        s.expunge(ticket)
        update_ticket_row(s, ticket_id, {"verified_at": dt.datetime.now(dt.UTC)})
        audit.record_event(
            s, ticket_id, "caller verified", f"Caller verified as the account holder: {VERIFY_METHODS[method]}",
            before={"verified_at": jsonable(was)}, after={"method": method},
        )
        return load_summary(s, ticket_id)


# -- intake files ----------------------------------------------------------------------------------------


def parse_request(raw: Mapping[str, Any]) -> IntakeRequest:
    """One row (JSON object or CSV record) to an IntakeRequest; ValidationError names the bad field."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = FIELD_ALIASES.get(str(key).strip().lower().replace(" ", "_").replace("-", "_"))
        if name is None:
            raise ValidationError(str(key), f"unknown field (known: {', '.join(sorted(set(FIELD_ALIASES.values())))})")
        if value is not None and not isinstance(value, str):
            if name == "reason" or isinstance(value, dict | list):
                raise ValidationError(name, "must be text")
            value = str(value)
        values[name] = value.strip() if isinstance(value, str) and value.strip() else None
    if not values.get("account"):
        raise ValidationError("account", "missing: give the customer's account number")
    if not values.get("subscription") and not values.get("job"):
        raise ValidationError("subscription", "missing: give a subscription number or a job number")
    end = values.get("requested_end_date")
    if end is not None:
        values["requested_end_date"] = _parse_date(end)
    return IntakeRequest(
        account=values["account"],
        channel=values.get("channel") or "",
        call_type=values.get("call_type") or "",
        subscription=values.get("subscription"),
        job=values.get("job"),
        reason=values.get("reason"),
        requested_end_date=values.get("requested_end_date"),
    )


def _parse_date(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError("requested_end_date", f"'{text}' is not a date (use 2026-12-31 or 31/12/2026)")


def read_rows(path: Path) -> list[Mapping[str, Any]]:
    """The records of an intake file: a JSON object, a JSON array of objects, or CSV with a header row."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError("file", f"Cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValidationError("file", f"{path} is not UTF-8 text") from None
    stripped = content.lstrip()
    if not stripped:
        raise ValidationError("file", f"{path} is empty")
    if stripped[0] in "[{":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise ValidationError("file", f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        rows = data if isinstance(data, list) else [data]
        return [r if isinstance(r, dict) else {"__not_an_object__": r} for r in rows]
    reader = csv.DictReader(io.StringIO(content))
    if not reader.fieldnames:
        raise ValidationError("file", f"{path} has no header row")
    return [
        {k: v for k, v in rec.items() if k is not None} | ({"__extra_values__": rec[None]} if None in rec else {})
        for rec in reader
    ]


def submit(db: Database, request: IntakeRequest) -> TicketSummary:
    if request.subscription and request.job:
        raise ValidationError("job", "give a subscription number or a job number, not both")
    kind: Literal["subscription", "job"] = "subscription" if request.subscription else "job"
    return create_cancellation_request(
        db, request.account, request.subscription or request.job or "", request.channel, request.call_type,
        request.reason, request.requested_end_date, service_kind=kind,
    )


def intake_rows(
    db: Database,
    rows: Iterable[Mapping[str, Any]],
    on_row: Callable[[IntakeOutcome], None] = lambda _o: None,
) -> list[IntakeOutcome]:
    """Take every valid row (each in its own transaction); a refused row leaves nothing behind."""
    outcomes: list[IntakeOutcome] = []
    for number, raw in enumerate(rows, start=1):
        try:
            if "__not_an_object__" in raw:
                raise ValidationError("row", "is not a JSON object")
            if "__extra_values__" in raw:
                raise ValidationError("row", "has more values than the header has columns")
            outcome = IntakeOutcome(row=number, ticket=submit(db, parse_request(raw)))
        except ValidationError as exc:
            outcome = IntakeOutcome(row=number, error=exc.message, field=exc.field)
        except AgentDeskError as exc:
            outcome = IntakeOutcome(row=number, error=exc.message)
        outcomes.append(outcome)
        on_row(outcome)
    return outcomes


def intake_file(
    db: Database, path: Path, on_row: Callable[[IntakeOutcome], None] = lambda _o: None
) -> list[IntakeOutcome]:
    return intake_rows(db, read_rows(path), on_row)


def describe_outcome(outcome: IntakeOutcome) -> str:
    """'row 3, field 'account': no customer with account 'X'' or 'row 1: T-000012 created in retention'."""
    if outcome.ticket is None:
        where = f"row {outcome.row}" + (f", field '{outcome.field}'" if outcome.field and outcome.field != "row" else "")
        return f"{where}: {outcome.error}"
    t = outcome.ticket
    if t.joined:
        return f"row {outcome.row}: joined open ticket {t.number} ({t.state_label.lower()}, {t.queue_unit_name})"
    return (
        f"row {outcome.row}: {t.number} created for {t.account_number} {t.service_kind} {t.service_number} "
        f"in the {t.queue_unit_name} queue (priority {t.priority}, due {t.due_at:%d/%m/%Y %H:%M})"
    )

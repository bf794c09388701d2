"""Reading and editing one ticket: its detail screen, field edits with optimistic locking, notes.

Every function is one unit of work (`with db.session()`), runs as the signed-in person's own role (so the
database's grants and the ticket state-machine trigger decide what is allowed) and writes a timeline event
for every change. Edits carry the version the user started from: if someone saved in between, the edit is
refused with a ConflictError naming who changed it and when, and the caller keeps its input.

`summary_select`, `to_summary` and `lock_ticket` are shared with the queue and offer services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import FromClause, Row, Select, Table, func, select, update
from sqlalchemy.orm import Session, aliased

from agentdesk.bootstrap import Database
from agentdesk.db.models import (
    BillingItem,
    Customer,
    Invoice,
    Job,
    Product,
    Subscription,
    Ticket,
    TicketNote,
    Unit,
)
from agentdesk.db.models.base import CALL_TYPES, CHANNELS
from agentdesk.domain.errors import ConflictError, NotFound, ValidationError
from agentdesk.domain.periods import whole_months_between
from agentdesk.services import audit
from agentdesk.services.dto import (
    BillingItemInfo,
    Contacts,
    CustomerPanel,
    NoteView,
    ServiceInfo,
    TicketDetail,
    TicketSummary,
)

TICKET = cast(Table, Ticket.__table__)
MAX_REASON = 2000
MAX_NOTE = 4000
EDITABLE_FIELDS = ("channel", "call_type", "reason", "priority", "requested_end_date")

_subscription = aliased(Subscription)
_job = aliased(Job)


# -- shared query pieces --------------------------------------------------------------------------------


def summary_select(source: FromClause | None = None) -> Select[*tuple[Any, ...]]:
    """The columns of a TicketSummary, joined; add WHERE / ORDER BY / LIMIT to taste.

    `source` is the ticket table by default, or anything with its columns (e.g. the RETURNING of an
    UPDATE in a CTE, whose new values the main query could not see in the table itself).
    """
    t = TICKET if source is None else source
    return (
        select(
            t.c.id,
            t.c.number,
            t.c.state,
            t.c.customer_id,
            Customer.account_number,
            Customer.name.label("customer_name"),
            Customer.segment,
            _subscription.number.label("subscription_number"),
            _job.number.label("job_number"),
            t.c.channel,
            t.c.call_type,
            t.c.priority,
            t.c.due_at,
            t.c.customer_value,
            Unit.code.label("queue_unit"),
            Unit.name.label("queue_unit_name"),
            t.c.assigned_to,
            t.c.verified_at,
            t.c.created_at,
            t.c.updated_at,
            t.c.updated_by,
            t.c.version,
            t.c.resolution,
        )
        .select_from(t)
        .join(Customer, Customer.id == t.c.customer_id)
        .join(Unit, Unit.id == t.c.queue_unit_id)
        .outerjoin(_subscription, _subscription.id == t.c.subscription_id)
        .outerjoin(_job, _job.id == t.c.job_id)
    )


def to_summary(row: Row[Any] | Mapping[str, Any], *, joined: bool = False) -> TicketSummary:
    m = row._mapping if isinstance(row, Row) else row
    is_job = m["subscription_number"] is None
    return TicketSummary(
        id=m["id"],
        number=m["number"],
        state=m["state"],
        customer_id=m["customer_id"],
        account_number=m["account_number"],
        customer_name=m["customer_name"],
        segment=m["segment"],
        service_kind="job" if is_job else "subscription",
        service_number=(m["job_number"] if is_job else m["subscription_number"]) or "",
        channel=m["channel"],
        call_type=m["call_type"],
        priority=m["priority"],
        due_at=m["due_at"],
        customer_value=m["customer_value"],
        queue_unit=m["queue_unit"],
        queue_unit_name=m["queue_unit_name"],
        assigned_to=m["assigned_to"],
        verified=m["verified_at"] is not None,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        updated_by=m["updated_by"],
        version=m["version"],
        resolution=m["resolution"],
        joined=joined,
    )


def load_summary(session: Session, ticket_id: int, *, joined: bool = False) -> TicketSummary:
    row = session.execute(summary_select().where(Ticket.id == ticket_id)).one_or_none()
    if row is None:
        raise NotFound("Ticket", ticket_id)
    return to_summary(row, joined=joined)


def lock_ticket(session: Session, ticket_id: int, expected_version: int | None = None) -> Ticket:
    """Lock the ticket row for this unit of work and check the version the user started from.

    Raises NotFound, or ConflictError("changed by X at T") when someone saved since `expected_version`.
    """
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update(key_share=True)
    ).one_or_none()
    if ticket is None:
        raise NotFound("Ticket", ticket_id)
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(ticket.updated_by, ticket.updated_at, f"Ticket {ticket.number}")
    return ticket


def update_ticket_row(session: Session, ticket_id: int, values: Mapping[str, Any]) -> None:
    """A plain UPDATE (no ORM flush): the triggers stamp who/when, bump the version and guard the move."""
    session.execute(update(TICKET).where(TICKET.c.id == ticket_id).values(**values))


def jsonable(value: Any) -> Any:
    """Event payloads are JSON: dates and money become ISO text."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# -- reading ---------------------------------------------------------------------------------------------


def find_ticket(db: Database, number: str) -> TicketSummary:
    """A ticket by its number ("T-000123"; "123" and "t-123" work too)."""
    wanted = number.strip().upper()
    if not wanted.startswith("T-"):
        wanted = "T-" + wanted
    digits = wanted[2:]
    if not digits.isdigit():
        raise ValidationError("number", f"'{number}' is not a ticket number (like T-000123)")
    normalized = "T-" + digits.lstrip("0").zfill(6)
    with db.session() as s:
        row = s.execute(summary_select().where(Ticket.number == normalized)).one_or_none()
    if row is None:
        raise NotFound("Ticket", number.strip())
    return to_summary(row)


def get_ticket(db: Database, ticket_id: int) -> TicketDetail:
    """The ticket with its customer panel, the service in question, notes and the timeline in order."""
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("Ticket", ticket_id)
        summary = load_summary(s, ticket_id)
        panel = customer_panel(s, ticket.customer_id)
        notes = s.scalars(
            select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
        ).all()
        events = audit.timeline(s, ticket_id)
        detail_fields = (
            ticket.reason, ticket.requested_end_date, ticket.verified_at, ticket.verified_by,
            ticket.created_by, ticket.closed_at,
        )
    wanted = ("job", ticket.job_id) if ticket.job_id is not None else ("subscription", ticket.subscription_id)
    service = next(sv for sv in panel.services if (sv.kind, sv.id) == wanted)
    reason, end_date, verified_at, verified_by, created_by, closed_at = detail_fields
    return TicketDetail(
        ticket=summary,
        reason=reason,
        requested_end_date=end_date,
        verified_at=verified_at,
        verified_by=verified_by,
        created_by=created_by,
        closed_at=closed_at,
        customer=panel,
        service=service,
        notes=tuple(NoteView(n.id, n.ticket_id, n.author, n.body, n.created_at) for n in notes),
        timeline=tuple(events),
    )


def customer_panel(session: Session, customer_id: int, today: dt.date | None = None) -> CustomerPanel:
    today = today or dt.date.today()
    c = session.get(Customer, customer_id)
    if c is None:
        raise NotFound("Customer", customer_id)
    item_rows = session.execute(
        select(BillingItem, Product)
        .join(Product, Product.id == BillingItem.product_id)
        .outerjoin(Subscription, Subscription.id == BillingItem.subscription_id)
        .outerjoin(Job, Job.id == BillingItem.job_id)
        .where((Subscription.customer_id == customer_id) | (Job.customer_id == customer_id))
        .order_by(BillingItem.is_main.desc(), BillingItem.id)
    ).all()
    items: dict[tuple[str, int], list[BillingItemInfo]] = {}
    for item, product in item_rows:
        key = ("subscription", item.subscription_id) if item.subscription_id is not None else ("job", item.job_id)
        items.setdefault(key, []).append(  # type: ignore[arg-type]
            BillingItemInfo(
                id=item.id, product_code=product.code, product_name=product.name, product_type=product.type,
                is_main=item.is_main, quantity=item.quantity, unit_price=item.unit_price,
                amount=(item.unit_price * item.quantity).quantize(Decimal("0.01")), description=item.description,
            )
        )
    services: list[ServiceInfo] = []
    for sub in session.scalars(
        select(Subscription).where(Subscription.customer_id == customer_id).order_by(Subscription.id)
    ):
        sub_items = tuple(items.get(("subscription", sub.id), ()))
        main = next((i.product_name for i in sub_items if i.is_main), sub_items[0].product_name if sub_items else "")
        services.append(
            ServiceInfo("subscription", sub.id, sub.number, main, sub.state, sub.billing_frequency, sub.start_date,
                        sub.end_date, None, None, sub_items)
        )
    for job in session.scalars(select(Job).where(Job.customer_id == customer_id).order_by(Job.id)):
        services.append(
            ServiceInfo("job", job.id, job.number, job.description, job.state, None, job.order_date, None,
                        job.expected_completion, job.actual_completion, tuple(items.get(("job", job.id), ())))
        )
    open_count, open_amount = session.execute(
        select(func.count(), func.coalesce(func.sum(Invoice.gross_total - Invoice.paid_total), 0)).where(
            Invoice.customer_id == customer_id,
            Invoice.kind == "invoice",
            Invoice.state == "issued",
            Invoice.paid_total < Invoice.gross_total,
        )
    ).one()
    return CustomerPanel(
        id=c.id,
        account_number=c.account_number,
        name=c.name,
        contacts=Contacts(
            email=c.email, phone=c.phone,
            address_lines=tuple(line for line in (c.address_line1, c.address_line2) if line),
            postal_code=c.postal_code, city=c.city, country=c.country,
        ),
        segment=c.segment,
        card_segment=c.card_segment,
        customer_since=c.customer_since,
        tenure_months=whole_months_between(c.customer_since, today),
        late_payments_12m=c.late_payments_12m,
        lifetime_value=c.lifetime_value,
        services=tuple(services),
        open_invoices_count=int(open_count),
        open_invoices_amount=Decimal(open_amount).quantize(Decimal("0.01")),
    )


# -- editing ---------------------------------------------------------------------------------------------


def clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check the fields of a ticket edit; raise ValidationError naming the first bad field."""
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValidationError(name, f"'{name}' cannot be changed here (editable: {', '.join(EDITABLE_FIELDS)})")
        if name == "channel" and value not in CHANNELS:
            raise ValidationError(name, f"Channel must be one of {', '.join(CHANNELS)}")
        if name == "call_type" and value not in CALL_TYPES:
            raise ValidationError(name, f"Call type must be one of {', '.join(CALL_TYPES)}")
        if name == "priority" and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5):
            raise ValidationError(name, "Priority is a whole number from 1 (most urgent) to 5")
        if name == "reason":
            value = (value or "").strip() or None
            if value is not None and len(value) > MAX_REASON:
                raise ValidationError(name, f"Keep the reason under {MAX_REASON} characters")
        if name == "requested_end_date" and value is not None and not isinstance(value, dt.date):
            raise ValidationError(name, "The requested end date must be a date")
        cleaned[name] = value
    return cleaned


def update_ticket(
    db: Database, ticket_id: int, expected_version: int, changes: Mapping[str, Any]
) -> TicketSummary:
    """Save edits to a ticket's fields (channel, call type, reason, priority, requested end date).

    A stale `expected_version` raises ConflictError("changed by X at T"); `changes` is never modified, so
    the caller can show it again after reloading.
    """
    cleaned = clean_changes(changes)
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, expected_version)
        before = {k: getattr(ticket, k) for k in cleaned}
        changed = {k: v for k, v in cleaned.items() if before[k] != v}
        if not changed:
            return load_summary(s, ticket_id)
        s.expunge(ticket)  # the row changes under the ORM's feet: let it go
        update_ticket_row(s, ticket_id, changed)
        audit.record_event(
            s, ticket_id, "updated", "Changed " + ", ".join(k.replace("_", " ") for k in changed),
            before={k: jsonable(before[k]) for k in changed}, after={k: jsonable(v) for k, v in changed.items()},
        )
        return load_summary(s, ticket_id)


def add_note(db: Database, ticket_id: int, body: str) -> NoteView:
    """A free-text note on the ticket (anyone who can see it may add one); the timeline records it."""
    text_ = (body or "").strip()
    if not text_:
        raise ValidationError("body", "Write something in the note")
    if len(text_) > MAX_NOTE:
        raise ValidationError("body", f"Keep a note under {MAX_NOTE} characters")
    with db.session() as s:
        if s.get(Ticket, ticket_id) is None:
            raise NotFound("Ticket", ticket_id)
        note = TicketNote(ticket_id=ticket_id, body=text_)
        s.add(note)
        s.flush()
        preview = text_ if len(text_) <= 80 else text_[:77] + "..."
        audit.record_event(s, ticket_id, "note added", preview, after={"note_id": note.id})
        s.flush()
        s.refresh(note)
        return NoteView(note.id, note.ticket_id, note.author, note.body, note.created_at)

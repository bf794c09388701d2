"""Tickets, their append-only event log, notes and server-side drafts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.db.models.base import (
    CALL_TYPES,
    CHANNELS,
    TICKET_RESOLUTIONS,
    TICKET_STATES,
    Base,
    Money,
    Timestamp,
    created_at_column,
    one_of,
)


class Ticket(Base):
    """One cancellation request, tracked from intake to close.

    `version` is bumped on every update (optimistic locking: SQLAlchemy's version_id_col); a stale save
    matches no row and is refused. `customer_value` is copied from the customer at intake so that the
    queue order (priority, due, value) is served by one partial index with no sort.
    """

    __tablename__ = "ticket"
    __table_args__ = (
        one_of("channel", CHANNELS),
        one_of("call_type", CALL_TYPES),
        one_of("state", TICKET_STATES),
        one_of("resolution", TICKET_RESOLUTIONS),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
        CheckConstraint("(state = 'closed') = (resolution IS NOT NULL)", name="closed_has_resolution"),
        CheckConstraint("state <> 'queued' OR assigned_to IS NULL", name="queued_is_unassigned"),
        CheckConstraint("state NOT IN ('in_progress') OR assigned_to IS NOT NULL", name="in_progress_assigned"),
        CheckConstraint("subscription_id IS NULL OR job_id IS NULL", name="subscription_or_job"),
        Index(
            "ix_ticket_queue_order",
            "queue_unit_id",
            "priority",
            "due_at",
            text("customer_value DESC"),
            "id",
            postgresql_where=text("state = 'queued'"),
        ),
        Index("ix_ticket_assigned_open", "assigned_to", postgresql_where=text("state <> 'closed'")),
        Index("ix_ticket_state_updated", "state", "updated_at"),
        Index(
            "ix_ticket_open_service",
            "customer_id",
            "subscription_id",
            "job_id",
            postgresql_where=text("state <> 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    channel: Mapped[str] = mapped_column(String(10))
    call_type: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(30), server_default="queued")
    resolution: Mapped[str | None] = mapped_column(String(20))
    queue_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    priority: Mapped[int] = mapped_column(Integer, server_default="3")
    customer_value: Mapped[Money] = mapped_column(server_default="0")
    assigned_to: Mapped[str | None] = mapped_column(String(63))
    due_at: Mapped[Timestamp]
    verified_at: Mapped[Timestamp | None]
    verified_by: Mapped[str | None] = mapped_column(String(63))
    requested_end_date: Mapped[dt.date | None]
    version: Mapped[int] = mapped_column(Integer, server_default="1", nullable=False)
    created_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    created_at: Mapped[Timestamp] = created_at_column()
    updated_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    updated_at: Mapped[Timestamp] = created_at_column()
    closed_at: Mapped[Timestamp | None]

    __mapper_args__ = {"version_id_col": version}


class TicketEvent(Base):
    """Append-only: the database refuses UPDATE and DELETE for every application role."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    at: Mapped[Timestamp] = created_at_column()
    actor: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, server_default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class TicketNote(Base):
    __tablename__ = "ticket_note"
    __table_args__ = (CheckConstraint("length(btrim(body)) > 0", name="body_not_blank"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    author: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp] = created_at_column()


class Draft(Base):
    """A CSR's unsaved work on a ticket, kept on the server so it can be resumed on any workstation.

    Row-level security shows each person only their own drafts.
    """

    __tablename__ = "draft"
    __table_args__ = (UniqueConstraint("ticket_id", "owner"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, server_default="1", nullable=False)
    updated_at: Mapped[Timestamp] = created_at_column()

    __mapper_args__ = {"version_id_col": version}

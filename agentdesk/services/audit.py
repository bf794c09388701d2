"""The ticket timeline: every step of the workflow writes one event in the same transaction as the change.

Events are append-only in the database (no role can update or delete them) and the actor and time are
stamped there from the session, so a timeline is evidence, not a log the client could rewrite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.db.models import TicketEvent


@dataclass(frozen=True)
class Event:
    id: int
    ticket_id: int
    at: dt.datetime
    actor: str
    kind: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def record_event(
    session: Session,
    ticket_id: int,
    kind: str,
    summary: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one event to a ticket's timeline (flushed with the caller's unit of work)."""
    session.add(TicketEvent(ticket_id=ticket_id, kind=kind, summary=summary, before=before, after=after))


def timeline(session: Session, ticket_id: int) -> list[Event]:
    rows = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    ).all()
    return [Event(e.id, e.ticket_id, e.at, e.actor, e.kind, e.summary, e.before, e.after) for e in rows]

"""Drafts: a person's unsaved work on a ticket, kept on the server so it can be resumed anywhere.

"Save changes and come back later" (CSR feature list): the GUI saves the form's content as a JSON payload
while the agent works; on another workstation (or after a crash) `load_draft` brings it back. Row-level
security shows each person only their own drafts. Drafts carry a version, so two windows of the same
person cannot silently overwrite each other either. Drafts are scratch: they write no timeline event.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

from sqlalchemy import Table, delete, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert

from agentdesk.bootstrap import Database
from agentdesk.db.models import Draft, Ticket
from agentdesk.domain.errors import ConflictError, NotFound, ValidationError
from agentdesk.services.dto import DraftView

MAX_PAYLOAD_BYTES = 256_000
DRAFT = cast(Table, Draft.__table__)
# Row-level security already hides other people's drafts; saying so here also covers the superuser.
MINE = DRAFT.c.owner == literal_column('(session_user::text COLLATE "default")')


def _checked_payload(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationError("payload", "A draft is a set of named fields")
    try:
        encoded = json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValidationError("payload", f"A draft holds text, numbers, true/false and lists only ({exc})") from None
    if len(encoded.encode()) > MAX_PAYLOAD_BYTES:
        raise ValidationError("payload", "The draft is too large to keep")
    # A copy: the caller's dict stays theirs, and what we return is what the database holds.
    copy: dict[str, Any] = json.loads(encoded)
    return copy


def save_draft(
    db: Database, ticket_id: int, payload: dict[str, Any], expected_version: int | None = None
) -> DraftView:
    """Keep my draft of a ticket. `expected_version` is the version I loaded (None: I had no draft).

    If the draft changed since (saved from another window), ConflictError: load it and decide.
    """
    data = _checked_payload(payload)
    with db.session() as s:
        if s.scalar(select(Ticket.id).where(Ticket.id == ticket_id)) is None:
            raise NotFound("Ticket", ticket_id)
        now = dt.datetime.now(dt.UTC)
        if expected_version is None:
            row = s.execute(
                insert(Draft)
                .values(ticket_id=ticket_id, payload=data, updated_at=now)
                .on_conflict_do_nothing(index_elements=["ticket_id", "owner"])
                .returning(Draft.version, Draft.updated_at)
            ).one_or_none()
        else:
            row = s.execute(
                update(DRAFT)
                .where(
                    DRAFT.c.ticket_id == ticket_id,
                    MINE,
                    DRAFT.c.version == expected_version,
                )
                .values(payload=data, updated_at=now)
                .returning(DRAFT.c.version, DRAFT.c.updated_at)
            ).one_or_none()
        if row is None:
            current = s.execute(
                select(Draft.owner, Draft.updated_at).where(Draft.ticket_id == ticket_id, MINE)
            ).one_or_none()
            if current is None:
                raise ConflictError(db.user, now, "Your draft (discarded in another window)")
            raise ConflictError(current.owner, current.updated_at, "Your draft (saved in another window)")
        return DraftView(ticket_id, data, int(row.version), row.updated_at)


def load_draft(db: Database, ticket_id: int) -> DraftView | None:
    """My draft of a ticket, or None."""
    with db.session() as s:
        row = s.execute(
            select(Draft.payload, Draft.version, Draft.updated_at).where(Draft.ticket_id == ticket_id, MINE)
        ).one_or_none()
    if row is None:
        return None
    return DraftView(ticket_id, dict(row.payload), int(row.version), row.updated_at)


def discard_draft(db: Database, ticket_id: int) -> bool:
    """Throw my draft of a ticket away; False if there was none."""
    with db.session() as s:
        result = s.execute(delete(DRAFT).where(DRAFT.c.ticket_id == ticket_id, MINE).returning(DRAFT.c.id))
        return result.first() is not None

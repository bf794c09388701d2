"""Operational tables: the customer-notification outbox and the background job queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.db.models.base import (
    JOB_KINDS,
    JOB_QUEUE_STATES,
    OUTBOX_KINDS,
    OUTBOX_STATES,
    Base,
    Timestamp,
    created_at_column,
    one_of,
)


class OutboxMessage(Base):
    """A customer notification written in the same transaction as the change it reports.

    The worker sends it later; `dedupe_key` makes a retry after a crash a no-op rather than a second mail.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        one_of("kind", OUTBOX_KINDS),
        one_of("state", OUTBOX_STATES),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_outbox_pending", "id", postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), server_default="pending")
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"))
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    created_at: Mapped[Timestamp] = created_at_column()
    sent_at: Mapped[Timestamp | None]


class BackgroundJob(Base):
    """Work for `agentdesk worker`: claimed with FOR UPDATE SKIP LOCKED, kept alive by heartbeats."""

    __tablename__ = "background_job"
    __table_args__ = (
        one_of("kind", JOB_KINDS),
        one_of("state", JOB_QUEUE_STATES),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_background_job_ready", "priority", "run_after", "id", postgresql_where=text("state = 'queued'")),
        Index("uq_background_job_dedupe", "dedupe_key", unique=True, postgresql_where=text("state IN ('queued', 'running')")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20), server_default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    dedupe_key: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, server_default="5")
    run_after: Mapped[Timestamp] = created_at_column()
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_at: Mapped[Timestamp | None]
    heartbeat_at: Mapped[Timestamp | None]
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    created_at: Mapped[Timestamp] = created_at_column()
    finished_at: Mapped[Timestamp | None]

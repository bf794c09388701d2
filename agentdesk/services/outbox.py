"""Customer notifications: written in the transaction of the change they report, delivered later exactly once.

Writing: :func:`queue_message` adds an ``outbox_message`` row in the caller's unit of work, so an offer and
the e-mail (or letter) announcing it are committed together or not at all. Its ``dedupe_key`` (unique in the
database) makes queueing the same notification twice a no-op.

Delivering: :func:`deliver_one` takes one pending row under ``FOR UPDATE SKIP LOCKED`` (so two workers
never send the same message), sends it and marks it sent in the same transaction. Sending means:

* an e-mail, with an SMTP server set in company settings (``smtp_host``/``smtp_port``): sent there, with
  a ``Message-ID`` derived from the dedupe key so a receiving system can recognise a repeat;
* an e-mail with no SMTP server: an ``.eml`` file written to ``settings.outbox_dir``;
* a letter: the PDF rendered by ``agentdesk.pdf.letter.render_offer_letter``, written to the outbox folder
  for printing.

Files are named after the dedupe key and written atomically (temporary file, then rename); an existing
file is kept. So a crash after the file was written but before the row was marked sent leads, on the next
attempt, to the row being marked sent and still one file: nothing lost, nothing doubled. (SMTP cannot offer
that guarantee across a crash in the same window; the stable Message-ID is the usual mitigation.)

A failed attempt is counted and its error kept; after :data:`MAX_ATTEMPTS` the message is marked failed.
Marking messages sent needs UPDATE on ``outbox_message``: the worker signs in as accounting (or as the
installer).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import smtplib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.config import Settings
from agentdesk.db.models import CompanySettings, Offer, OutboxMessage
from agentdesk.domain.errors import NotFound, ValidationError
from agentdesk.services.audit import record_event

MAX_ATTEMPTS = 5
KINDS = ("email", "letter")


@dataclass(frozen=True)
class OutboxInfo:
    id: int
    kind: str
    state: str
    dedupe_key: str
    ticket_id: int | None
    offer_id: int | None
    recipient: str
    subject: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery attempt did. ``path`` is the file written (None for SMTP)."""

    message_id: int
    kind: str
    state: str  # "sent" | "pending" (will retry) | "failed" (gave up)
    path: Path | None
    via: str  # "smtp" | "file"
    error: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    results: tuple[DeliveryResult, ...]


def _info(m: OutboxMessage) -> OutboxInfo:
    return OutboxInfo(m.id, m.kind, m.state, m.dedupe_key, m.ticket_id, m.offer_id, m.recipient, m.subject,
                      m.attempts, m.last_error, m.created_at, m.sent_at)


# --------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------


def queue_message(session: Session, *, kind: str, dedupe_key: str, recipient: str, subject: str, body: str,
                  ticket_id: int | None = None, offer_id: int | None = None,
                  payload: dict[str, Any] | None = None) -> int | None:
    """Add a notification to the outbox in the caller's transaction; returns its id (None if already queued)."""
    if kind not in KINDS:
        raise ValidationError("kind", f"A notification is an email or a letter, not '{kind}'")
    if not recipient.strip():
        raise ValidationError("recipient", "A notification needs a recipient")
    stmt = (
        insert(OutboxMessage)
        .values(kind=kind, dedupe_key=dedupe_key, ticket_id=ticket_id, offer_id=offer_id,
                recipient=recipient, subject=subject, body=body, payload=payload or {})
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    found = session.execute(stmt).scalar_one_or_none()
    return int(found) if found is not None else None


def pending_messages(db: Database, limit: int = 100) -> list[OutboxInfo]:
    with db.session() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.state == "pending").order_by(OutboxMessage.id).limit(limit)
        ).all()
        return [_info(m) for m in rows]


def messages_for_ticket(db: Database, ticket_id: int) -> list[OutboxInfo]:
    with db.session() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id).order_by(OutboxMessage.id)
        ).all()
        return [_info(m) for m in rows]


# --------------------------------------------------------------------------------------------------------
# Delivering
# --------------------------------------------------------------------------------------------------------


def file_stem(dedupe_key: str) -> str:
    """A safe, stable file name for a message: "offer:12:email" -> "offer-12-email"."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", dedupe_key).strip("-.") or "message"


def write_once(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless the file already exists; True if it wrote."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def build_email(message: OutboxMessage, company: CompanySettings) -> EmailMessage:
    email = EmailMessage()
    sender = company.smtp_sender or company.email or "noreply@localhost"
    email["From"] = f"{company.name} <{sender}>"
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    domain = sender.split("@", 1)[-1] or "localhost"
    # Stable across retries: the same notification always carries the same id.
    email["Message-ID"] = f"<{file_stem(message.dedupe_key)}@{domain}>"
    email.set_content(message.body)
    return email


def render_letter(message: OutboxMessage, company: CompanySettings) -> bytes:
    """The offer letter's PDF, from the frozen terms kept in the message payload."""
    from agentdesk.pdf.documents import CompanyLetterhead, OfferLetterDocument, Party
    from agentdesk.pdf.letter import render_offer_letter

    p = message.payload
    cust = p["customer"]
    company_party = Party(
        name=company.name, address_lines=tuple(x for x in (company.address_line1, company.address_line2) if x),
        postal_code=company.postal_code, city=company.city, country=company.country, vat_id=company.vat_id,
        email=company.email, phone=company.phone,
    )
    letterhead = CompanyLetterhead(
        party=company_party, iban=company.iban, bic=company.bic or "", bank_name=company.bank_name or "",
        website=company.website or "", phone=company.phone or "", email=company.email or "",
        payment_terms_text=f"Payment within {company.payment_terms_days} days", footer_text=company.name,
    )
    customer = Party(
        name=cust["name"], address_lines=tuple(cust.get("address_lines") or ()),
        postal_code=cust.get("postal_code") or "", city=cust.get("city") or "", country=cust.get("country") or "",
        email=cust.get("email"),
    )
    doc = OfferLetterDocument(
        company=letterhead, customer=customer, letter_date=dt.date.fromisoformat(p["letter_date"]),
        ticket_number=p["ticket_number"], offer_description=p["offer_description"],
        terms_lines=tuple(p["terms_lines"]), monthly_cost_before=Decimal(p["monthly_cost_before"]),
        monthly_cost_after=Decimal(p["monthly_cost_after"]), total_saving=Decimal(p["total_saving"]),
        acceptance_reference=p["acceptance_ref"], how_to_accept=p["how_to_accept"],
        expiry_date=dt.date.fromisoformat(p["expiry_date"]), currency=p.get("currency", company.currency),
    )
    return render_offer_letter(doc)


def _send(message: OutboxMessage, company: CompanySettings, settings: Settings) -> tuple[str, Path | None]:
    """Send or write one message; returns (via, path)."""
    folder = Path(settings.outbox_dir)
    if message.kind == "letter":
        path = folder / f"{file_stem(message.dedupe_key)}.pdf"
        if not path.exists():
            write_once(path, render_letter(message, company))
        return "file", path
    email = build_email(message, company)
    if company.smtp_host:
        with smtplib.SMTP(company.smtp_host, company.smtp_port or 25, timeout=15) as smtp:
            smtp.send_message(email)
        return "smtp", None
    path = folder / f"{file_stem(message.dedupe_key)}.eml"
    write_once(path, bytes(email))
    return "file", path


#: Test hook: called after a message went out and before it is marked sent (simulates a crash there).
_after_send: Callable[[OutboxMessage], None] | None = None


def deliver_one(db: Database, settings: Settings, message_id: int) -> DeliveryResult | None:
    """Deliver one pending message; None if it is not pending (already sent, or another worker has it)."""
    with db.session() as s:
        message = s.execute(
            select(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == "pending")
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if message is None:
            if s.get(OutboxMessage, message_id) is None:
                raise NotFound("Outbox message", message_id)
            return None
        company = s.get(CompanySettings, 1)
        if company is None:
            raise NotFound("Company settings")
        message.attempts += 1
        try:
            via, path = _send(message, company, settings)
        except (OSError, smtplib.SMTPException, KeyError, ValueError, TypeError, ImportError) as exc:
            # Keep the attempt and the reason; the row stays pending until MAX_ATTEMPTS.
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.state = "failed"
            return DeliveryResult(message.id, message.kind, message.state, None, "file", message.last_error)
        if _after_send is not None:
            _after_send(message)
        message.state = "sent"
        message.sent_at = s.execute(select(func.now())).scalar_one()
        message.last_error = None
        if message.offer_id is not None:
            offer = s.get(Offer, message.offer_id)
            if offer is not None and offer.state == "proposed":
                offer.state = "sent"
        if message.ticket_id is not None:
            how = "e-mailed to" if message.kind == "email" else "letter printed for"
            record_event(s, message.ticket_id, "customer notified", f"{message.subject}: {how} {message.recipient}",
                         after={"outbox_id": message.id, "via": via, "file": path.name if path else None})
        return DeliveryResult(message.id, message.kind, "sent", path, via)


def deliver_pending(db: Database, settings: Settings, limit: int = 50) -> DeliveryReport:
    """Deliver up to ``limit`` pending messages, oldest first, one transaction each."""
    with db.session() as s:
        ids = list(s.scalars(
            select(OutboxMessage.id).where(OutboxMessage.state == "pending").order_by(OutboxMessage.id).limit(limit)
        ).all())
    results: list[DeliveryResult] = []
    for message_id in ids:
        result = deliver_one(db, settings, message_id)
        if result is not None:
            results.append(result)
    return DeliveryReport(
        sent=sum(1 for r in results if r.state == "sent"),
        failed=sum(1 for r in results if r.state != "sent"),
        results=tuple(results),
    )


__all__ = [
    "DeliveryReport",
    "DeliveryResult",
    "MAX_ATTEMPTS",
    "OutboxInfo",
    "deliver_one",
    "deliver_pending",
    "file_stem",
    "messages_for_ticket",
    "pending_messages",
    "queue_message",
    "write_once",
]

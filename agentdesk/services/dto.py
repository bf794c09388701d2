"""Plain, frozen results that the ticket services hand to the GUI and the CLI.

Nothing here refers to a database session: every value is read inside one unit of work and copied out, so
a screen can keep it as long as it likes and a worker thread can pass it to the GUI thread safely.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from agentdesk.services.audit import Event

STATE_LABELS = {
    "queued": "Queued",
    "in_progress": "In progress",
    "offer_pending": "Offer pending",
    "pending_approval": "Pending approval",
    "accounting": "Accounting",
    "closed": "Closed",
}
OPEN_STATES = ("queued", "in_progress", "offer_pending", "pending_approval", "accounting")


@dataclass(frozen=True)
class TicketSummary:
    """One row of a queue: enough to list, sort and open a ticket (and its `version` to edit it)."""

    id: int
    number: str
    state: str
    customer_id: int
    account_number: str
    customer_name: str
    segment: str
    service_kind: Literal["subscription", "job"]
    service_number: str
    channel: str
    call_type: str
    priority: int
    due_at: dt.datetime
    customer_value: Decimal
    queue_unit: str
    queue_unit_name: str
    assigned_to: str | None
    verified: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    updated_by: str
    version: int
    resolution: str | None = None
    joined: bool = False  # intake: this request joined an already open ticket instead of opening one

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def is_open(self) -> bool:
        return self.state != "closed"

    def is_overdue(self, now: dt.datetime) -> bool:
        return self.is_open and self.due_at < now


@dataclass(frozen=True)
class Contacts:
    email: str | None
    phone: str | None
    address_lines: tuple[str, ...]
    postal_code: str | None
    city: str | None
    country: str


@dataclass(frozen=True)
class BillingItemInfo:
    id: int
    product_code: str
    product_name: str
    product_type: str
    is_main: bool
    quantity: int
    unit_price: Decimal
    amount: Decimal  # quantity x unit price, before discounts and tax
    description: str | None


@dataclass(frozen=True)
class ServiceInfo:
    """A subscription (billed every period) or a job (billed once), with its billing items and prices."""

    kind: Literal["subscription", "job"]
    id: int
    number: str
    description: str
    state: str
    billing_frequency: str | None  # subscriptions only
    start_date: dt.date
    end_date: dt.date | None
    expected_completion: dt.date | None  # jobs only
    actual_completion: dt.date | None  # jobs only
    items: tuple[BillingItemInfo, ...]

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.items), Decimal("0.00"))

    @property
    def is_late(self) -> bool:
        """A job finished (or still open) after its promised date."""
        if self.kind != "job" or self.expected_completion is None:
            return False
        finished = self.actual_completion or dt.date.today()
        return finished > self.expected_completion


@dataclass(frozen=True)
class CustomerPanel:
    """What the CSR sees about the caller: account, contacts, segment, tenure, payments, services, debt."""

    id: int
    account_number: str
    name: str
    contacts: Contacts
    segment: str
    card_segment: str
    customer_since: dt.date
    tenure_months: int
    late_payments_12m: int
    lifetime_value: Decimal
    services: tuple[ServiceInfo, ...]
    open_invoices_count: int
    open_invoices_amount: Decimal  # still to pay on issued invoices


@dataclass(frozen=True)
class NoteView:
    id: int
    ticket_id: int
    author: str
    body: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TicketDetail:
    """Everything a ticket screen shows: the ticket, the caller, the service in question, notes, timeline."""

    ticket: TicketSummary
    reason: str | None
    requested_end_date: dt.date | None
    verified_at: dt.datetime | None
    verified_by: str | None
    created_by: str
    closed_at: dt.datetime | None
    customer: CustomerPanel
    service: ServiceInfo
    notes: tuple[NoteView, ...]
    timeline: tuple[Event, ...]

    @property
    def id(self) -> int:
        return self.ticket.id

    @property
    def version(self) -> int:
        return self.ticket.version


@dataclass(frozen=True)
class QueueRef:
    """Which queue to list: a unit's service queue, "mine", "approvals" or "accounting"."""

    kind: Literal["service", "mine", "approvals", "accounting"]
    unit_code: str | None = None

    @classmethod
    def service(cls, unit_code: str) -> QueueRef:
        return cls("service", unit_code)

    @classmethod
    def parse(cls, text: str) -> QueueRef:
        """"mine", "approvals", "accounting", or a unit code such as "retention"."""
        name = text.strip().lower()
        if name in ("mine", "approvals", "accounting"):
            return cls(name)  # type: ignore[arg-type]
        return cls.service(name.removeprefix("service:"))

    def __str__(self) -> str:
        return self.unit_code if self.kind == "service" and self.unit_code else self.kind


@dataclass(frozen=True)
class QueueFilter:
    """Narrows a queue. Every field is optional; all given ones must match."""

    state: str | None = None
    call_type: str | None = None
    segment: str | None = None
    min_age_minutes: int | None = None  # created at least this long ago
    max_age_minutes: int | None = None  # created at most this long ago
    due: Literal["overdue", "due_soon"] | None = None
    due_soon_minutes: int = 60
    text: str | None = None  # account number, customer name or ticket number


@dataclass(frozen=True)
class QueueKey:
    """Where a page ended (keyset pagination): pass it back as `after_key` for the next page."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class QueuePage:
    tickets: tuple[TicketSummary, ...]
    next_key: QueueKey | None  # None: this was the last page


@dataclass(frozen=True)
class UnitQueueCount:
    """Queued and overdue tickets of one service queue, each counted up to `cap` ("10,000+")."""

    unit_code: str
    unit_name: str
    queued: int
    overdue: int
    cap: int = 10_000

    @property
    def queued_text(self) -> str:
        return f"{self.queued:,}+" if self.queued >= self.cap else f"{self.queued:,}"


@dataclass(frozen=True)
class QueueCounts:
    units: tuple[UnitQueueCount, ...]
    mine: int
    approvals: int
    accounting: int

    def queued(self, unit_code: str) -> int:
        return next((u.queued for u in self.units if u.unit_code == unit_code), 0)


@dataclass(frozen=True)
class DraftView:
    """Unsaved work on a ticket kept on the server; only its owner can read it."""

    ticket_id: int
    payload: dict[str, Any] = field(hash=False)
    version: int = 1
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class IntakeOutcome:
    """One row of an intake file: the ticket it created or joined, or why it was refused."""

    row: int
    ticket: TicketSummary | None = None
    error: str | None = None
    field: str | None = None

    @property
    def ok(self) -> bool:
        return self.ticket is not None

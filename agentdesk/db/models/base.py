"""Declarative base and the column shapes every AgentDesk table shares.

Money is NUMERIC(12,2), percentages NUMERIC(5,2), times timestamptz. Text enumerations are plain text
columns with a CHECK constraint (easier to evolve than PostgreSQL enum types); the allowed values are
listed once here, next to the helper that writes the CHECK.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from sqlalchemy import CheckConstraint, DateTime, MetaData, Numeric, String, Text, func
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


Money = Annotated[Decimal, mapped_column(Numeric(12, 2))]
Percent = Annotated[Decimal, mapped_column(Numeric(5, 2))]
Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]
Name = Annotated[str, mapped_column(String(200))]
LongText = Annotated[str, mapped_column(Text)]


def created_at_column() -> MappedColumn[dt.datetime]:
    """A timestamptz column the database fills with now() (and a trigger may keep from being forged)."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    """A CHECK that keeps a text column within its known values (NULL passes; use nullable=False)."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_known")


# The vocabularies, in one place. Python's domain enums use the same strings.
CHANNELS = ("phone", "email", "web")
CALL_TYPES = (
    "cancellation",
    "complaint",
    "late_installation",
    "billing_dispute",
    "price",
    "moving",
    "competitor",
)
CUSTOMER_SEGMENTS = ("platinum", "gold", "silver", "bronze")
CARD_SEGMENTS = ("premium", "standard", "none")
PRODUCT_TYPES = ("subscription_package", "add_on", "one_off_fee", "installation_fee")
BILLING_FREQUENCIES = ("monthly", "quarterly", "annual")
SUBSCRIPTION_STATES = ("active", "cancellation_pending", "cancelled")
JOB_STATES = ("open", "completed", "billed", "cancelled")
APP_ROLES = ("csr", "manager", "accounting", "admin")
TICKET_STATES = (
    "queued",  # in a service queue, nobody has it
    "in_progress",  # a CSR has it
    "offer_pending",  # an offer was sent; waiting for the customer
    "pending_approval",  # an accepted discount waits for a manager
    "accounting",  # in the accounting queue
    "closed",
)
TICKET_RESOLUTIONS = ("retained", "cancelled", "withdrawn", "merged")
VALUE_KINDS = ("percentage", "amount", "amount_range", "free_period")
DURATION_KINDS = ("once", "periods", "until_date")
APPROVAL_METHODS = ("automatic", "manual")
EDIFICE_TYPES = ("trade", "term", "cumulative_term")
OFFER_STATES = ("proposed", "sent", "accepted", "declined", "lapsed", "withdrawn")
DISCOUNT_STATES = ("pending_approval", "approved", "cancelled")
INVOICE_KINDS = ("invoice", "credit_note")
INVOICE_STATES = ("draft", "issued", "credited")
RUN_STATES = ("running", "completed", "failed", "aborted")
OUTBOX_KINDS = ("email", "letter")
OUTBOX_STATES = ("pending", "sent", "failed")
JOB_KINDS = ("billing_run", "render_invoice", "send_outbox", "lapse_offers")
JOB_QUEUE_STATES = ("queued", "running", "done", "failed")

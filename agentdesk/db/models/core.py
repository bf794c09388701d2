"""Reference data: the company, units and users, customers, products, subscriptions, jobs, billing items."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.db.models.base import (
    APP_ROLES,
    BILLING_FREQUENCIES,
    CALL_TYPES,
    CARD_SEGMENTS,
    CHANNELS,
    CUSTOMER_SEGMENTS,
    JOB_STATES,
    PRODUCT_TYPES,
    SUBSCRIPTION_STATES,
    Base,
    Money,
    Percent,
    Timestamp,
    created_at_column,
    one_of,
)


class CompanySettings(Base):
    """The one row of company-wide settings: letterhead, currency, SMTP, invoice series."""

    __tablename__ = "company_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str] = mapped_column(String(40))
    iban: Mapped[str] = mapped_column(String(40))
    bic: Mapped[str | None] = mapped_column(String(20))
    bank_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), server_default="EUR")
    invoice_series: Mapped[str] = mapped_column(String(20), server_default="INV")
    credit_note_series: Mapped[str] = mapped_column(String(20), server_default="CN")
    payment_terms_days: Mapped[int] = mapped_column(Integer, server_default="14")
    smtp_host: Mapped[str | None] = mapped_column(String(200))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_sender: Mapped[str | None] = mapped_column(String(200))
    offer_validity_days: Mapped[int] = mapped_column(Integer, server_default="14")
    updated_at: Mapped[Timestamp] = created_at_column()

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="payment_terms_range"),
        CheckConstraint("offer_validity_days BETWEEN 1 AND 365", name="offer_validity_range"),
        CheckConstraint("smtp_port IS NULL OR smtp_port BETWEEN 1 AND 65535", name="smtp_port_range"),
    )


class Unit(Base):
    """A team: a service queue owner ("Retention", "Senior save team") or an approving unit."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_service_queue: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class AppUser(Base):
    """A person. Each one signs in as their own PostgreSQL login role, named `role_name`."""

    __tablename__ = "app_user"
    __table_args__ = (one_of("role", APP_ROLES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role_name: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[Timestamp] = created_at_column()


class UserUnit(Base):
    __tablename__ = "user_unit"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)


class Customer(Base):
    __tablename__ = "customer"
    __table_args__ = (
        one_of("segment", CUSTOMER_SEGMENTS),
        one_of("card_segment", CARD_SEGMENTS),
        CheckConstraint("late_payments_12m >= 0", name="late_payments_non_negative"),
        CheckConstraint("lifetime_value >= 0", name="lifetime_value_non_negative"),
        Index("ix_customer_name_lower", text("lower(name)")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), server_default="CY")
    vat_id: Mapped[str | None] = mapped_column(String(40))
    segment: Mapped[str] = mapped_column(String(20))
    card_segment: Mapped[str] = mapped_column(String(20), server_default="none")
    customer_since: Mapped[dt.date] = mapped_column(Date)
    late_payments_12m: Mapped[int] = mapped_column(Integer, server_default="0")
    lifetime_value: Mapped[Money] = mapped_column(server_default="0")
    created_at: Mapped[Timestamp] = created_at_column()


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        one_of("type", PRODUCT_TYPES),
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("tax_rate BETWEEN 0 AND 100", name="tax_rate_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(30))
    price: Mapped[Money]
    tax_rate: Mapped[Percent]
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Subscription(Base):
    __tablename__ = "subscription"
    __table_args__ = (
        one_of("billing_frequency", BILLING_FREQUENCIES),
        one_of("state", SUBSCRIPTION_STATES),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("state <> 'cancelled' OR end_date IS NOT NULL", name="cancelled_has_end"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    billing_frequency: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30), server_default="active")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[Timestamp] = created_at_column()


class Job(Base):
    """A one-off piece of work billed once (e.g. an installation), with its promised and real dates."""

    __tablename__ = "job"
    __table_args__ = (
        one_of("state", JOB_STATES),
        CheckConstraint("expected_completion >= order_date", name="expected_after_order"),
        CheckConstraint(
            "actual_completion IS NULL OR actual_completion >= order_date", name="actual_after_order"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    order_date: Mapped[dt.date] = mapped_column(Date)
    expected_completion: Mapped[dt.date] = mapped_column(Date)
    actual_completion: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), server_default="open")
    created_at: Mapped[Timestamp] = created_at_column()


class BillingItem(Base):
    """A chargeable line of a subscription (recurring) or of a job (once)."""

    __tablename__ = "billing_item"
    __table_args__ = (
        CheckConstraint("(subscription_id IS NULL) <> (job_id IS NULL)", name="subscription_xor_job"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    is_main: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    quantity: Mapped[int] = mapped_column(Integer, server_default="1")
    unit_price: Mapped[Money]
    description: Mapped[str | None] = mapped_column(String(200))


class RoutingRule(Base):
    """Data, not code: which unit's service queue a new ticket lands in, and at what priority.

    The first active rule (lowest `position`) whose non-null criteria all match wins.
    """

    __tablename__ = "routing_rule"
    __table_args__ = (
        one_of("segment", CUSTOMER_SEGMENTS),
        one_of("call_type", CALL_TYPES),
        one_of("channel", CHANNELS),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        CheckConstraint("due_minutes > 0", name="due_positive"),
        UniqueConstraint("position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(20))
    call_type: Mapped[str | None] = mapped_column(String(30))
    channel: Mapped[str | None] = mapped_column(String(10))
    min_lifetime_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    priority: Mapped[int] = mapped_column(Integer, server_default="3")
    due_minutes: Mapped[int] = mapped_column(Integer, server_default="240")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Note(Base):
    """Free text an agent attaches to a customer (ticket notes live in `ticket_note`)."""

    __tablename__ = "customer_note"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    author: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp] = created_at_column()

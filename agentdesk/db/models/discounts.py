"""Discount definitions, offers made on tickets, ad hoc discounts and the patent's billing item records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.db.models.base import (
    APPROVAL_METHODS,
    BILLING_FREQUENCIES,
    CHANNELS,
    DISCOUNT_STATES,
    DURATION_KINDS,
    EDIFICE_TYPES,
    OFFER_STATES,
    VALUE_KINDS,
    Base,
    Money,
    Percent,
    Timestamp,
    created_at_column,
    one_of,
)


class DiscountDefinition(Base):
    """What an agent may offer (CRM.COM additive discount definition + EDIFICE discount type).

    A definition that has been used is never edited: a new `version` row with the same `code` replaces it
    and the old one is deactivated, so history keeps the terms it was given under.
    """

    __tablename__ = "discount_definition"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        one_of("value_kind", VALUE_KINDS),
        one_of("duration_kind", DURATION_KINDS),
        one_of("approval", APPROVAL_METHODS),
        one_of("edifice_type", EDIFICE_TYPES),
        one_of("billing_frequency", BILLING_FREQUENCIES),
        CheckConstraint("percentage IS NULL OR percentage BETWEEN 0 AND 100", name="percentage_range"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
        CheckConstraint(
            "amount_min IS NULL OR (amount_min >= 0 AND amount_max >= amount_min)", name="range_ordered"
        ),
        CheckConstraint("free_periods IS NULL OR free_periods >= 1", name="free_periods_positive"),
        CheckConstraint(
            "(value_kind = 'percentage') = (percentage IS NOT NULL)"
            " AND (value_kind = 'amount') = (amount IS NOT NULL)"
            " AND (value_kind = 'amount_range') = (amount_min IS NOT NULL AND amount_max IS NOT NULL)"
            " AND (value_kind = 'free_period') = (free_periods IS NOT NULL)",
            name="value_matches_kind",
        ),
        CheckConstraint(
            "expiration_date IS NULL OR expiration_date > effective_date", name="expiration_after_effective"
        ),
        CheckConstraint(
            "(duration_kind = 'periods') = (duration_periods IS NOT NULL AND duration_periods >= 1)"
            " AND (duration_kind = 'until_date') = (duration_until IS NOT NULL)",
            name="duration_matches_kind",
        ),
        CheckConstraint("max_applications IS NULL OR max_applications >= 1", name="cap_positive"),
        CheckConstraint("applications_window_months BETWEEN 1 AND 120", name="window_range"),
        CheckConstraint("(approval = 'manual') = (approval_unit_id IS NOT NULL)", name="manual_has_unit"),
        CheckConstraint("multiplier > 0 AND multiplier <= 1", name="multiplier_range"),
        CheckConstraint("step_cap IS NULL OR step_cap > 0", name="step_cap_positive"),
        CheckConstraint("term_days IS NULL OR term_days BETWEEN 0 AND 365", name="term_days_range"),
        CheckConstraint("max_late_payments IS NULL OR max_late_payments >= 0", name="late_non_negative"),
        CheckConstraint("min_tenure_months IS NULL OR min_tenure_months >= 0", name="tenure_non_negative"),
        Index("ix_discount_definition_active_code", "code", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    value_kind: Mapped[str] = mapped_column(String(20))
    percentage: Mapped[Percent | None]
    amount: Mapped[Money | None]
    amount_min: Mapped[Money | None]
    amount_max: Mapped[Money | None]
    free_periods: Mapped[int | None] = mapped_column(Integer)
    billing_frequency: Mapped[str | None] = mapped_column(String(20))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    expiration_date: Mapped[dt.date | None] = mapped_column(Date)
    duration_kind: Mapped[str] = mapped_column(String(20), server_default="once")
    duration_periods: Mapped[int | None] = mapped_column(Integer)
    duration_until: Mapped[dt.date | None] = mapped_column(Date)
    max_applications: Mapped[int | None] = mapped_column(Integer)
    applications_window_months: Mapped[int] = mapped_column(Integer, server_default="12")
    approval: Mapped[str] = mapped_column(String(20), server_default="automatic")
    approval_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    product_types: Mapped[list[str]] = mapped_column(ARRAY(String(30)), server_default="{}")
    product_codes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    main_service_only: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    customer_segments: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default="{}")
    card_segments: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default="{}")
    call_types: Mapped[list[str]] = mapped_column(ARRAY(String(30)), server_default="{}")
    max_late_payments: Mapped[int | None] = mapped_column(Integer)
    min_tenure_months: Mapped[int | None] = mapped_column(Integer)
    jobs_late_only: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    auto_apply: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    edifice_type: Mapped[str] = mapped_column(String(20), server_default="trade")
    multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 5), server_default="1")
    step_cap: Mapped[Money | None]
    term_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    created_at: Mapped[Timestamp] = created_at_column()


class Offer(Base):
    """A discount put on a ticket, its terms frozen. Acceptance evidence cannot change afterwards."""

    __tablename__ = "offer"
    __table_args__ = (
        one_of("state", OFFER_STATES),
        one_of("accepted_channel", CHANNELS + ("reference",), name="accepted_channel_known"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
        CheckConstraint("percentage IS NULL OR percentage BETWEEN 0 AND 100", name="percentage_range"),
        CheckConstraint(
            "(state = 'accepted') = (accepted_at IS NOT NULL AND terms_hash IS NOT NULL)",
            name="accepted_has_evidence",
        ),
        Index("ix_offer_ticket", "ticket_id", "rank"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    definition_id: Mapped[int] = mapped_column(ForeignKey("discount_definition.id"))
    rank: Mapped[int] = mapped_column(Integer, server_default="1")
    state: Mapped[str] = mapped_column(String(20), server_default="proposed")
    amount: Mapped[Money | None]
    percentage: Mapped[Percent | None]
    free_periods: Mapped[int | None] = mapped_column(Integer)
    billing_item_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    terms: Mapped[dict[str, Any]] = mapped_column(JSONB)
    terms_hash: Mapped[str | None] = mapped_column(String(64))
    acceptance_ref: Mapped[str] = mapped_column(String(20), unique=True)
    expires_at: Mapped[Timestamp]
    made_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    made_at: Mapped[Timestamp] = created_at_column()
    accepted_at: Mapped[Timestamp | None]
    accepted_channel: Mapped[str | None] = mapped_column(String(20))
    accepted_recorded_by: Mapped[str | None] = mapped_column(String(63))
    declined_at: Mapped[Timestamp | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)


class AdhocDiscount(Base):
    """CRM.COM's ad hoc discount: Pending Approval -> Approved | Cancelled, with by/on for each step.

    Only Approved rows are billable (the billing run's queries and a database check both enforce it).
    """

    __tablename__ = "adhoc_discount"
    __table_args__ = (
        one_of("state", DISCOUNT_STATES),
        one_of("approval_method", APPROVAL_METHODS),
        one_of("value_kind", VALUE_KINDS),
        one_of("edifice_type", EDIFICE_TYPES),
        CheckConstraint("(subscription_id IS NULL) <> (job_id IS NULL)", name="subscription_xor_job"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
        CheckConstraint("percentage IS NULL OR percentage BETWEEN 0 AND 100", name="percentage_range"),
        CheckConstraint("free_periods IS NULL OR free_periods >= 1", name="free_periods_positive"),
        CheckConstraint(
            "expiration_date IS NULL OR effective_date IS NULL OR expiration_date > effective_date",
            name="expiration_after_effective",
        ),
        CheckConstraint("periods_total IS NULL OR periods_total >= 1", name="periods_positive"),
        CheckConstraint("periods_used >= 0", name="periods_used_non_negative"),
        CheckConstraint(
            "(state = 'approved') = (approved_by IS NOT NULL AND approved_on IS NOT NULL)",
            name="approved_has_stamp",
        ),
        CheckConstraint(
            "(state = 'cancelled') = (cancelled_by IS NOT NULL AND cancelled_on IS NOT NULL)",
            name="cancelled_has_stamp",
        ),
        CheckConstraint(
            "approval_method = 'automatic' OR approved_by IS NULL OR approved_by <> provided_by",
            name="four_eyes",
        ),
        Index("ix_adhoc_discount_customer", "customer_id", "definition_code", "provided_on"),
        Index("ix_adhoc_discount_pending", "approval_unit_id", postgresql_where=text("state = 'pending_approval'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("discount_definition.id"))
    definition_code: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), server_default="pending_approval")
    approval_method: Mapped[str] = mapped_column(String(20))
    approval_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    value_kind: Mapped[str] = mapped_column(String(20))
    percentage: Mapped[Percent | None]
    amount: Mapped[Money | None]
    free_periods: Mapped[int | None] = mapped_column(Integer)
    edifice_type: Mapped[str] = mapped_column(String(20), server_default="trade")
    multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 5), server_default="1")
    step_cap: Mapped[Money | None]
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    expiration_date: Mapped[dt.date | None] = mapped_column(Date)
    periods_total: Mapped[int | None] = mapped_column(Integer)
    periods_used: Mapped[int] = mapped_column(Integer, server_default="0")
    provided_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    provided_on: Mapped[Timestamp] = created_at_column()
    approved_by: Mapped[str | None] = mapped_column(String(63))
    approved_on: Mapped[Timestamp | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(63))
    cancelled_on: Mapped[Timestamp | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1", nullable=False)

    __mapper_args__ = {"version_id_col": version}


class AdhocDiscountItem(Base):
    """The billing items an ad hoc discount applies to (CRM.COM "Applicable Products")."""

    __tablename__ = "adhoc_discount_item"

    discount_id: Mapped[int] = mapped_column(
        ForeignKey("adhoc_discount.id", ondelete="CASCADE"), primary_key=True
    )
    billing_item_id: Mapped[int] = mapped_column(ForeignKey("billing_item.id"), primary_key=True)


class BillingItemRecord(Base):
    """The patent's record: one per discounted billing item once accounting approves the assignment."""

    __tablename__ = "billing_item_record"
    __table_args__ = (
        UniqueConstraint("discount_id", "billing_item_id"),
        CheckConstraint("approved_discount >= 0", name="discount_non_negative"),
        CheckConstraint("discount_percent BETWEEN 0 AND 100", name="percent_range"),
        CheckConstraint("service_cost >= 0", name="cost_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    discount_id: Mapped[int] = mapped_column(ForeignKey("adhoc_discount.id"))
    billing_item_id: Mapped[int] = mapped_column(ForeignKey("billing_item.id"))
    service_description: Mapped[str] = mapped_column(String(200))
    service_frequency: Mapped[str] = mapped_column(String(20))
    service_cost: Mapped[Money]
    approved_discount: Mapped[Money]
    discount_frequency: Mapped[str] = mapped_column(String(40))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    approved_by: Mapped[str] = mapped_column(String(63), server_default=text("session_user"))
    approved_at: Mapped[Timestamp] = created_at_column()

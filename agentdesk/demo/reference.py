"""Reference data every AgentDesk database starts from: the company, units, products, routing rules and the
discount definitions of the source documents (CRM.COM's three scenarios moved to the current year, the
EDIFICE term/cumulative-term/trade types, and a ladder of retention offers).

Used by `agentdesk demo-data` and by the test template database. Idempotent: rows are keyed by code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from agentdesk.db.models import CompanySettings, DiscountDefinition, Product, RoutingRule, Unit

UNITS = [
    # code, name, is_service_queue
    ("retention", "Retention desk", True),
    ("senior_save", "Senior save team", True),
    ("customer_care_managers", "Customer Care managers", False),
    ("accounting", "Accounting", False),
]

PRODUCTS = [
    # code, name, type, price, tax rate %
    ("FIBRE-100", "Fibre 100 Mbit/s", "subscription_package", "29.90", "19.00"),
    ("FIBRE-500", "Fibre 500 Mbit/s", "subscription_package", "44.90", "19.00"),
    ("FIBRE-1000", "Fibre 1 Gbit/s", "subscription_package", "59.90", "19.00"),
    ("TV-BASIC", "TV Basic package", "subscription_package", "19.90", "19.00"),
    ("TV-SPORTS", "Sports add-on", "add_on", "14.90", "19.00"),
    ("STATIC-IP", "Static IP address", "add_on", "5.00", "19.00"),
    ("ROUTER-RENT", "Wi-Fi 6 router rental", "add_on", "4.50", "19.00"),
    ("INSTALL", "Installation Service Fee", "installation_fee", "120.00", "19.00"),
    ("ACTIVATION", "Activation fee", "one_off_fee", "25.00", "19.00"),
]


def current_year_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)


def routing_rules() -> list[dict[str, Any]]:
    """High-value customers go to the senior save team (retention patent); everyone else to retention."""
    return [
        {"position": 10, "name": "Platinum customers to the senior save team", "segment": "platinum",
         "unit": "senior_save", "priority": 1, "due_minutes": 60},
        {"position": 20, "name": "High lifetime value to the senior save team", "min_lifetime_value": Decimal("5000"),
         "unit": "senior_save", "priority": 1, "due_minutes": 60},
        {"position": 30, "name": "Gold cancellations, fast lane", "segment": "gold", "call_type": "cancellation",
         "unit": "retention", "priority": 2, "due_minutes": 120},
        {"position": 40, "name": "Late installation complaints", "call_type": "late_installation",
         "unit": "retention", "priority": 2, "due_minutes": 240},
        {"position": 100, "name": "Everything else", "unit": "retention", "priority": 3, "due_minutes": 480},
    ]


def discount_definitions(today: dt.date) -> list[dict[str, Any]]:
    start, end = current_year_bounds(today)
    common = {"effective_date": start, "expiration_date": end}
    return [
        # CRM.COM scenario 1: 5-20 a month, monthly subscribers, main service only, 3 a year,
        # until 31/12 of this year, manual approval by the Customer Care managers.
        {**common, "code": "ZX-SUB-RANGE", "name": "Serious complaint credit (monthly)",
         "description": "Agent-chosen amount 5.00-20.00 per month on the main service; supervisor approval.",
         "value_kind": "amount_range", "amount_min": Decimal("5.00"), "amount_max": Decimal("20.00"),
         "billing_frequency": "monthly", "duration_kind": "until_date", "duration_until": end,
         "max_applications": 3, "applications_window_months": 12, "approval": "manual",
         "approval_unit": "customer_care_managers", "product_types": ["subscription_package"],
         "main_service_only": True},
        # CRM.COM scenario 2: 50% of the installation fee for late jobs, manual approval.
        {**common, "code": "ZX-JOB-LATE-50", "name": "Late installation: 50% off the installation fee",
         "description": "Half the Installation Service Fee when the job finished later than promised.",
         "value_kind": "percentage", "percentage": Decimal("50.00"), "duration_kind": "once",
         "approval": "manual", "approval_unit": "customer_care_managers", "product_codes": ["INSTALL"],
         "jobs_late_only": True, "call_types": ["late_installation", "complaint", "cancellation"]},
        # CRM.COM scenario 3: 20.00 off the installation fee, applied automatically by billing.
        {**common, "code": "ZX-JOB-AUTO-20", "name": "Late installation: 20.00 off automatically",
         "description": "Applied by billing to late jobs' Installation Service Fee; no agent action needed.",
         "value_kind": "amount", "amount": Decimal("20.00"), "duration_kind": "once", "approval": "automatic",
         "product_codes": ["INSTALL"], "jobs_late_only": True, "auto_apply": True},
        # Retention ladder (retention patent: incentives by segment, payment history and call type).
        {**common, "code": "RET-15PCT-6M", "name": "15% off for 6 months",
         "description": "Loyalty price on the main service for half a year.",
         "value_kind": "percentage", "percentage": Decimal("15.00"), "duration_kind": "periods",
         "duration_periods": 6, "max_applications": 1, "applications_window_months": 12,
         "approval": "automatic", "product_types": ["subscription_package"], "main_service_only": True,
         "max_late_payments": 2, "call_types": ["cancellation", "price", "competitor"]},
        {**common, "code": "RET-25PCT-12M", "name": "25% off for 12 months (gold and platinum)",
         "description": "The senior save offer for valuable customers with a clean payment record.",
         "value_kind": "percentage", "percentage": Decimal("25.00"), "duration_kind": "periods",
         "duration_periods": 12, "max_applications": 1, "applications_window_months": 24,
         "approval": "manual", "approval_unit": "customer_care_managers",
         "product_types": ["subscription_package"], "main_service_only": True,
         "customer_segments": ["platinum", "gold"], "max_late_payments": 0, "min_tenure_months": 12,
         "call_types": ["cancellation", "competitor", "price"]},
        {**common, "code": "RET-FREE-MONTH", "name": "One month free",
         "description": "The next billing period of the main service at no charge.",
         "value_kind": "free_period", "free_periods": 1, "duration_kind": "periods", "duration_periods": 1,
         "max_applications": 1,
         "applications_window_months": 12, "approval": "automatic", "product_types": ["subscription_package"],
         "main_service_only": True, "min_tenure_months": 6, "max_late_payments": 1},
        {**common, "code": "RET-ADDON-HALF", "name": "Add-ons at half price for 3 months",
         "description": "Keeps the extras affordable while the customer reconsiders.",
         "value_kind": "percentage", "percentage": Decimal("50.00"), "duration_kind": "periods",
         "duration_periods": 3, "max_applications": 2, "applications_window_months": 12,
         "approval": "automatic", "product_types": ["add_on"]},
        # EDIFICE discount types: term (taken at payment if paid by the discount date), cumulative term
        # (taken at payment whatever the date: senior citizens) and trade (taken at billing).
        {**common, "code": "EDI-TERM-10", "name": "Prompt payment discount 10% (term)",
         "description": "10% of the charge returned if paid within 10 days of the invoice.",
         "value_kind": "percentage", "percentage": Decimal("10.00"), "duration_kind": "periods",
         "duration_periods": 12, "approval": "automatic", "edifice_type": "term",
         "multiplier": Decimal("1"), "step_cap": Decimal("15.00"), "term_days": 10,
         "product_types": ["subscription_package"], "main_service_only": True, "max_late_payments": 0},
        {**common, "code": "EDI-CUMTERM-SENIOR", "name": "Senior citizen discount (cumulative term)",
         "description": "Printed on every bill and taken at payment, whatever the payment date.",
         "value_kind": "percentage", "percentage": Decimal("10.00"), "duration_kind": "until_date",
         "duration_until": end, "approval": "manual", "approval_unit": "customer_care_managers",
         "edifice_type": "cumulative_term", "product_types": ["subscription_package"], "main_service_only": True},
        {**common, "code": "EDI-TRADE-5", "name": "Trade discount 5%",
         "description": "Taken at billing: reduces the amount due on every line of the service.",
         "value_kind": "percentage", "percentage": Decimal("5.00"), "duration_kind": "periods",
         "duration_periods": 12, "approval": "automatic", "edifice_type": "trade",
         "step_cap": Decimal("10.00"), "product_types": ["subscription_package", "add_on"]},
    ]


def load_reference_data(session: Session, today: dt.date) -> None:
    """Insert the reference rows that are missing (keyed by code); existing rows are left alone."""
    if session.get(CompanySettings, 1) is None:
        session.add(
            CompanySettings(
                id=1, name="Company ZX Telecom Ltd", address_line1="12 Archbishop Makarios III Avenue",
                address_line2="Floor 4", postal_code="1065", city="Nicosia", country="CY",
                vat_id="CY10123456X", iban="CY17 0020 0128 0000 0012 0052 7600", bic="BCYPCY2N",
                bank_name="Bank of Cyprus", phone="+357 22 000 000", email="billing@zx-telecom.example",
                website="www.zx-telecom.example", smtp_sender="care@zx-telecom.example",
            )
        )
    session.execute(
        insert(Unit).values([{"code": c, "name": n, "is_service_queue": q} for c, n, q in UNITS])
        .on_conflict_do_nothing(index_elements=["code"])
    )
    session.execute(
        insert(Product).values(
            [{"code": c, "name": n, "type": t, "price": Decimal(p), "tax_rate": Decimal(r)} for c, n, t, p, r in PRODUCTS]
        ).on_conflict_do_nothing(index_elements=["code"])
    )
    units = dict(session.execute(select(Unit.code, Unit.id)).all())
    if not session.scalar(select(RoutingRule.id).limit(1)):
        for rule in routing_rules():
            fields = {k: v for k, v in rule.items() if k != "unit"}
            session.add(RoutingRule(unit_id=units[rule["unit"]], **fields))
    known = set(session.scalars(select(DiscountDefinition.code)))
    for spec in discount_definitions(today):
        if spec["code"] in known:
            continue
        fields = {k: v for k, v in spec.items() if k != "approval_unit"}
        if spec.get("approval_unit"):
            fields["approval_unit_id"] = units[spec["approval_unit"]]
        session.add(DiscountDefinition(**fields))
    session.flush()

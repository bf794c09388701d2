"""Bill previews: the same plan the run would issue, before and after discounts, with nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from agentdesk.billing.run import run_billing
from agentdesk.domain.billing_math import AppliedDiscount
from agentdesk.domain.discounts import ValueKind
from agentdesk.domain.errors import NotFound
from agentdesk.services import billing

from .builders import YEAR, Builder, period


def _written(build: Builder) -> tuple[int, int, int]:
    return (build.scalar("SELECT count(*) FROM invoice"), build.scalar("SELECT count(*) FROM billing_run"),
            build.scalar("SELECT count(*) FROM discount_application"))


def test_customer_preview_shows_lines_before_and_after_discounts_and_writes_nothing(build: Builder, connect_as):
    customer = build.customer()
    sub = build.subscription(customer, items=(("FIBRE-100", True), ("TV-SPORTS", False)))
    build.discount("ZX-SUB-RANGE", subscription=sub, amount="20.00", item_ids=[sub.item_ids[0]])

    preview = billing.preview_customer(connect_as("csr"), customer, period(3))  # any role may preview

    assert [line.gross for line in preview.after.lines] == [Decimal("29.90"), Decimal("14.90")]
    assert [line.discount for line in preview.after.lines] == [Decimal("20.00"), Decimal("0.00")]
    assert preview.before.discount == 0 and preview.before.net == Decimal("44.80")
    assert preview.after.net == Decimal("24.80")
    assert preview.before.total == Decimal("44.80") + Decimal("5.68") + Decimal("2.83")
    assert preview.saving == preview.before.total - preview.after.total
    assert preview.problem is None
    assert _written(build) == (0, 0, 0)


def test_preview_equals_what_the_run_then_issues(build: Builder, accounting):
    customers = []
    for i in range(4):
        c = build.customer()
        sub = build.subscription(c, items=(("FIBRE-500", True), ("ROUTER-RENT", False)))
        if i % 2:
            build.discount("RET-15PCT-6M", subscription=sub)
        customers.append(c)
    previews = {c: billing.preview_customer(accounting, c, period(5)).after for c in customers}
    whole = run_billing(accounting, period(5), preview=True)

    summary = run_billing(accounting, period(5))

    assert whole.invoices == summary.invoices == 4
    assert whole.amount_billed == summary.amount_billed and whole.amount_discounted == summary.amount_discounted
    for c in customers:
        [invoice] = build.invoices(c)
        assert invoice["gross_total"] == previews[c].total
        assert [line["net_amount"] for line in build.lines(invoice["id"])] == [x.net for x in previews[c].lines]


def test_preview_names_the_problem_of_a_customer_without_address(build: Builder, accounting):
    customer = build.customer(address=False)
    build.subscription(customer)
    preview = billing.preview_customer(accounting, customer, period(3))
    assert preview.after.total > 0 and preview.problem is not None and "no billing address" in preview.problem


def test_preview_of_unknown_customer_is_not_found(accounting):
    with pytest.raises(NotFound):
        billing.preview_customer(accounting, 999_999, period(3))


def test_preview_with_a_hypothetical_discount_shows_the_bill_before_and_after(build: Builder, connect_as):
    customer = build.customer()
    sub = build.subscription(customer, items=(("FIBRE-100", True), ("STATIC-IP", False)),
                             start=dt.date(YEAR, 1, 15), end=dt.date(YEAR + 1, 1, 20))
    build.discount("RET-ADDON-HALF", subscription=sub, item_ids=[sub.item_ids[1]])  # existing: 50 % on the add-on
    offer = AppliedDiscount(ref="x", value_kind=ValueKind.PERCENTAGE, value=Decimal("25"),
                            item_ids=frozenset({sub.item_ids[0]}))

    result = billing.preview_with_discount(connect_as("csr"), sub.id, offer, period=period(11))

    assert result.before.net == Decimal("29.90") + Decimal("2.50")
    assert result.after.net == Decimal("29.90") - Decimal("7.48") + Decimal("2.50")  # 25 % of 29.90 = 7.475
    assert result.saving == result.before.total - result.after.total
    assert any(line.discount_label == "Proposed discount" for line in result.after.lines)
    assert _written(build) == (0, 0, 0)


def test_offer_preview_for_a_ticket_uses_the_definition(build: Builder, connect_as, installer):
    from sqlalchemy import text

    customer = build.customer()
    sub = build.subscription(customer)
    with installer.session() as s:
        definition_id = s.execute(text("SELECT id FROM discount_definition WHERE code = 'RET-15PCT-6M'")).scalar_one()
        unit = s.execute(text("SELECT id FROM unit WHERE code = 'retention'")).scalar_one()
        ticket_id = s.execute(text(
            "INSERT INTO ticket (customer_id, subscription_id, channel, call_type, queue_unit_id, priority, due_at,"
            " customer_value) VALUES (:c, :s, 'phone', 'cancellation', :u, 3, now(), 0) RETURNING id"
        ), {"c": customer, "s": sub.id, "u": unit}).scalar_one()

    result = billing.preview_offer(connect_as("csr"), ticket_id, definition_id, None, list(sub.item_ids))

    assert result.per == "month" and result.periods == 6
    assert (result.before, result.after, result.saving_per_period) == (
        Decimal("29.90"), Decimal("25.41"), Decimal("4.49"))
    assert result.total_saving == Decimal("26.94")

"""Billing run: which discounts reach an invoice, and by how much (real database, real roles)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from agentdesk.billing.run import run_billing
from agentdesk.domain.errors import ValidationError

from .builders import YEAR, Builder, period


def test_approved_20_a_month_discount_reduces_the_invoice_and_shows_the_discount_line(build: Builder, accounting):
    customer = build.customer(name="Eleni Georgiou")
    sub = build.subscription(customer, items=(("FIBRE-100", True), ("STATIC-IP", False)))
    build.discount("ZX-SUB-RANGE", subscription=sub, amount="20.00", item_ids=[sub.item_ids[0]])

    summary = run_billing(accounting, period(3))

    assert summary.invoices == 1 and summary.skipped == ()
    [invoice] = build.invoices(customer)
    main, static_ip = build.lines(invoice["id"])
    assert (main["gross_amount"], main["discount_amount"], main["net_amount"]) == (
        Decimal("29.90"), Decimal("20.00"), Decimal("9.90"))
    assert "Serious complaint credit" in main["discount_label"]
    assert main["tax_amount"] == Decimal("1.88")  # 9.90 x 19 % = 1.881 -> 1.88
    assert static_ip["discount_amount"] == 0 and static_ip["net_amount"] == Decimal("5.00")
    assert invoice["state"] == "issued" and invoice["number"] == 1 and invoice["series"] == f"INV-{YEAR}"
    assert invoice["discount_total"] == Decimal("20.00")
    assert invoice["net_total"] == Decimal("14.90")
    assert invoice["gross_total"] == Decimal("14.90") + Decimal("1.88") + Decimal("0.95")
    assert summary.amount_discounted == Decimal("20.00")
    assert summary.amount_billed == invoice["gross_total"]
    # The patent's billing item record: description, frequency, discount, its frequency and percentage.
    with build.installer.session() as s:
        record = s.execute(text("SELECT * FROM billing_item_record")).mappings().one()
    assert record["billing_item_id"] == sub.item_ids[0]
    assert record["service_description"] == "Fibre 100 Mbit/s" and record["service_frequency"] == "monthly"
    assert record["service_cost"] == Decimal("29.90") and record["approved_discount"] == Decimal("20.00")
    assert record["discount_percent"] == Decimal("66.8896")


@pytest.mark.parametrize("state", ["pending", "cancelled"])
def test_a_pending_or_cancelled_discount_never_reaches_an_invoice(build: Builder, accounting, state):
    customer = build.customer()
    sub = build.subscription(customer)
    discount = build.discount("ZX-SUB-RANGE", subscription=sub, amount="20.00", approve=False)
    if state == "cancelled":
        build.cancel(discount)

    run_billing(accounting, period(3))

    [invoice] = build.invoices(customer)
    assert invoice["discount_total"] == 0 and invoice["net_total"] == Decimal("29.90")
    assert build.scalar("SELECT count(*) FROM discount_application") == 0
    assert build.scalar("SELECT count(*) FROM billing_item_record") == 0


def test_the_database_refuses_to_record_a_use_of_a_discount_that_is_not_approved(build: Builder, accounting):
    customer = build.customer()
    sub = build.subscription(customer)
    discount = build.discount("ZX-SUB-RANGE", subscription=sub, amount="20.00", approve=False)
    run_billing(accounting, period(3))
    line_id = build.scalar("SELECT id FROM invoice_line")
    with pytest.raises(Exception, match="Only Approved discounts can be billed"), accounting.session() as s:
        s.execute(text("INSERT INTO discount_application (discount_id, billing_item_id, invoice_line_id, period_start,"
                       " amount) VALUES (:d, :i, :l, :p, 1)"),
                  {"d": discount, "i": sub.item_ids[0], "l": line_id, "p": dt.date(YEAR, 4, 1)})


def test_once_off_discount_is_used_once(build: Builder, accounting):
    customer = build.customer()
    sub = build.subscription(customer)
    discount = build.discount("RET-FREE-MONTH", subscription=sub)  # free period, once

    for month in (3, 4):
        run_billing(accounting, period(month))

    first, second = build.invoices(customer)
    assert first["net_total"] == 0 and first["discount_total"] == Decimal("29.90")
    assert second["net_total"] == Decimal("29.90") and second["discount_total"] == 0
    assert build.scalar("SELECT periods_used FROM adhoc_discount WHERE id = :d", d=discount) == 1


def test_n_period_discount_counts_down_across_three_runs(build: Builder, accounting):
    customer = build.customer()
    sub = build.subscription(customer)
    discount = build.discount("RET-15PCT-6M", subscription=sub, periods_total=2)

    for month in (3, 4, 5):
        run_billing(accounting, period(month))

    discounts = [inv["discount_total"] for inv in build.invoices(customer)]
    assert discounts == [Decimal("4.49"), Decimal("4.49"), Decimal("0.00")]  # 15 % of 29.90 = 4.485 -> 4.49
    assert build.scalar("SELECT periods_used FROM adhoc_discount WHERE id = :d", d=discount) == 2


def test_free_period_takes_the_whole_charge_of_the_discounted_item_only(build: Builder, accounting):
    customer = build.customer()
    sub = build.subscription(customer, items=(("FIBRE-500", True), ("ROUTER-RENT", False)))
    build.discount("RET-FREE-MONTH", subscription=sub, item_ids=[sub.item_ids[0]])

    run_billing(accounting, period(6))

    [invoice] = build.invoices(customer)
    main, router = build.lines(invoice["id"])
    assert main["net_amount"] == 0 and main["discount_percent"] == 100
    assert router["net_amount"] == Decimal("4.50")
    assert invoice["gross_total"] == Decimal("4.50") + Decimal("0.86")


def test_auto_apply_20_off_the_installation_fee_of_a_late_job(build: Builder, accounting):
    late = build.customer()
    on_time = build.customer()
    late_job = build.job(late, ordered=dt.date(YEAR, 2, 1), expected=dt.date(YEAR, 2, 15), actual=dt.date(YEAR, 2, 20),
                         items=("INSTALL", "ACTIVATION"))
    build.job(on_time, ordered=dt.date(YEAR, 2, 1), expected=dt.date(YEAR, 2, 15), actual=dt.date(YEAR, 2, 14))

    summary = run_billing(accounting, period(2))

    assert summary.invoices == 2
    [invoice] = build.invoices(late)
    install, activation = build.lines(invoice["id"])
    assert install["discount_amount"] == Decimal("20.00") and install["net_amount"] == Decimal("100.00")
    assert "automatic" in install["discount_label"]
    assert activation["discount_amount"] == 0
    [plain] = build.invoices(on_time)
    assert plain["discount_total"] == 0
    assert build.scalar("SELECT state FROM job WHERE id = :j", j=late_job.id) == "billed"
    # Billed once: the next month finds nothing to bill for the job.
    assert run_billing(accounting, period(3)).invoices == 0


def test_job_discount_approved_after_the_period_still_applies_when_the_job_is_billed(build: Builder, accounting):
    customer = build.customer()
    job = build.job(customer, ordered=dt.date(YEAR, 2, 1), expected=dt.date(YEAR, 2, 15), actual=dt.date(YEAR, 2, 28))
    build.discount("ZX-JOB-LATE-50", job=job, effective=dt.date(YEAR, 3, 5))

    run_billing(accounting, period(2))

    [invoice] = build.invoices(customer)
    [line] = build.lines(invoice["id"])
    # 50 % of 120.00 (ad hoc, approved) and the automatic 20.00: additive, both on the gross.
    assert line["discount_amount"] == Decimal("80.00")


def test_cancellation_mid_period_is_prorated_by_days(build: Builder, accounting):
    customer = build.customer()
    build.subscription(customer, start=dt.date(YEAR, 1, 1), end=dt.date(YEAR, 4, 16))  # April: 15 of 30 days

    run_billing(accounting, period(4))
    run_billing(accounting, period(5))

    [invoice] = build.invoices(customer)
    [line] = build.lines(invoice["id"])
    assert line["gross_amount"] == Decimal("14.95")
    assert "prorated: 15 of 30 days" in line["description"]


def test_start_mid_period_is_prorated_and_an_amount_discount_with_it(build: Builder, accounting):
    customer = build.customer()
    sub = build.subscription(customer, start=dt.date(YEAR, 6, 21))  # June: 10 of 30 days
    build.discount("ZX-SUB-RANGE", subscription=sub, amount="6.00")

    run_billing(accounting, period(6))

    [line] = build.lines(build.invoices(customer)[0]["id"])
    assert line["gross_amount"] == Decimal("9.97")  # 29.90 x 10/30 = 9.9666 -> 9.97
    assert line["discount_amount"] == Decimal("2.00")  # 6.00 x 10/30


@pytest.mark.parametrize(("frequency", "start", "due_months"), [
    ("quarterly", dt.date(YEAR, 2, 10), {2, 5, 8, 11}),
    ("annual", dt.date(YEAR - 1, 7, 1), {7}),
    ("monthly", dt.date(YEAR, 3, 1), {3, 4, 5, 6, 7, 8, 9, 10, 11, 12}),
])
def test_quarterly_and_annual_subscriptions_are_billed_in_their_months(build: Builder, accounting, frequency, start,
                                                                      due_months):
    customer = build.customer()
    build.subscription(customer, frequency=frequency, start=start)
    billed = set()
    for month in range(1, 13):
        if run_billing(accounting, period(month)).invoices:
            billed.add(month)
    assert billed == due_months


def test_quarterly_charge_covers_three_months_prorated_from_a_mid_month_start(build: Builder, accounting):
    customer = build.customer()
    build.subscription(customer, frequency="quarterly", start=dt.date(YEAR, 2, 10), prices=[Decimal("89.00")])

    run_billing(accounting, period(2))
    run_billing(accounting, period(5))

    first, second = (build.lines(inv["id"])[0] for inv in build.invoices(customer))
    assert (first["period_start"], first["period_end"]) == (dt.date(YEAR, 2, 1), dt.date(YEAR, 5, 1))
    days = (dt.date(YEAR, 5, 1) - dt.date(YEAR, 2, 1)).days
    served = (dt.date(YEAR, 5, 1) - dt.date(YEAR, 2, 10)).days
    assert first["gross_amount"] == (Decimal("89.00") * served / days).quantize(Decimal("0.01"))
    assert second["gross_amount"] == Decimal("89.00")


def test_tax_follows_each_products_rate(build: Builder, accounting, installer):
    with installer.session() as s:
        s.execute(text("UPDATE product SET tax_rate = 5 WHERE code = 'TV-BASIC'"))
    customer = build.customer()
    build.subscription(customer, items=(("FIBRE-100", True), ("TV-BASIC", False)))

    run_billing(accounting, period(3))

    fibre, tv = build.lines(build.invoices(customer)[0]["id"])
    assert (fibre["tax_rate"], fibre["tax_amount"]) == (Decimal("19.00"), Decimal("5.68"))  # 5.681
    assert (tv["tax_rate"], tv["tax_amount"]) == (Decimal("5.00"), Decimal("1.00"))  # 0.995 -> 1.00 (half-up)


def test_customer_without_billing_address_is_skipped_reported_and_nothing_is_written(build: Builder, accounting):
    good = build.customer()
    bad = build.customer(address=False, name="No Address Ltd")
    build.subscription(good)
    build.subscription(bad)

    summary = run_billing(accounting, period(3))

    assert summary.invoices == 1
    [skipped] = summary.skipped
    assert skipped.customer_id == bad and "no billing address" in skipped.reason and "No Address Ltd" in skipped.reason
    assert build.invoices(bad) == []
    assert build.scalar("SELECT count(*) FROM billing_run_problem WHERE customer_id = :c", c=bad) == 1
    # Fixed and run again: billed, and the problem is gone.
    with build.installer.session() as s:
        s.execute(text("UPDATE customer SET address_line1 = '1 Main St', postal_code = '1010', city = 'Nicosia' "
                       "WHERE id = :c"), {"c": bad})
    again = run_billing(accounting, period(3))
    assert again.invoices == 1 and again.skipped == ()
    assert build.scalar("SELECT count(*) FROM billing_run_problem") == 0


@pytest.mark.parametrize("bad", ["2026-13", "2026/11", "November", "", "26-11", "2026-00"])
def test_malformed_period_is_a_clear_error(accounting, bad):
    with pytest.raises(ValidationError, match="YYYY-MM|month|range"):
        run_billing(accounting, bad)


def test_running_a_period_twice_adds_nothing(build: Builder, accounting):
    for _ in range(3):
        customer = build.customer()
        sub = build.subscription(customer)
        build.discount("RET-15PCT-6M", subscription=sub)
    first = run_billing(accounting, period(3))
    before = build.scalar("SELECT count(*) FROM invoice"), build.scalar("SELECT count(*) FROM discount_application")

    second = run_billing(accounting, period(3))

    assert first.invoices == 3 and second.invoices == 0
    assert (build.scalar("SELECT count(*) FROM invoice"),
            build.scalar("SELECT count(*) FROM discount_application")) == before
    assert second.run_invoices == 3 and second.state == "completed"


def test_a_customer_the_database_refuses_is_skipped_whole_and_the_others_are_billed(build: Builder, accounting,
                                                                                    installer):
    customers = [build.customer() for _ in range(3)]
    for c in customers:
        sub = build.subscription(c)
        build.discount("RET-15PCT-6M", subscription=sub)
    refused = customers[1]
    with installer.session() as s:  # stands for any rule the database enforces on one customer's invoice
        s.execute(text(
            "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.customer_id = {refused} THEN RAISE EXCEPTION 'Customer account is blocked' USING ERRCODE = 'AD002';"
            " END IF; RETURN NEW; END $$"))
        s.execute(text("CREATE TRIGGER test_refuse BEFORE INSERT ON invoice FOR EACH ROW EXECUTE FUNCTION test_refuse()"))

    summary = run_billing(accounting, period(3))

    assert summary.invoices == 2
    [skipped] = summary.skipped
    assert skipped.customer_id == refused and "Customer account is blocked" in skipped.reason
    assert build.invoices(refused) == []
    assert build.scalar("SELECT count(*) FROM discount_application") == 2  # nothing of the refused one
    assert sorted(i["number"] for i in build.invoices()) == [1, 2]

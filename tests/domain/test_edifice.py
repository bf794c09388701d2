"""EDIFICE discount types: trade (on the bill), term (if paid by the discount date), cumulative term
(at payment whatever the date), with a discount multiplier of 0.10 and a step cap."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from agentdesk.domain.billing_math import (
    AppliedDiscount,
    Charge,
    compute_line,
    compute_lines,
    discount_date,
    payment_discount_due,
    summarise,
    term_discount_note,
)
from agentdesk.domain.discounts import EdificeType

from .builders import definition

WATER = Charge("water", "Water usage", D("40.00"), D(1), D("9"))
SEWER = Charge("sewer", "Sewer charge", D("80.00"), D(1), D("9"))
ISSUED = date(2026, 2, 1)


def edifice(kind: EdificeType) -> AppliedDiscount:
    d = definition(code=f"ED-{kind.value}", percentage=D(100), multiplier=D("0.10"), step_cap=D("5.00"),
                   edifice_type=kind, term_days=15 if kind is EdificeType.TERM else None)
    d.validate()
    return AppliedDiscount.from_definition(d, ref=d.code)


def test_trade_is_deducted_at_billing_with_multiplier_and_step_cap() -> None:
    small = compute_line(WATER, [edifice(EdificeType.TRADE)])
    assert (small.discount, small.net, small.tax, small.payment_discount) == (
        D("4.00"), D("36.00"), D("3.24"), D("0.00"))
    big = compute_line(SEWER, [edifice(EdificeType.TRADE)])
    assert (big.discount, big.net) == (D("5.00"), D("75.00"))  # 8.00 capped at 5.00
    assert big.discount_percent == D("6.25")


def test_term_is_printed_and_taken_only_if_paid_by_the_discount_date() -> None:
    line = compute_line(SEWER, [edifice(EdificeType.TERM)])
    assert (line.discount, line.net, line.tax) == (D("0.00"), D("80.00"), D("7.20"))  # nothing deducted
    assert line.payment_discount == D("5.00")
    totals = summarise([line])
    pay_by = discount_date(ISSUED, 15)
    assert pay_by == date(2026, 2, 16)
    assert (totals.total, totals.term_discount, totals.cumulative_discount) == (D("87.20"), D("5.00"), D(0))
    assert term_discount_note(totals.term_discount, pay_by) == "less 5.00 if paid by 16/02/2026"
    assert payment_discount_due([line], date(2026, 2, 16), pay_by) == D("5.00")
    assert payment_discount_due([line], date(2026, 2, 17), pay_by) == D("0.00")


def test_cumulative_term_is_taken_at_payment_whatever_the_date() -> None:
    line = compute_line(WATER, [edifice(EdificeType.CUMULATIVE_TERM)])
    assert (line.discount, line.net, line.payment_discount) == (D("0.00"), D("40.00"), D("4.00"))
    totals = summarise([line])
    assert totals.cumulative_discount == D("4.00") and totals.term_discount == D(0)
    assert payment_discount_due([line], date(2027, 1, 1), None) == D("4.00")
    assert term_discount_note(D("4.00"), None) == "less 4.00 at payment"


def test_payment_discount_is_on_the_net_after_trade_discounts() -> None:
    trade = AppliedDiscount("t", edifice(EdificeType.TRADE).value_kind, D(90))  # 90 % off on the bill
    line = compute_line(WATER, [trade, edifice(EdificeType.CUMULATIVE_TERM)])
    assert (line.discount, line.net, line.payment_discount) == (D("36.00"), D("4.00"), D("0.40"))


def test_step_cap_over_two_lines_and_one_term_discount() -> None:
    lines = compute_lines([WATER, SEWER], [edifice(EdificeType.TERM)])
    # 4.00 + 8.00 = 12.00 over the cap: 5.00 shared 1/3 - 2/3.
    assert [x.payment_discount for x in lines] == [D("1.67"), D("3.33")]
    assert summarise(lines).term_discount == D("5.00")

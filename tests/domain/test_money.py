"""Money helpers: the half-up rounding rule, percentages, parsing and sharing out."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from agentdesk.domain.errors import ValidationError
from agentdesk.domain.money import (
    apply_percent,
    format_money,
    format_percent,
    parse_money,
    percent_of,
    round_money,
    split_amount,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("0.125", "0.13"),  # half-even would give 0.12
    ("0.135", "0.14"),
    ("2.674", "2.67"),
    ("-0.125", "-0.13"),  # half-up rounds away from zero
    ("7", "7.00"),
])
def test_round_money_is_half_up_to_the_cent(raw: str, expected: str) -> None:
    assert round_money(D(raw)) == D(expected)
    assert str(round_money(D(raw))) == expected


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        round_money(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        percent_of(1.0, D(3))  # type: ignore[arg-type]


@pytest.mark.parametrize(("part", "whole", "expected"), [
    ("1", "3", "33.33"), ("2", "3", "66.67"), ("20", "45", "44.44"), ("40", "200", "20.00"),
    ("1", "8", "12.50"), ("0.01", "0.08", "12.50"), ("5", "0", "0.00"),
])
def test_percent_of(part: str, whole: str, expected: str) -> None:
    assert percent_of(D(part), D(whole)) == D(expected)


def test_apply_percent() -> None:
    assert apply_percent(D("45.00"), D("12.5")) == D("5.63")  # 5.625 rounds up
    assert apply_percent(D("80.00"), D("50")) == D("40.00")


@pytest.mark.parametrize(("text", "expected"), [
    ("20", "20.00"), ("20.5", "20.50"), ("€ 20,50", "20.50"), ("EUR 1234.56", "1234.56"),
    (" 5.00 ", "5.00"), ("0", "0.00"),
])
def test_parse_money_accepts(text: str, expected: str) -> None:
    value = parse_money(text)
    assert value == D(expected) and str(value) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "is required"), ("abc", "is not an amount"), ("1,234.56", "is not an amount"),
    ("20.005", "at most 2 decimals"), ("-5", "must not be negative"), ("12345678901", "at most"),
    ("1e3", "is not an amount"), ("NaN", "is not an amount"),
])
def test_parse_money_refuses_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_money(text, "discount amount")
    assert info.value.field == "discount amount"
    assert fragment in str(info.value)


def test_parse_money_negative_when_allowed() -> None:
    assert parse_money("-5.10", allow_negative=True) == D("-5.10")


def test_split_amount_sums_exactly_and_is_proportional() -> None:
    assert split_amount(D("10.00"), [D(10), D(10), D(10)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert split_amount(D("20.00"), [D("45.00"), D("10.00")]) == [D("16.36"), D("3.64")]
    assert split_amount(D("5.00"), [D(0), D(0)]) == [D(0), D(0)]
    assert split_amount(D("5.00"), []) == []


def test_format_helpers() -> None:
    assert format_money(D("1234.5")) == "1234.50"
    assert format_money(D("1234.5"), thousands=True) == "1,234.50"
    assert format_money(D("0.125")) == "0.13"
    assert format_percent(D("44.444")) == "44.44%"

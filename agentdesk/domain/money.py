"""Money helpers: Decimal only, one rounding rule.

The rounding rule, stated once for the whole application: every money amount is rounded **half-up to the
cent** (``ROUND_HALF_UP``, quantum ``Decimal("0.01")``) **per line**, i.e. each invoice line's gross,
discount, net and tax is rounded on its own and totals are plain sums of rounded lines. Percentages are
rounded the same way to two decimals. Floats are refused everywhere: a float reaching these helpers is a bug.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from agentdesk.domain.errors import ValidationError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
#: Largest amount a NUMERIC(12, 2) column holds; parse_money refuses anything above it.
MAX_MONEY = Decimal("9999999999.99")

_CURRENCY = re.compile(r"(€|EUR|\$|£)", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")


def _as_decimal(value: Decimal | int | str) -> Decimal:
    # bool is an int subclass and float is never acceptable for money.
    if isinstance(value, float | bool):
        raise TypeError(f"money must be Decimal, int or str, not {type(value).__name__}")
    return value if isinstance(value, Decimal) else Decimal(value)


def round_money(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half-up (the one rounding rule)."""
    return _as_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def floor_cents(value: Decimal) -> Decimal:
    """Truncate towards zero to the cent (used only when sharing an amount out, see ``split_amount``)."""
    return value.quantize(CENT, rounding=ROUND_DOWN)


def percent_of(part: Decimal | int | str, whole: Decimal | int | str) -> Decimal:
    """``part`` as a percentage of ``whole``, two decimals, half-up. A zero ``whole`` gives ``0.00``."""
    whole_d = _as_decimal(whole)
    if whole_d == 0:
        return ZERO
    return round_money(_as_decimal(part) * HUNDRED / whole_d)


def apply_percent(amount: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``amount``, rounded to the cent half-up."""
    return round_money(_as_decimal(amount) * _as_decimal(percent) / HUNDRED)


def split_amount(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Share ``total`` (whole cents, >= 0) out in proportion to ``weights`` so the shares sum exactly to it.

    Largest-remainder method: every share is first truncated to the cent, then the missing cents go one by
    one to the shares with the largest remainders (earliest first on ties). A share never exceeds
    ``total * weight / sum(weights)`` by a cent or more, so when ``total <= sum(weights)`` no share exceeds
    its own weight. All-zero weights give all-zero shares.
    """
    weight_sum = sum(weights, ZERO)
    if not weights:
        return []
    if weight_sum == 0:
        return [ZERO for _ in weights]
    exact = [total * w / weight_sum for w in weights]
    shares = [floor_cents(x) for x in exact]
    missing = int(((total - sum(shares, ZERO)) / CENT).to_integral_value())
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:missing]:
        shares[i] += CENT
    return shares


def parse_money(text: str, field: str = "amount", *, allow_negative: bool = False) -> Decimal:
    """Read an amount typed by a user: ``"20"``, ``"20.5"``, ``"€ 20,50"``, ``"EUR 1234.56"``.

    A single ``.`` or ``,`` is the decimal separator; thousands separators are not accepted (``1,234.56``
    is refused rather than guessed). At most two decimals. Raises :class:`ValidationError` naming ``field``
    with a message that says what is expected.
    """
    cleaned = _CURRENCY.sub("", text or "").replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        raise ValidationError(field, f"{field} is required: enter an amount such as 20.00")
    if not _NUMBER.match(cleaned):
        raise ValidationError(field, f"{field} '{text.strip()}' is not an amount: use digits like 20.00")
    try:
        value = Decimal(cleaned.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the regex already rules this out
        raise ValidationError(field, f"{field} '{text.strip()}' is not an amount") from exc
    if value != value.quantize(CENT):
        raise ValidationError(field, f"{field} may have at most 2 decimals (got {text.strip()})")
    if value < 0 and not allow_negative:
        raise ValidationError(field, f"{field} must not be negative")
    if abs(value) > MAX_MONEY:
        raise ValidationError(field, f"{field} must be at most {format_money(MAX_MONEY)}")
    return value.quantize(CENT)


def format_money(value: Decimal | int | str, *, thousands: bool = False) -> str:
    """Two-decimal text, ``"1234.50"`` (or ``"1,234.50"`` with ``thousands=True``). Rounds half-up first."""
    rounded = round_money(value)
    return f"{rounded:,.2f}" if thousands else f"{rounded:.2f}"


def format_percent(value: Decimal) -> str:
    """``"12.50%"``."""
    return f"{round_money(value):.2f}%"

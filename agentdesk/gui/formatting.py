"""How the desktop writes money, dates, ages and due times (one place, so every screen agrees)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from agentdesk.domain.money import format_money

CURRENCY_SYMBOL = "€"

CALL_TYPE_LABELS = {
    "cancellation": "Cancellation",
    "complaint": "Complaint",
    "late_installation": "Late installation",
    "billing_dispute": "Billing dispute",
    "price": "Price",
    "moving": "Moving",
    "competitor": "Competitor offer",
}
CHANNEL_LABELS = {"phone": "Phone", "email": "E-mail", "web": "Web"}
SEGMENT_LABELS = {"platinum": "Platinum", "gold": "Gold", "silver": "Silver", "bronze": "Bronze"}


def label(value: str | None, labels: dict[str, str] | None = None) -> str:
    if value is None:
        return ""
    if labels and value in labels:
        return labels[value]
    return value.replace("_", " ").capitalize()


def money(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    return f"{CURRENCY_SYMBOL} {format_money(value, thousands=True)}"


def date(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def local_time(value: dt.datetime | None) -> str:
    """A timestamp in the workstation's local time, to the minute."""
    if value is None:
        return ""
    return value.astimezone().strftime("%d/%m/%Y %H:%M")


def duration(minutes: float) -> str:
    minutes = int(abs(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d}" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    if days < 2:
        return f"1 day {hours} h" if hours else "1 day"
    return f"{days} days"


def age(created: dt.datetime, now: dt.datetime) -> str:
    return duration((now - created).total_seconds() / 60)


def due_text(due: dt.datetime, now: dt.datetime) -> str:
    minutes = (due - now).total_seconds() / 60
    if minutes < 0:
        return f"overdue by {duration(minutes)}"
    return f"due in {duration(minutes)}"

"""Company settings: the letterhead printed on invoices and letters, SMTP, invoice series, offer validity,
and the tax rate of each product.

`settings_problems` is a pure check the settings form calls on every keystroke; `update_settings` runs the
same check and then writes the one settings row in one unit of work, so a refused save changes nothing.
Only administrators may write (the database grants say so too).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.bootstrap import Database
from agentdesk.db.models import CompanySettings, Product
from agentdesk.domain.errors import NotFound, ValidationError
from agentdesk.domain.money import CENT, HUNDRED

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_SERIES = re.compile(r"^[A-Z][A-Z0-9-]{0,19}$")
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")

# Field names and their column lengths (the form uses them as maximum lengths too).
MAX_LENGTHS = {
    "name": 200, "address_line1": 200, "address_line2": 200, "postal_code": 20, "city": 100,
    "country": 2, "vat_id": 40, "iban": 40, "bic": 20, "bank_name": 100, "phone": 40, "email": 200,
    "website": 200, "currency": 3, "invoice_series": 20, "credit_note_series": 20, "smtp_host": 200,
    "smtp_sender": 200,
}
# The letterhead fields that must not be empty: an invoice without them is not a valid invoice.
REQUIRED = ("name", "address_line1", "postal_code", "city", "country", "vat_id", "iban")

LABELS = {
    "name": "Company name", "address_line1": "Address line 1", "address_line2": "Address line 2",
    "postal_code": "Postal code", "city": "City", "country": "Country", "vat_id": "VAT number",
    "iban": "IBAN", "bic": "BIC", "bank_name": "Bank", "phone": "Phone", "email": "E-mail",
    "website": "Website", "currency": "Currency", "invoice_series": "Invoice series",
    "credit_note_series": "Credit note series", "payment_terms_days": "Payment terms (days)",
    "smtp_host": "SMTP host", "smtp_port": "SMTP port", "smtp_sender": "Sender address",
    "offer_validity_days": "Offer validity (days)",
}


@dataclass(frozen=True)
class CompanySettingsData:
    """The settings row as plain data (optional text is None when empty)."""

    name: str
    address_line1: str
    address_line2: str | None
    postal_code: str
    city: str
    country: str
    vat_id: str
    iban: str
    bic: str | None
    bank_name: str | None
    phone: str | None
    email: str | None
    website: str | None
    currency: str
    invoice_series: str
    credit_note_series: str
    payment_terms_days: int
    smtp_host: str | None
    smtp_port: int | None
    smtp_sender: str | None
    offer_validity_days: int
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class ProductTax:
    code: str
    name: str
    type: str
    price: Decimal
    tax_rate: Decimal
    active: bool


FIELDS = tuple(f.name for f in dataclasses.fields(CompanySettingsData) if f.name != "updated_at")


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    compact = iban.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def settings_problems(data: CompanySettingsData) -> list[ValidationError]:
    """Every problem with `data`, each naming its field and saying how to fix it (empty list = valid)."""
    out: list[ValidationError] = []

    def bad(field: str, message: str) -> None:
        out.append(ValidationError(field, message))

    for field in REQUIRED:
        if not (getattr(data, field) or "").strip():
            bad(field, f"{LABELS[field]} is required: it is printed on every invoice")
    for field, limit in MAX_LENGTHS.items():
        value = getattr(data, field)
        if value is not None and len(value) > limit:
            bad(field, f"{LABELS[field]} is too long: at most {limit} characters")
    if data.country.strip() and not re.fullmatch(r"[A-Z]{2}", data.country):
        bad("country", "Country must be a two-letter ISO code in capitals, such as CY or DE")
    if not re.fullmatch(r"[A-Z]{3}", data.currency):
        bad("currency", "Currency must be a three-letter ISO code in capitals, such as EUR")
    iban = data.iban.replace(" ", "").upper()
    if iban:
        if not _IBAN.match(iban):
            bad("iban", "IBAN must start with a country code and two check digits, then 10-30 letters or digits")
        elif not iban_checksum_ok(iban):
            bad("iban", "IBAN check digits do not match: check the number for a typing mistake")
    if data.bic and not _BIC.match(data.bic.replace(" ", "").upper()):
        bad("bic", "BIC must be 8 or 11 characters, such as BCYPCY2N")
    if data.email and not _EMAIL.match(data.email):
        bad("email", "E-mail must look like name@example.com")
    if not _SERIES.match(data.invoice_series):
        bad("invoice_series", "Invoice series: capitals, digits or '-', starting with a letter (e.g. INV)")
    if not _SERIES.match(data.credit_note_series):
        bad("credit_note_series", "Credit note series: capitals, digits or '-', starting with a letter (e.g. CN)")
    elif data.credit_note_series == data.invoice_series:
        bad("credit_note_series", "Credit note series must differ from the invoice series: numbers would collide")
    if not 0 <= data.payment_terms_days <= 365:
        bad("payment_terms_days", "Payment terms must be between 0 and 365 days")
    if not 1 <= data.offer_validity_days <= 365:
        bad("offer_validity_days", "Offer validity must be between 1 and 365 days")
    # SMTP: either no host (notifications stay in the outbox folder) or a complete server address.
    if data.smtp_host:
        if not _HOST.match(data.smtp_host):
            bad("smtp_host", "SMTP host must be a host name such as mail.example.com (no scheme, no port)")
        if data.smtp_port is None:
            bad("smtp_port", "SMTP port is required with a host: usually 587 (STARTTLS) or 465 (TLS)")
        if not data.smtp_sender:
            bad("smtp_sender", "Sender address is required with an SMTP host: customers see it as From")
    if data.smtp_port is not None and not 1 <= data.smtp_port <= 65535:
        bad("smtp_port", "SMTP port must be between 1 and 65535")
    if data.smtp_sender and not _EMAIL.match(data.smtp_sender):
        bad("smtp_sender", "Sender address must look like care@example.com")
    return out


def _clean(data: CompanySettingsData) -> CompanySettingsData:
    """Trim text, turn empty optional text into None, and write IBAN/BIC the canonical way."""
    changes: dict[str, object] = {}
    for f in dataclasses.fields(data):
        value = getattr(data, f.name)
        if isinstance(value, str):
            value = value.strip()
            if not value and f.name not in REQUIRED and f.name not in ("currency", "invoice_series",
                                                                       "credit_note_series"):
                value = None
            changes[f.name] = value
    iban = str(changes.get("iban") or "").replace(" ", "").upper()
    changes["iban"] = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    if changes.get("bic"):
        changes["bic"] = str(changes["bic"]).replace(" ", "").upper()
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


def _to_data(row: CompanySettings) -> CompanySettingsData:
    values = {name: getattr(row, name) for name in FIELDS}
    return CompanySettingsData(**values, updated_at=row.updated_at)


def get_settings(db: Database) -> CompanySettingsData:
    with db.session() as s:
        row = s.get(CompanySettings, 1)
        if row is None:
            raise NotFound("Company settings")
        return _to_data(row)


def update_settings(
    db: Database, data: CompanySettingsData, *, tax_rates: dict[str, Decimal] | None = None
) -> CompanySettingsData:
    """Validate and save every field (and the products' tax rates, if given) in one unit of work.

    Raises the first problem and saves nothing if there is any.
    """
    data = _clean(data)
    problems = settings_problems(data)
    if problems:
        raise problems[0]
    _check_rates(tax_rates or {})
    with db.session() as s:
        row = s.get(CompanySettings, 1, with_for_update=True)
        if row is None:
            raise NotFound("Company settings")
        for name in FIELDS:
            setattr(row, name, getattr(data, name))
        row.updated_at = dt.datetime.now(dt.UTC)
        _write_rates(s, tax_rates or {})
        s.flush()
        return _to_data(row)


# -- tax rates live on the products ---------------------------------------------------------------------

def list_products(db: Database) -> list[ProductTax]:
    with db.session() as s:
        rows = s.scalars(select(Product).order_by(Product.type, Product.code)).all()
        return [ProductTax(p.code, p.name, p.type, p.price, p.tax_rate, p.active) for p in rows]


def tax_rate_problem(rate: Decimal | None) -> ValidationError | None:
    if rate is None:
        return ValidationError("tax_rate", "Tax rate is required: enter a percentage such as 19.00")
    if not HUNDRED >= rate >= 0:
        return ValidationError("tax_rate", "Tax rate must be between 0 and 100 %")
    if rate != rate.quantize(CENT):
        return ValidationError("tax_rate", "Tax rate may have at most 2 decimals")
    return None


def _check_rates(rates: dict[str, Decimal]) -> None:
    for code, rate in rates.items():
        problem = tax_rate_problem(rate)
        if problem is not None:
            raise ValidationError(f"tax_rate:{code}", f"{code}: {problem.message}")


def _write_rates(s: Session, rates: dict[str, Decimal]) -> None:
    if not rates:
        return
    products = {p.code: p for p in s.scalars(select(Product).where(Product.code.in_(list(rates))))}
    for code, rate in rates.items():
        if code not in products:
            raise NotFound("Product", code)
        if products[code].tax_rate != rate:
            products[code].tax_rate = rate


def set_tax_rates(db: Database, rates: dict[str, Decimal]) -> list[ProductTax]:
    """Set several products' tax rates in one unit of work (all or none)."""
    _check_rates(rates)
    with db.session() as s:
        _write_rates(s, rates)
    return list_products(db)


__all__ = [
    "FIELDS",
    "LABELS",
    "CompanySettingsData",
    "ProductTax",
    "get_settings",
    "iban_checksum_ok",
    "list_products",
    "set_tax_rates",
    "settings_problems",
    "tax_rate_problem",
    "update_settings",
]

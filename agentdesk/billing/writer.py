"""Database writes of the billing run: store planned invoices, count discount uses, issue, mark jobs billed.

Everything for a batch happens in the caller's transaction, so a batch is stored whole or not at all.
Exactly once is guaranteed by unique keys, not by the caller being careful:

* one invoice per run and customer (``uq_invoice_run_customer``);
* one application of a discount per billing item and period (``discount_application`` unique keys, for ad
  hoc discounts and for automatic definitions), which is also what counts periods down;
* one billing item record per discount and item (``ON CONFLICT DO NOTHING``);
* a job moves ``completed -> billed`` in the transaction that bills it (its row was locked when read).

Issuing happens in the same transaction (``billing_issue_invoices``), so an invoice is never left a
draft by a crash, and a rolled-back batch gives its numbers back: numbering stays gap-free.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from agentdesk.billing.plan import PlannedInvoice
from agentdesk.domain.money import ZERO


@dataclass(frozen=True)
class Written:
    invoice_ids: tuple[int, ...]
    amount_billed: Decimal
    amount_discounted: Decimal


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to the database as JSON")


def _bulk_insert(session: Session, table: str, rows: Sequence[dict[str, Any]], suffix: str = "") -> None:
    """Insert many rows in one statement: the rows travel as one JSON parameter and the server turns them
    back into the table's row type (much cheaper than thousands of bind parameters). Columns left out of
    the rows get their defaults; all rows must have the same keys."""
    if not rows:
        return
    columns = ", ".join(rows[0])
    session.execute(
        text(f"INSERT INTO {table} ({columns}) SELECT {columns} "
             f"FROM json_populate_recordset(NULL::{table}, CAST(:rows AS json)) {suffix}"),
        {"rows": json.dumps(rows, default=_json_value, separators=(",", ":"))},
    )


def _new_ids(session: Session, table: str, count: int) -> list[int]:
    if count == 0:
        return []
    rows = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table, "n": count},
    )
    return [int(r[0]) for r in rows]


def write_invoices(session: Session, plans: Sequence[PlannedInvoice], *, run_id: int | None, period_start: date,
                   series: str, currency: str, issue: bool = True) -> Written:
    """Insert the planned invoices with their lines and discount uses, then issue them in order.

    ``period_start`` is the billing run's period: the key under which each discount use is counted.
    """
    if not plans:
        return Written((), ZERO, ZERO)
    invoice_ids = _new_ids(session, "invoice", len(plans))
    line_ids = iter(_new_ids(session, "invoice_line", sum(len(p.lines) for p in plans)))
    invoices: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    applications: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for invoice_id, plan in zip(invoice_ids, plans, strict=True):
        invoices.append({
            "id": invoice_id, "kind": "invoice", "state": "draft", "series": series,
            "customer_id": plan.customer_id, "billing_run_id": run_id, "period_start": plan.period_start,
            "period_end": plan.period_end, "due_date": plan.due_date, "currency": currency,
            "buyer_name": plan.buyer_name, "buyer_address": plan.buyer_address, "buyer_vat_id": plan.buyer_vat_id,
            "net_total": plan.net_total, "tax_total": plan.tax_total, "gross_total": plan.gross_total,
            "discount_total": plan.discount_total, "term_discount_amount": plan.term_discount_amount,
            "term_discount_date": plan.term_discount_date,
            "cumulative_discount_amount": plan.cumulative_discount_amount,
        })
        for line_no, line in enumerate(plan.lines, start=1):
            line_id = next(line_ids)
            lines.append({
                "id": line_id, "invoice_id": invoice_id, "line_no": line_no,
                "billing_item_id": line.billing_item_id, "description": line.description,
                "frequency": line.frequency, "period_start": line.period_start, "period_end": line.period_end,
                "quantity": line.quantity, "unit_price": line.unit_price, "gross_amount": line.gross,
                "discount_amount": line.discount, "discount_percent": line.discount_percent,
                "discount_label": line.discount_label, "net_amount": line.net, "tax_rate": line.tax_rate,
                "tax_amount": line.tax, "edifice_type": line.edifice_type,
                "term_discount_amount": line.payment_discount,
            })
            for app in line.applications:
                applications.append({
                    "discount_id": app.discount_id, "definition_id": app.definition_id,
                    "billing_item_id": app.billing_item_id, "invoice_line_id": line_id,
                    "period_start": period_start, "amount": app.amount,
                })
        for rec in plan.records:
            records.append({
                "discount_id": rec.discount_id, "billing_item_id": rec.billing_item_id, "ticket_id": rec.ticket_id,
                "service_description": rec.service_description, "service_frequency": rec.service_frequency,
                "service_cost": rec.service_cost, "approved_discount": rec.approved_discount,
                "discount_frequency": rec.discount_frequency, "discount_percent": rec.discount_percent,
            })

    _bulk_insert(session, "invoice", invoices)
    _bulk_insert(session, "invoice_line", lines)
    _bulk_insert(session, "discount_application", applications)
    _bulk_insert(session, "billing_item_record", records, suffix="ON CONFLICT (discount_id, billing_item_id) DO NOTHING")
    job_ids = [j for p in plans for j in p.job_ids]
    if job_ids:
        session.execute(text("UPDATE job SET state = 'billed' WHERE id = ANY(:ids) AND state = 'completed'"),
                        {"ids": job_ids})
    used = sorted({d for p in plans for d in p.used_discount_ids})
    if used:
        # periods_used mirrors the applications (the source of truth); only Approved rows ever get here.
        session.execute(text(
            "UPDATE adhoc_discount ad SET periods_used = n.used FROM ("
            " SELECT discount_id, count(DISTINCT period_start)::int AS used FROM discount_application"
            " WHERE discount_id = ANY(:ids) GROUP BY discount_id) n "
            "WHERE ad.id = n.discount_id AND ad.periods_used IS DISTINCT FROM n.used"
        ), {"ids": used})
    if issue:
        session.execute(text("SELECT billing_issue_invoices(:ids)"), {"ids": invoice_ids})
    return Written(
        invoice_ids=tuple(invoice_ids),
        amount_billed=sum((p.gross_total for p in plans), ZERO),
        amount_discounted=sum((p.discount_total for p in plans), ZERO),
    )

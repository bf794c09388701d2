"""The discount offer wizard: eligibility → the offer → notifying the customer → their answer → confirm.

One QWizardPage per step (``registerField``, ``isComplete`` + ``completeChanged``, ``validatePage``). The
pages only *collect* choices; nothing reaches the database before Finish, so Back and Cancel never leave
half a change. Finish turns the choices into an ordered plan of service calls (a declined offer noted,
``make_offer``, ``accept_offer``, ``confirm_assignment`` or ``proceed_with_cancellation``...) and runs it
in one background task, step by step. Each service call is its own transaction, so if step k fails the
ticket is exactly as steps 1..k-1 left it (a consistent state the workflow knows); the wizard says what
was done and what was not, and Finish retries only the remaining steps.

Keyboard: every page puts the focus where Enter moves on. The standard save call is
F5 (take next) · Ctrl+Shift+V, Enter (verify) · Ctrl+O (wizard) · Enter × 5: eligibility, top offer,
e-mail, accepted, Finish → 9 keystrokes to the accounting queue.

Declines during a call: if the customer says no, the page offers the next best eligible offer at once
(the same page asks again), other sales offers, or going ahead with the cancellation. A proposal the
customer turned down on the phone was never sent, so it is recorded as a ticket note (no e-mail about an
offer already refused); an offer that *was* sent earlier is declined with ``decline_offer``.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from agentdesk.domain.errors import ValidationError
from agentdesk.gui import formatting as fmt
from agentdesk.gui.resources import icon
from agentdesk.gui.tasks import error_line
from agentdesk.gui.widgets import Banner

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext
    from agentdesk.gui.ticket_editor import EditorData

log = logging.getLogger(__name__)

PAGE_ELIGIBILITY, PAGE_OFFER, PAGE_NOTIFY, PAGE_ANSWER, PAGE_CONFIRM = range(5)
ACCEPTED, DECLINED, LATER = "accepted", "declined", "later"
NEXT_BEST, SALES, CANCEL = "next_best", "sales", "cancel"


# -- pure helpers --------------------------------------------------------------------------------------------


def domain_definition(s: Any) -> Any:
    """A domain DiscountDefinition with just what ``check_amount`` needs, from a SuggestionInfo."""
    from agentdesk.domain.discounts import DiscountDefinition, ValueKind

    kind = ValueKind(s.value_kind)
    return DiscountDefinition(
        code=s.code, version=s.version, name=s.name, value_kind=kind,
        amount=s.amount_default if kind is ValueKind.AMOUNT else None,
        amount_min=s.amount_min if kind is ValueKind.AMOUNT_RANGE else None,
        amount_max=s.amount_max if kind is ValueKind.AMOUNT_RANGE else None,
        percentage=Decimal(1) if kind is ValueKind.PERCENTAGE else None,
        free_periods=1 if kind is ValueKind.FREE_PERIOD else None,
        effective_date=s.effective_date,
    )


def check_amount(s: Any, text: str) -> Decimal | None:
    """Read and check the amount typed for suggestion ``s`` with the domain's own rule (ValidationError)."""
    from agentdesk.domain import eligibility
    from agentdesk.domain.money import parse_money

    if s.value_kind != "amount_range":
        return eligibility.check_amount(domain_definition(s), None if s.value_kind != "amount" else s.amount_default)
    value = parse_money(text, "amount") if text.strip() else None
    return eligibility.check_amount(domain_definition(s), value)


@dataclass(frozen=True)
class BillPreview:
    per: str  # "month", "quarter", "year", "job"
    before: Decimal  # per period
    after: Decimal
    saving_per_period: Decimal
    periods: int
    total_saving: Decimal
    percent: Decimal
    monthly_before: Decimal
    monthly_after: Decimal
    estimate: bool = False  # computed here from the eligibility figures, not by billing
    at_payment: bool = False  # the saving is taken when the customer pays in time, not printed off the bill


def estimate_bill(s: Any, detail: Any, amount: Decimal | None, item_ids: tuple[int, ...]) -> BillPreview:
    """The bill before and after from the eligibility figures (used until/unless billing can preview)."""
    from agentdesk.domain.money import ZERO, percent_of, round_money

    periods = max(int(s.periods), 0)
    before = round_money(s.service_cost / periods) if periods else ZERO
    saving = s.cost_per_period
    amounts = {i.id: i.amount for i in detail.service.items}
    default_base = sum((amounts.get(i, ZERO) for i in s.billing_item_ids), ZERO)
    chosen_base = sum((amounts.get(i, ZERO) for i in item_ids), ZERO)
    if s.value_kind == "amount_range" and amount is not None and s.amount_default:
        saving = saving * amount / s.amount_default
    elif default_base and chosen_base != default_base:
        saving = saving * chosen_base / default_base
    saving = round_money(min(max(saving, ZERO), before))
    after = before - saving
    months = {"monthly": 1, "quarterly": 3, "annual": 12}.get(detail.service.billing_frequency or "", 1)
    per = {"monthly": "month", "quarterly": "quarter", "annual": "year"}.get(
        detail.service.billing_frequency or "", "job")
    return BillPreview(per, before, after, saving, periods, saving * periods, percent_of(saving, before),
                       round_money(before / months), round_money(after / months), estimate=True)


def bill_preview(db: Any, ticket_id: int, s: Any, detail: Any, amount: Decimal | None,
                 item_ids: tuple[int, ...]) -> BillPreview:
    """Runs on a worker: billing's own preview (services.billing.preview_offer, VAT excluded) of the
    subscription's bill; a job is billed once, so its figures stay the eligibility estimate."""
    from agentdesk.domain.errors import RuleViolation
    from agentdesk.services import billing

    if detail.service.kind != "subscription":
        return estimate_bill(s, detail, amount, item_ids)
    try:
        p = billing.preview_offer(db, ticket_id, s.definition_id, amount, list(item_ids))
    except RuleViolation:  # not billed in the coming periods (e.g. ends this month): keep the estimate
        return estimate_bill(s, detail, amount, item_ids)
    # A term / cumulative-term discount is not deducted on the bill but taken at payment ("less X if paid
    # by ..."): count what the bill offers off at payment as saved too.
    at_payment = p.comparison.after.payment_discount - p.comparison.before.payment_discount
    if not at_payment:
        return BillPreview(p.per, p.before, p.after, p.saving_per_period, p.periods, p.total_saving, p.percent,
                           p.monthly_before, p.monthly_after, estimate=False)
    from agentdesk.domain.money import percent_of, round_money

    months = {"month": 1, "quarter": 3, "year": 12}.get(p.per, 1)
    saving = p.saving_per_period + at_payment
    after = p.before - saving
    return BillPreview(p.per, p.before, after, saving, p.periods, saving * p.periods, percent_of(saving, p.before),
                       p.monthly_before, round_money(after / months), estimate=False, at_payment=True)


def preview_message(channel: str, detail: Any, s: Any, bill: BillPreview | None, company: str = "") -> str:
    """What the customer will receive, in the words the offer service uses (reference added when sent)."""
    c = detail.customer
    items = ", ".join(i.description or i.product_name for i in detail.service.items if i.id in s.billing_item_ids)
    lines: list[str] = []
    if channel == "email":
        lines += [f"To: {c.contacts.email or '(no e-mail address on file)'}",
                  f"Subject: Your offer: {s.name} (reference given when sent)", ""]
    else:
        address = [c.name, *c.contacts.address_lines,
                   " ".join(x for x in (c.contacts.postal_code, c.contacts.city) if x), c.contacts.country]
        lines += ["Letter (PDF, printed and posted) to:", *[a for a in address if a], ""]
    lines += [f"Dear {c.name},", "",
              f"Thank you for talking to us about your service {detail.service.number} "
              f"(ticket {detail.ticket.number}). As discussed, we would like to offer you:", "",
              f"  - {s.name}: {s.value_text} on {items or 'your service'}"]
    if bill is not None:
        lines += [f"  - Your charge per {bill.per}: {fmt.money(bill.before)} now, "
                  f"{fmt.money(bill.after)} with the discount",
                  f"  - Total saving: {fmt.money(bill.total_saving)} ({bill.percent:.2f}% of the service's cost)"]
    if s.needs_approval:
        lines.append("  - The discount is applied once a supervisor has confirmed it; we will let you know.")
    lines += ["", "Your acceptance reference: (given when the offer is made)", "",
              "To accept, reply to this message or call us and quote the reference.", "", "Kind regards,",
              company or "Customer Care"]
    return "\n".join(lines)


# -- the plan Finish runs -----------------------------------------------------------------------------------


@dataclass
class RunState:
    """What the steps learn as they go (read by later steps and by the summary)."""

    ticket_version: int
    offer: Any = None  # OfferInfo of the offer made/answered here
    acceptance: Any = None  # AcceptanceInfo
    ticket_state: str = ""
    end_date: dt.date | None = None


@dataclass
class Step:
    text: str
    run: Callable[[RunState], object]  # the result is not used: steps record what matters in the state
    done: bool = False


@dataclass
class Outcome:
    done: int
    error: BaseException | None
    state: RunState


def execute(steps: list[Step], state: RunState) -> Outcome:
    """Worker thread: run the steps not yet done, in order; stop at the first refusal."""
    count = 0
    for step in steps:
        if step.done:
            count += 1
            continue
        try:
            step.run(state)
        except BaseException as exc:
            return Outcome(count, exc, state)
        step.done = True
        count += 1
    return Outcome(count, None, state)


@dataclass
class Attempt:
    """An offer the customer turned down during this wizard."""

    suggestion: Any
    reason: str
    existing_offer: Any = None  # OfferInfo if it had been sent before


@dataclass
class Choices:
    suggestion: Any = None
    amount: Decimal | None = None
    item_ids: tuple[int, ...] = ()
    channel: str = "email"
    answer: str = ACCEPTED
    accept_channel: str = "phone"
    reason: str = ""
    after_decline: str = ""
    sales_offer: Any = None
    end_date: dt.date | None = None
    confirm_now: bool = True
    declined: list[Attempt] = field(default_factory=list)


# -- pages -----------------------------------------------------------------------------------------------------


class EligibilityPage(QWizardPage):
    """Step 1: every definition, eligible or not, and why."""

    def __init__(self, wizard: OfferWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("1. Which discounts can we offer?")
        self.setSubTitle("Every discount definition judged for this call: eligible first, best first. "
                         "The reasons are listed below the table.")
        self.table = QTreeWidget()
        self.table.setObjectName("eligibilityTable")
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(["", "Discount", "Value", "Saving", "% of cost", "Approval"])
        self.table.setAlternatingRowColors(True)
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col in (2, 3, 4, 5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentItemChanged.connect(self._show_reasons)
        self.reasons = QLabel()
        self.reasons.setObjectName("eligibilityReasons")
        self.reasons.setWordWrap(True)
        self.reasons.setTextFormat(Qt.TextFormat.RichText)
        self.reasons.setMinimumHeight(70)
        self.reasons.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.status = QLabel("Checking eligibility…")
        self.status.setProperty("role", "hint")
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.reasons)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        if self.w.suggestions is None:
            self.w.load_suggestions()
        self.fill()
        QTimer.singleShot(0, self.table.setFocus)

    def fill(self) -> None:
        self.table.clear()
        found = self.w.suggestions
        if found is None:
            self.status.setText("Checking eligibility…")
            return
        eligible = [s for s in found if s.eligible]
        self.status.setText(f"{len(eligible)} of {len(found)} discounts can be offered on this call."
                            if eligible else "No discount can be offered on this call: see why below.")
        for s in found:
            row = QTreeWidgetItem([
                "Eligible" if s.eligible else "Not eligible", s.name, s.value_text,
                fmt.money(s.total_cost) if s.eligible else "", f"{s.cost_percent:.1f}%" if s.eligible else "",
                "Manager" if s.needs_approval else "Automatic"])
            row.setIcon(0, icon("check" if s.eligible else "cross"))
            row.setData(0, Qt.ItemDataRole.UserRole, s)
            row.setToolTip(1, f"{s.code} v{s.version}: {s.description}" if s.description else s.code)
            if not s.eligible:
                for col in range(6):
                    row.setForeground(col, self.palette().placeholderText())
            self.table.addTopLevelItem(row)
        first = self.table.topLevelItem(0)
        if first is not None:
            self.table.setCurrentItem(first)
        self.completeChanged.emit()

    def _show_reasons(self, current: QTreeWidgetItem | None, _previous: Any) -> None:
        if current is None:
            self.reasons.clear()
            return
        s = current.data(0, Qt.ItemDataRole.UserRole)
        lines = []
        for reason in s.reasons:
            ok = reason.startswith("eligible")
            mark = "✓" if ok else "✗"
            lines.append(f"{mark} {html.escape(reason.split(': ', 1)[-1])}")
        self.reasons.setText(f"<b>{html.escape(s.name)}</b> ({html.escape(s.code)}): " + "; ".join(lines))

    def isComplete(self) -> bool:  # noqa: N802
        return self.w.suggestions is not None

    def nextId(self) -> int:  # noqa: N802
        return PAGE_OFFER


class OfferPage(QWizardPage):
    """Step 2: the offer, its amount (checked live) and billing items, with the bill before and after."""

    def __init__(self, wizard: OfferWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("2. Choose the offer")
        self.setSubTitle("The best offer for this customer is selected: Enter offers it.")
        self.offers = QListWidget()
        self.offers.setObjectName("offerList")
        self.offers.currentItemChanged.connect(self._on_offer_changed)
        self.amount_label = QLabel("&Amount per period:")
        self.amount = QLineEdit()
        self.amount.setObjectName("amountField")
        self.amount_label.setBuddy(self.amount)
        self.amount.textChanged.connect(self._on_inputs_changed)
        self.amount_error = QLabel()
        self.amount_error.setObjectName("amountError")
        self.amount_error.setProperty("role", "error")
        self.amount_error.setWordWrap(True)
        self.items = QListWidget()
        self.items.setObjectName("itemList")
        self.items.setMaximumHeight(76)
        self.items.itemChanged.connect(self._on_inputs_changed)
        self.items_error = QLabel()
        self.items_error.setProperty("role", "error")
        self.items_error.setWordWrap(True)
        self.none_label = QLabel()
        self.none_label.setWordWrap(True)
        # the bill before and after
        self.bill_box = QGroupBox("The bill")
        grid = QGridLayout(self.bill_box)
        self.before_label = QLabel()
        self.before_label.setObjectName("billFigure")
        self.after_label = QLabel()
        self.after_label.setObjectName("billFigure")
        self.saving_label = QLabel()
        self.saving_label.setObjectName("savingFigure")
        self.total_label = QLabel()
        self.total_label.setWordWrap(True)
        self.bill_note = QLabel()
        self.bill_note.setProperty("role", "hint")
        self.bill_note.setWordWrap(True)
        # A wrapped label in a grid gets one line's height unless told: keep room for the two-line note.
        self.bill_note.setMinimumHeight(self.bill_note.fontMetrics().lineSpacing() * 2 + 4)
        self.before_caption = QLabel("Monthly cost now")
        grid.addWidget(self.before_caption, 0, 0)
        grid.addWidget(QLabel("With the discount"), 0, 1)
        grid.addWidget(QLabel("Saved"), 0, 2)
        grid.addWidget(self.before_label, 1, 0)
        grid.addWidget(self.after_label, 1, 1)
        grid.addWidget(self.saving_label, 1, 2)
        grid.addWidget(self.total_label, 2, 0, 1, 3)
        grid.addWidget(self.bill_note, 3, 0, 1, 3)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(self._request_preview)
        self._preview_generation = 0
        self.registerField("amount", self.amount)

        amount_row = QHBoxLayout()
        amount_row.addWidget(self.amount_label)
        amount_row.addWidget(self.amount)
        amount_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.none_label)
        layout.addWidget(self.offers, 2)
        layout.addLayout(amount_row)
        layout.addWidget(self.amount_error)
        items_label = QLabel("&Billing items the discount applies to:")
        items_label.setBuddy(self.items)
        layout.addWidget(items_label)
        layout.addWidget(self.items)
        layout.addWidget(self.items_error)
        layout.addWidget(self.bill_box)
        self._valid = False

    def initializePage(self) -> None:  # noqa: N802
        self.offers.blockSignals(True)
        self.offers.clear()
        eligible = [s for s in self.w.suggestions or [] if s.eligible and not self.w.was_declined(s)]
        for s in eligible:
            text = f"{s.name}  ·  {s.value_text}  ·  saves {fmt.money(s.total_cost)} over {s.periods} period" \
                   f"{'s' if s.periods != 1 else ''}" + ("  ·  needs a manager's approval" if s.needs_approval else "")
            item = QListWidgetItem(icon("offer"), text)
            item.setData(Qt.ItemDataRole.UserRole, s)
            self.offers.addItem(item)
        self.offers.blockSignals(False)
        self.none_label.setVisible(not eligible)
        self.none_label.setText("No discount can be offered on this call. Press Enter to choose what happens next "
                                "(other sales offers, or the cancellation).")
        for widget in (self.offers, self.amount, self.amount_label, self.items, self.bill_box):
            widget.setVisible(bool(eligible))
        wanted = self.w.choices.suggestion
        row = 0
        if wanted is not None:
            row = next((i for i, s in enumerate(eligible) if s.definition_id == wanted.definition_id), 0)
        if eligible:
            self.offers.setCurrentRow(row)
            self._on_offer_changed(self.offers.currentItem(), None)
        self.completeChanged.emit()
        QTimer.singleShot(0, self.offers.setFocus)

    def current(self) -> Any:
        item = self.offers.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _on_offer_changed(self, item: QListWidgetItem | None, _previous: Any) -> None:
        s = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if s is None:
            return
        ranged = s.value_kind == "amount_range"
        self.amount_label.setText("&Amount:" if self.w.data.detail.service.kind == "job" else "&Amount per period:")
        self.amount.setEnabled(ranged)
        self.amount.setVisible(s.value_kind in ("amount_range", "amount"))
        self.amount_label.setVisible(s.value_kind in ("amount_range", "amount"))
        self.amount.blockSignals(True)
        chosen = self.w.choices
        if ranged:
            keep = chosen.suggestion is not None and chosen.suggestion.definition_id == s.definition_id \
                and chosen.amount is not None
            value = chosen.amount if keep else s.amount_default
            self.amount.setText(f"{value:.2f}" if value is not None else "")
            self.amount.setPlaceholderText(f"between {s.amount_min:.2f} and {s.amount_max:.2f}")
            self.amount.setToolTip(f"Any amount from {fmt.money(s.amount_min)} to {fmt.money(s.amount_max)} "
                                   "per period")
        elif s.value_kind == "amount":
            self.amount.setText(f"{s.amount_default:.2f}" if s.amount_default is not None else "")
        else:
            self.amount.clear()
        self.amount.blockSignals(False)
        self.items.blockSignals(True)
        self.items.clear()
        default = set(s.billing_item_ids)
        if chosen.suggestion is not None and chosen.suggestion.definition_id == s.definition_id and chosen.item_ids:
            default = set(chosen.item_ids)
        for billing_item in self.w.data.detail.service.items:
            text = f"{billing_item.description or billing_item.product_name}  ({fmt.money(billing_item.amount)})"
            entry = QListWidgetItem(text)
            entry.setData(Qt.ItemDataRole.UserRole, billing_item.id)
            covered = billing_item.id in s.billing_item_ids
            flags = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
            entry.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if covered else flags)
            entry.setCheckState(Qt.CheckState.Checked if covered and billing_item.id in default
                                else Qt.CheckState.Unchecked)
            if not covered:
                entry.setToolTip("This discount does not cover this item")
            self.items.addItem(entry)
        self.items.blockSignals(False)
        self._on_inputs_changed()

    def item_ids(self) -> tuple[int, ...]:
        out = []
        for row in range(self.items.count()):
            entry = self.items.item(row)
            if entry.checkState() == Qt.CheckState.Checked:
                out.append(int(entry.data(Qt.ItemDataRole.UserRole)))
        return tuple(out)

    def _on_inputs_changed(self, *_args: Any) -> None:
        s = self.current()
        self._valid = False
        self.amount_error.clear()
        self.items_error.clear()
        if s is None:
            self.completeChanged.emit()
            return
        try:
            amount = check_amount(s, self.amount.text())
        except ValidationError as exc:
            self.amount_error.setText(f"⚠ {exc.message}")
            self.clear_bill()
            self.completeChanged.emit()
            return
        items = self.item_ids()
        if not items:
            self.items_error.setText("⚠ Choose at least one billing item for the discount")
            self.clear_bill()
            self.completeChanged.emit()
            return
        self._valid = True
        self.w.choices.suggestion, self.w.choices.amount, self.w.choices.item_ids = s, amount, items
        self.completeChanged.emit()
        if self.w.data.detail.service.kind == "subscription":
            self.clear_bill("Computing the bill…")
            self._preview_timer.start()  # billing prices the next bill (debounced while typing)
        else:
            self.show_bill(estimate_bill(s, self.w.data.detail, amount, items))

    def _request_preview(self) -> None:
        s, choices = self.current(), self.w.choices
        if s is None or not self._valid:
            return
        self._preview_generation += 1
        generation = self._preview_generation
        db, ticket_id, detail = self.w.context.db, self.w.data.detail.ticket.id, self.w.data.detail
        amount, items = choices.amount, choices.item_ids

        def done(bill: object) -> None:
            if generation == self._preview_generation and isinstance(bill, BillPreview):
                self.show_bill(bill)

        def failed(exc: BaseException) -> None:
            if generation == self._preview_generation:
                self.show_bill(estimate_bill(s, detail, amount, items))
                self.bill_note.setText(f"Estimated: billing could not price it ({error_line(exc)})")

        self.w.context.runner.submit(lambda: bill_preview(db, ticket_id, s, detail, amount, items),
                                     on_done=done, on_error=failed, owner=self, describe="preview the bill")

    def clear_bill(self, why: str = "Correct the offer above to see the bill with the discount.") -> None:
        self._preview_generation += 1  # a preview on its way is for input no longer valid
        for label in (self.before_label, self.after_label, self.saving_label):
            label.setText("—")
        self.total_label.setText(why)
        self.bill_note.clear()

    def show_bill(self, bill: BillPreview) -> None:
        self.w.bill = bill
        self.before_caption.setText("The job's charge now" if bill.per == "job" else "Monthly cost now")
        self.before_label.setText(fmt.money(bill.monthly_before))
        self.after_label.setText(fmt.money(bill.monthly_after))
        self.saving_label.setText(f"{bill.percent:.1f}%")
        self.total_label.setText(
            f"{fmt.money(bill.saving_per_period)} off per {bill.per} for {bill.periods} {bill.per}"
            f"{'s' if bill.periods != 1 else ''}: <b>{fmt.money(bill.total_saving)}</b> saved in total.")
        self.total_label.setTextFormat(Qt.TextFormat.RichText)
        note = "Estimated from the eligibility figures." if bill.estimate else \
            "Computed by billing for the next bill, VAT excluded."
        if bill.at_payment:
            note += " The discount is taken at payment (when the customer pays in time), not off the bill."
        self.bill_note.setText(note)

    def isComplete(self) -> bool:  # noqa: N802
        if not any(s.eligible and not self.w.was_declined(s) for s in self.w.suggestions or []):
            return True  # nothing to offer: go on to what happens next
        return self._valid

    def validatePage(self) -> bool:  # noqa: N802
        if not self.offers.count():
            self.w.choices.suggestion = None
        return True

    def nextId(self) -> int:  # noqa: N802
        return PAGE_NOTIFY if self.w.choices.suggestion is not None and self.offers.count() else PAGE_ANSWER


class NotifyPage(QWizardPage):
    """Step 3: how the customer gets the offer in writing, with a preview."""

    def __init__(self, wizard: OfferWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("3. Send the offer in writing")
        self.setSubTitle("The customer receives the offer with an acceptance reference.")
        self.email = QRadioButton("By &e-mail")
        self.email.setObjectName("channelEmail")
        self.letter = QRadioButton("By &letter (PDF, printed and posted)")
        self.letter.setObjectName("channelLetter")
        self.group = QButtonGroup(self)
        self.group.addButton(self.email)
        self.group.addButton(self.letter)
        self.email.toggled.connect(self._on_channel)
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("messagePreview")
        self.preview.setReadOnly(True)
        self.preview.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Enter must reach the wizard, not the text
        self.registerField("emailChannel", self.email)
        layout = QVBoxLayout(self)
        layout.addWidget(self.email)
        layout.addWidget(self.letter)
        preview_label = QLabel("Preview of what will be sent:")
        preview_label.setProperty("role", "subheading")
        layout.addWidget(preview_label)
        layout.addWidget(self.preview, 1)

    def initializePage(self) -> None:  # noqa: N802
        has_email = bool(self.w.data.detail.customer.contacts.email)
        self.email.setEnabled(has_email)
        self.email.setToolTip("" if has_email else "No e-mail address on file: send a letter")
        (self.email if has_email and self.w.choices.channel == "email" else self.letter).setChecked(True)
        self._on_channel()
        QTimer.singleShot(0, lambda: (self.email if self.email.isChecked() else self.letter).setFocus())

    def _on_channel(self, *_args: Any) -> None:
        self.w.choices.channel = "email" if self.email.isChecked() else "letter"
        s = self.w.choices.suggestion
        if s is not None:
            self.preview.setPlainText(preview_message(self.w.choices.channel, self.w.data.detail, s, self.w.bill))

    def nextId(self) -> int:  # noqa: N802
        return PAGE_ANSWER


class AnswerPage(QWizardPage):
    """Step 4: the customer's answer; a decline leads to the next best offer, other sales offers, or the
    cancellation (asked on this same page)."""

    def __init__(self, wizard: OfferWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("4. The customer's answer")
        self.setSubTitle("Accepted is selected: Enter records it. A decline leads to the next best offer.")
        self.question = QLabel()
        self.question.setObjectName("answerQuestion")
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.RichText)
        self.accepted = QRadioButton("&Accepted")
        self.accepted.setObjectName("answerAccepted")
        self.accept_channel = QComboBox()
        self.accept_channel.setObjectName("acceptChannel")
        for text, key in (("on the phone, now", "phone"), ("quoting the reference", "reference"),
                          ("by e-mail", "email"), ("on the web", "web")):
            self.accept_channel.addItem(text, key)
        self.declined = QRadioButton("&Declined")
        self.declined.setObjectName("answerDeclined")
        self.later = QRadioButton("Will answer &later (the offer is sent; the ticket waits for the answer)")
        self.later.setObjectName("answerLater")
        self.answers = QButtonGroup(self)
        for button in (self.accepted, self.declined, self.later):
            self.answers.addButton(button)
            button.toggled.connect(self._on_changed)
        self.reason = QLineEdit()
        self.reason.setObjectName("declineReason")
        self.reason.setPlaceholderText("Why did the customer say no? (required)")
        self.reason.textChanged.connect(self._on_changed)
        self.next_box = QGroupBox("Then")
        self.next_best = QRadioButton()
        self.next_best.setObjectName("nextBest")
        self.sales = QRadioButton("Offer another product (other sales offers)")
        self.sales.setObjectName("otherSales")
        self.cancel = QRadioButton("Go ahead with the cancellation")
        self.cancel.setObjectName("goAheadCancel")
        self.after = QButtonGroup(self)
        for button in (self.next_best, self.sales, self.cancel):
            self.after.addButton(button)
            button.toggled.connect(self._on_changed)
        self.sales_list = QListWidget()
        self.sales_list.setObjectName("salesOffers")
        self.sales_list.setMaximumHeight(100)
        self.sales_list.currentItemChanged.connect(self._on_changed)
        box = QVBoxLayout(self.next_box)
        box.addWidget(self.next_best)
        box.addWidget(self.sales)
        box.addWidget(self.sales_list)
        box.addWidget(self.cancel)
        self.registerField("declineReason", self.reason)
        self.registerField("answerAccepted", self.accepted)
        accepted_row = QHBoxLayout()
        accepted_row.addWidget(self.accepted)
        accepted_row.addWidget(self.accept_channel)
        accepted_row.addStretch(1)
        declined_row = QHBoxLayout()
        declined_row.addWidget(self.declined)
        declined_row.addWidget(self.reason, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addLayout(accepted_row)
        layout.addLayout(declined_row)
        layout.addWidget(self.later)
        layout.addWidget(self.next_box)
        layout.addStretch(1)

    def subject(self) -> Any:
        """The offer being answered: the one sent before (answer mode) or the one chosen in this call."""
        return self.w.existing_offer if self.w.existing_offer is not None else self.w.choices.suggestion

    def initializePage(self) -> None:  # noqa: N802
        self._ask()

    def _ask(self) -> None:
        choices, subject = self.w.choices, self.subject()
        nothing = subject is None
        if nothing:
            self.question.setText("No discount is left to offer. What happens next?")
        elif self.w.existing_offer is not None:
            o = self.w.existing_offer
            self.question.setText(f"What did the customer answer to <b>{html.escape(o.name)}</b> "
                                  f"(reference {html.escape(o.acceptance_ref)})?")
        else:
            self.question.setText(f"What did the customer say to <b>{html.escape(subject.name)}</b> "
                                  f"({html.escape(subject.value_text)})?")
        self.later.setVisible(self.w.existing_offer is None and not nothing)
        self.accepted.setVisible(not nothing)
        self.accept_channel.setVisible(not nothing)
        self.declined.setVisible(not nothing)
        self.reason.setVisible(not nothing)
        for button in (self.accepted, self.declined, self.later):
            button.blockSignals(True)
        if nothing:
            self.declined.setChecked(True)
            choices.answer = DECLINED
        else:
            self.accepted.setChecked(True)
            choices.answer = ACCEPTED
        for button in (self.accepted, self.declined, self.later):
            button.blockSignals(False)
        self.reason.clear()
        nxt = self.w.next_best()
        self.next_best.setVisible(nxt is not None)
        if nxt is not None:
            self.next_best.setText(f"Offer the next best: {nxt.name} ({nxt.value_text}, saves "
                                   f"{fmt.money(nxt.total_cost)})")
        self.after.setExclusive(False)
        for button in (self.next_best, self.sales, self.cancel):
            button.setChecked(False)
        self.after.setExclusive(True)
        (self.next_best if nxt is not None else self.cancel).setChecked(True)
        self._on_changed()
        QTimer.singleShot(0, lambda: (self.accepted if self.accepted.isVisible() else self.cancel).setFocus())

    def _on_changed(self, *_args: Any) -> None:
        choices = self.w.choices
        choices.answer = ACCEPTED if self.accepted.isChecked() else DECLINED if self.declined.isChecked() else LATER
        choices.accept_channel = str(self.accept_channel.currentData())
        choices.reason = self.reason.text().strip()
        declined = choices.answer == DECLINED
        self.next_box.setVisible(declined)
        choices.after_decline = (NEXT_BEST if self.next_best.isChecked() else SALES if self.sales.isChecked()
                                 else CANCEL if self.cancel.isChecked() else "")
        self.sales_list.setVisible(declined and choices.after_decline == SALES)
        if declined and choices.after_decline == SALES and self.w.sales_offers is None:
            self.w.load_sales_offers(self._fill_sales)
        item = self.sales_list.currentItem()
        choices.sales_offer = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if declined and self.reason.isVisible() and not choices.reason and self.reason.isEnabled():
            self.reason.setFocus()
        self.completeChanged.emit()

    def _fill_sales(self) -> None:
        self.sales_list.clear()
        for offer in self.w.sales_offers or []:
            item = QListWidgetItem(f"{offer.title}: {fmt.money(offer.new_price)} instead of "
                                   f"{fmt.money(offer.current_price)} per {offer.per}")
            item.setData(Qt.ItemDataRole.UserRole, offer)
            self.sales_list.addItem(item)
        if not self.sales_list.count():
            self.sales_list.addItem("No other product fits this service")
        else:
            self.sales_list.setCurrentRow(0)
        self._on_changed()

    def isComplete(self) -> bool:  # noqa: N802
        c = self.w.choices
        if c.answer in (ACCEPTED, LATER):
            return True
        if self.subject() is not None and not c.reason:
            return False
        if c.after_decline == SALES:
            return c.sales_offer is not None
        return c.after_decline in (NEXT_BEST, CANCEL)

    def validatePage(self) -> bool:  # noqa: N802
        c = self.w.choices
        if c.answer == DECLINED and c.after_decline == NEXT_BEST:
            # Record the refusal and ask again about the next best offer, on this page.
            nxt = self.w.next_best()
            subject = self.subject()
            if nxt is None or subject is None:
                return False
            c.declined.append(Attempt(self.w.choices.suggestion if self.w.existing_offer is None else None,
                                      c.reason, self.w.existing_offer))
            self.w.existing_offer = None
            c.suggestion, c.amount, c.item_ids = nxt, nxt.amount_default, tuple(nxt.billing_item_ids)
            self.w.bill = estimate_bill(nxt, self.w.data.detail, c.amount, c.item_ids)
            self._ask()
            return False
        return True

    def nextId(self) -> int:  # noqa: N802
        return PAGE_CONFIRM


class ConfirmPage(QWizardPage):
    """Step 5: what Finish will do, in order, and where the ticket ends up."""

    def __init__(self, wizard: OfferWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("5. Confirm")
        self.setSubTitle("Nothing has been changed yet: Finish carries out the steps below, in order.")
        self.setFinalPage(True)
        self.summary = QLabel()
        self.summary.setObjectName("confirmSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.confirm_now = QCheckBox("Send the approved discount to the &accounting queue now")
        self.confirm_now.setObjectName("confirmNow")
        self.confirm_now.setChecked(True)
        self.confirm_now.toggled.connect(self._refresh)
        self.steps = QListWidget()
        self.steps.setObjectName("planSteps")
        self.steps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.banner = Banner()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.confirm_now)
        steps_label = QLabel("When you press Finish:")
        steps_label.setProperty("role", "subheading")
        layout.addWidget(steps_label)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.banner)

    def initializePage(self) -> None:  # noqa: N802
        self.w.plan = None
        self.banner.clear()
        self._refresh()
        QTimer.singleShot(0, self.w.focus_finish)

    def _refresh(self, *_args: Any) -> None:
        c = self.w.choices
        c.confirm_now = self.confirm_now.isChecked()
        subject = self.w.existing_offer or c.suggestion
        needs_approval = bool(getattr(c.suggestion, "needs_approval", False)) if self.w.existing_offer is None \
            else self.w.existing_needs_approval
        self.confirm_now.setVisible(c.answer == ACCEPTED and not needs_approval)
        self.summary.setText(self.w.destination_text(needs_approval, subject))
        if self.w.plan is None or not any(step.done for step in self.w.plan):
            self.w.plan = self.w.build_plan()
        self.show_steps()

    def show_steps(self) -> None:
        self.steps.clear()
        for n, step in enumerate(self.w.plan or [], start=1):
            item = QListWidgetItem(icon("check") if step.done else icon("info"), f"{n}. {step.text}")
            self.steps.addItem(item)


# -- the wizard ------------------------------------------------------------------------------------------------


class OfferWizard(QWizard):
    """Signals: sig_completed(str message) after Finish did everything it planned."""

    sig_completed = Signal(str)

    def __init__(self, context: AppContext, data: EditorData, *, answer_only: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.data = data
        self.ticket_id = data.detail.ticket.id
        self.setWindowTitle(f"Offer: {data.detail.ticket.number} · {data.detail.customer.name}")
        self.setObjectName("offerWizard")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.setMinimumSize(760, 600)
        self.suggestions: list[Any] | None = None
        self.sales_offers: list[Any] | None = None
        self.existing_offer = data.open_offer if answer_only else None
        self.existing_needs_approval = False
        self.choices = Choices(channel="email" if data.detail.customer.contacts.email else "letter")
        self.bill: BillPreview | None = None
        self.plan: list[Step] | None = None
        self.state = RunState(ticket_version=data.detail.ticket.version)
        self.touched_database = False
        self._running = False
        self._finished_ok = False
        self.eligibility_page = EligibilityPage(self)
        self.offer_page = OfferPage(self)
        self.notify_page = NotifyPage(self)
        self.answer_page = AnswerPage(self)
        self.confirm_page = ConfirmPage(self)
        self.setPage(PAGE_ELIGIBILITY, self.eligibility_page)
        self.setPage(PAGE_OFFER, self.offer_page)
        self.setPage(PAGE_NOTIFY, self.notify_page)
        self.setPage(PAGE_ANSWER, self.answer_page)
        self.setPage(PAGE_CONFIRM, self.confirm_page)
        self.setStartId(PAGE_ANSWER if answer_only else PAGE_ELIGIBILITY)
        self.setButtonText(QWizard.WizardButton.NextButton, "&Next >")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Finish")
        for which, tip in ((QWizard.WizardButton.NextButton, "Next step (Enter)"),
                           (QWizard.WizardButton.BackButton, "Previous step (Alt+B)"),
                           (QWizard.WizardButton.FinishButton, "Do it (Enter)"),
                           (QWizard.WizardButton.CancelButton, "Close without changing anything (Esc)")):
            self.button(which).setToolTip(tip)
        self.load_suggestions()  # every page needs them (the answer page for the next best offer)

    # data
    def load_suggestions(self) -> None:
        if getattr(self, "_loading_suggestions", False):
            return
        self._loading_suggestions = True
        from agentdesk.services import eligibility

        db, ticket_id = self.context.db, self.ticket_id

        def done(found: object) -> None:
            self._loading_suggestions = False
            self.suggestions = list(found)  # type: ignore[call-overload]
            if self.existing_offer is not None:
                match = next((s for s in self.suggestions if s.definition_id == self.existing_offer.definition_id),
                             None)
                self.existing_needs_approval = bool(match.needs_approval) if match is not None else False
            self.eligibility_page.fill()
            page = self.currentPage()
            if page is self.answer_page:
                self.answer_page._ask()
            elif page is self.offer_page:
                self.offer_page.initializePage()

        def failed(exc: BaseException) -> None:
            self._loading_suggestions = False
            self.suggestions = []
            self.eligibility_page.status.setText(error_line(exc, "check eligibility"))
            self.eligibility_page.completeChanged.emit()

        self.context.runner.submit(lambda: eligibility.eligibility_for_ticket(db, ticket_id), on_done=done,
                                   on_error=failed, owner=self, describe="check eligibility")

    def load_sales_offers(self, then: Callable[[], None]) -> None:
        from agentdesk.services import offers

        db, ticket_id = self.context.db, self.ticket_id

        def done(found: object) -> None:
            self.sales_offers = list(found)  # type: ignore[call-overload]
            then()

        self.sales_offers = []
        self.context.runner.submit(lambda: offers.other_sales_offers(db, ticket_id), on_done=done,
                                   on_error=lambda exc: self.context.show_message(error_line(exc, "find sales offers")),
                                   owner=self, describe="find other sales offers")

    def was_declined(self, s: Any) -> bool:
        refused = {a.suggestion.definition_id for a in self.choices.declined if a.suggestion is not None}
        refused |= {a.existing_offer.definition_id for a in self.choices.declined if a.existing_offer is not None}
        return s.definition_id in refused

    def next_best(self) -> Any | None:
        """The best eligible offer not yet declined and not the one being answered now."""
        current = self.existing_offer.definition_id if self.existing_offer is not None else (
            self.choices.suggestion.definition_id if self.choices.suggestion is not None else None)
        for s in self.suggestions or []:
            if s.eligible and not self.was_declined(s) and s.definition_id != current:
                return s
        return None

    def focus_finish(self) -> None:
        button = self.button(QWizard.WizardButton.FinishButton)
        if isinstance(button, QPushButton) and button.isVisible():
            button.setDefault(True)
        self.confirm_page.setFocus()

    # the plan
    def destination_text(self, needs_approval: bool, subject: Any) -> str:
        c = self.choices
        name = html.escape(getattr(subject, "name", "") or "")
        if c.answer == ACCEPTED and subject is not None:
            if needs_approval:
                return (f"The customer accepts <b>{name}</b>. It needs a manager's approval: the ticket "
                        "<b>waits for manager approval</b> and comes back to you when it is decided.")
            if c.confirm_now:
                return f"The customer accepts <b>{name}</b>: the ticket goes to the <b>accounting queue</b>."
            return (f"The customer accepts <b>{name}</b>: the discount is approved and the ticket stays with you "
                    "until you confirm it to accounting (Ctrl+Shift+C).")
        if c.answer == LATER:
            return (f"<b>{name}</b> is sent by {'e-mail' if c.channel == 'email' else 'letter'}; the ticket "
                    "<b>waits for the customer's answer</b> (Offer pending).")
        if c.after_decline == CANCEL:
            return "The customer leaves: the service is <b>cancelled</b> and the ticket <b>closed</b>."
        if c.after_decline == SALES and c.sales_offer is not None:
            return (f"The customer takes another product: <b>{html.escape(c.sales_offer.title)}</b>. It is noted "
                    "on the ticket, which stays with you to arrange the change.")
        return "Nothing to do."

    def build_plan(self) -> list[Step]:
        from agentdesk.services import approvals, offers, tickets

        db, ticket_id, c = self.context.db, self.ticket_id, self.choices
        steps: list[Step] = []

        def note_step(body: str) -> Callable[[RunState], object]:
            return lambda _state: tickets.add_note(db, ticket_id, body)

        for attempt in c.declined:
            if attempt.existing_offer is not None:
                o = attempt.existing_offer

                def decline(st: RunState, o: Any = o, reason: str = attempt.reason) -> None:
                    info = offers.decline_offer(db, o.id, reason)
                    st.ticket_version = info.ticket_version
                steps.append(Step(f"Record that the customer declined {o.name} ({o.acceptance_ref}): "
                                  f"{attempt.reason}", decline))
            else:
                s = attempt.suggestion
                text = f"Offered on the phone: {s.name} ({s.value_text}). The customer declined: {attempt.reason}"
                steps.append(Step(f"Note: {s.name} declined on the phone ({attempt.reason})", note_step(text)))
        existing = self.existing_offer
        s = c.suggestion
        if c.answer in (ACCEPTED, LATER) and existing is None and s is not None:
            how = "e-mail" if c.channel == "email" else "letter"
            amount, items, channel = c.amount, c.item_ids, c.channel

            def make(st: RunState) -> None:
                st.offer = offers.make_offer(db, ticket_id, st.ticket_version, s.definition_id, amount,
                                             list(items), channel)
                st.ticket_state = "offer_pending"
            steps.append(Step(f"Make the offer {s.name} ({s.value_text}) and send it by {how}", make))
        if c.answer == ACCEPTED and (existing is not None or s is not None):
            accept_channel = c.accept_channel
            name = existing.name if existing is not None else s.name

            def accept(st: RunState) -> None:
                offer = existing if existing is not None else st.offer
                st.acceptance = offers.accept_offer(db, offer.id, accept_channel)
                st.ticket_state, st.ticket_version = st.acceptance.ticket_state, st.acceptance.ticket_version
            steps.append(Step(f"Record the acceptance of {name} ({accept_channel.replace('_', ' ')})", accept))
            needs_approval = self.existing_needs_approval if existing is not None else bool(s.needs_approval)
            if not needs_approval and c.confirm_now:
                def confirm(st: RunState) -> None:
                    if st.acceptance is not None and st.acceptance.discount.state != "approved":
                        return  # the definition turned out to need approval: nothing to confirm yet
                    summary = approvals.confirm_assignment(db, ticket_id, st.ticket_version)
                    st.ticket_state, st.ticket_version = summary.state, summary.version
                steps.append(Step("Confirm the discount and send the ticket to the accounting queue", confirm))
        if c.answer == DECLINED:
            subject = existing if existing is not None else s
            if subject is not None:
                if existing is not None:
                    def decline_existing(st: RunState, reason: str = c.reason) -> None:
                        info = offers.decline_offer(db, existing.id, reason)
                        st.ticket_version = info.ticket_version
                    steps.append(Step(f"Record that the customer declined {existing.name}: {c.reason}",
                                      decline_existing))
                else:
                    text = (f"Offered on the phone: {s.name} ({s.value_text}). The customer declined: {c.reason}")
                    steps.append(Step(f"Note: {s.name} declined on the phone ({c.reason})", note_step(text)))
            if c.after_decline == CANCEL:
                end_date = c.end_date

                def cancel(st: RunState) -> None:
                    info = offers.proceed_with_cancellation(db, ticket_id, st.ticket_version, end_date)
                    st.ticket_state, st.end_date = "closed", info.end_date
                steps.append(Step("Cancel the service and close the ticket", cancel))
            elif c.after_decline == SALES and c.sales_offer is not None:
                offer = c.sales_offer
                note = (f"Customer takes another product instead of cancelling: {offer.title} "
                        f"({fmt.money(offer.new_price)} instead of {fmt.money(offer.current_price)} per {offer.per})")
                steps.append(Step(f"Note the other sales offer: {offer.title}", note_step(note)))
        return steps

    # Finish
    def accept(self) -> None:
        """Finish: run the plan's remaining steps off the GUI thread; close only when all are done."""
        if self._finished_ok:
            super().accept()
            return
        if self._running:
            return
        if self.plan is None:
            self.plan = self.build_plan()
        if not self.plan:
            super().accept()
            return
        self._running = True
        self.touched_database = True
        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton,
                      QWizard.WizardButton.CancelButton):
            self.button(which).setEnabled(False)
        self.confirm_page.banner.show_info("Working…")
        plan, state = self.plan, self.state
        self.context.runner.submit(lambda: execute(plan, state), on_done=self._on_executed,
                                   on_error=self._on_crashed, owner=self, describe="carry out the offer")

    def _on_executed(self, outcome: object) -> None:
        assert isinstance(outcome, Outcome)
        self._running = False
        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton):
            self.button(which).setEnabled(True)
        self.confirm_page.show_steps()
        self.context.changes.announce("ticket", self.ticket_id)
        if outcome.error is None:
            self._finished_ok = True
            message = self.outcome_message(outcome.state)
            self.confirm_page.banner.show_message("success", message)
            self.sig_completed.emit(message)
            super().accept()
            return
        assert self.plan is not None
        done = [s.text for s in self.plan if s.done]
        failed = self.plan[outcome.done].text if outcome.done < len(self.plan) else ""
        said = error_line(outcome.error, "carry out the offer")
        where = ("Nothing was changed." if not done else
                 "Done: " + "; ".join(done) + ". The ticket stays as those steps left it.")
        self.confirm_page.banner.show_error(
            f"Could not {failed[:1].lower() + failed[1:]}: {said}. {where} Press Finish to try the remaining "
            "steps again, or Cancel and continue from the ticket.")
        self.button(QWizard.WizardButton.BackButton).setEnabled(not done)

    def _on_crashed(self, exc: BaseException) -> None:
        self._running = False
        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton):
            self.button(which).setEnabled(True)
        self.confirm_page.banner.show_error(error_line(exc, "carry out the offer"))

    def outcome_message(self, state: RunState) -> str:
        number = self.data.detail.ticket.number
        if state.ticket_state == "accounting":
            return f"{number}: offer accepted and sent to the accounting queue"
        if state.ticket_state == "pending_approval":
            return f"{number}: offer accepted; waiting for a manager's approval"
        if state.ticket_state == "offer_pending":
            ref = getattr(state.offer, "acceptance_ref", "")
            return f"{number}: offer sent (reference {ref}); waiting for the customer's answer"
        if state.ticket_state == "closed":
            return f"{number}: service cancelled and ticket closed"
        if state.acceptance is not None:
            return f"{number}: offer accepted; confirm it to accounting from the ticket"
        return f"{number}: done"

    def reject(self) -> None:
        if self._running:
            return  # the plan is running: wait for it (it reports what it did)
        super().reject()


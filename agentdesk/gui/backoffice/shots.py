"""Screenshots of every back-office screen, from demo data, driven as people would use them.

Called by agentdesk.gui.screenshots (``screenshots(outdir, env=..., runner=...)``) with its demo database,
or on its own (``python -m agentdesk.gui.backoffice.shots OUTDIR``), when it makes its own. Before the
shots, the back office of the demo company is brought to life through the services: three months billed,
some payments taken, one discount the manager provided himself (to show the four-eyes refusal).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SIZE = (1440, 900)  # a back-office workstation's window (the agents' shots use 1280 x 800)
MANAGER, ACCOUNTING, ADMIN = "mark.manager", "alice.accounting", "adam.admin"


def _month(today: dt.date, back: int) -> str:
    index = today.year * 12 + today.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def arrange(env: Any, today: dt.date) -> None:
    """Bill the three months before this one and take a few payments (as the accounting user)."""
    from agentdesk.services import billing, invoices, payments

    accounting = env.connect(ACCOUNTING)
    try:
        for back in (3, 2, 1):
            billing.run_period(accounting, _month(today, back))
        paid = 0
        for inv in invoices.list_invoices(accounting, period=_month(today, 2), limit=60):
            if inv.balance > 0 and paid < 40:
                payments.record_payment(accounting, inv.id, inv.balance, inv.currency,
                                        inv.issue_date or today, reference=f"TRF-{inv.id:06d}")
                paid += 1
        for inv in invoices.list_invoices(accounting, period=_month(today, 1), limit=10)[:3]:
            if inv.balance > 1:
                payments.record_payment(accounting, inv.id, (inv.balance / 2).quantize(Decimal("0.01")),
                                        inv.currency, today, reference="part payment")
    finally:
        accounting.dispose()


def own_discount(env: Any) -> None:
    """The manager takes a call himself and records the customer's acceptance: his own pending discount."""
    from agentdesk.services import eligibility, intake, offers, queues

    manager = env.connect(MANAGER)
    try:
        ticket = queues.take_next(manager, "retention")
        if ticket is None:
            return
        ticket = intake.verify_caller(manager, ticket.id, ticket.version, "pin")
        suggestions = eligibility.eligibility_for_ticket(manager, ticket.id)
        choice = next((s for s in suggestions if s.eligible and s.needs_approval), None)
        if choice is None:
            log.warning("no manually approved discount fits the manager's call: no four-eyes shot")
            return
        offer = offers.make_offer(manager, ticket.id, ticket.version, choice.definition_id,
                                  amount=choice.amount_default if choice.value_kind == "amount_range" else None,
                                  channel="letter")
        offers.accept_offer(manager, offer.id, "phone")
    except Exception:  # a demo set without a fitting call: the shot is skipped, not the others
        log.warning("could not arrange the manager's own discount", exc_info=True)
    finally:
        manager.dispose()


@contextlib.contextmanager
def paused_run(hold: threading.Event) -> Iterator[None]:
    """Make the billing page's run wait after its first batch until `hold` is set (to shoot the dialog)."""
    from agentdesk.gui.backoffice import billing_page

    real = billing_page.run_billing

    def held(db: Any, period: str, *, progress: Callable[[int, int], None], **kw: Any) -> Any:
        def slow(done: int, total: int) -> None:
            progress(done, total)
            if done and not hold.is_set():
                hold.wait(30)

        return real(db, period, progress=slow, **kw)

    billing_page.run_billing = held  # type: ignore[assignment]
    try:
        yield
    finally:
        billing_page.run_billing = real


def render_all(outdir: Path, *, env: Any = None, runner: Any = None) -> list[Path]:
    """Arrange the demo back office and save one PNG per screen (and per notable state) into `outdir`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from agentdesk.gui.app import create_application
    from agentdesk.gui.screenshots import Shooter, demo_environment

    app = create_application()
    shooter = Shooter(Path(outdir))
    with contextlib.ExitStack() as stack:
        if env is None:
            env = stack.enter_context(demo_environment())
        today = dt.date.today()
        arrange(env, today)
        own_discount(env)
        _Session(shooter, env, today).run_all()
    del app
    return shooter.saved


class _Session:
    """One context per demo user; each page shown at the window size, its state arranged, then shot."""

    def __init__(self, shooter: Any, env: Any, today: dt.date) -> None:
        self.shooter = shooter
        self.env = env
        self.today = today
        self.contexts: dict[str, Any] = {}
        self.windows: dict[str, Any] = {}

    def context(self, user: str) -> Any:
        from agentdesk.gui.backoffice.harness import make_context

        if user not in self.contexts:
            self.contexts[user] = make_context(self.env.settings, self.env.connect(user))
        return self.contexts[user]

    def window(self, user: str) -> Any:
        """The user's main window (one per user), so every shot shows the page as it is used."""
        from agentdesk.gui.mainwindow import MainWindow

        if user not in self.windows:
            window = MainWindow(self.context(user), live=False)
            window.resize(*SIZE)
            window.show()
            self.windows[user] = window
        return self.windows[user]

    def page(self, user: str, cls: type) -> Any:
        window = self.window(user)
        page = next(p for p in window.pages_in_order() if isinstance(p, cls))
        window.show_page(page)
        self.idle(page)
        return page

    def idle(self, page: Any, what: str = "") -> None:
        self.shooter.wait(lambda: not page.runner.busy, timeout=60, what=what or page.title)

    def done(self, page: Any) -> None:
        """Let the page's last results arrive before the next step (its window stays for the next page)."""
        self.idle(page)

    def shoot(self, widget: Any, name: str) -> None:
        self.shooter.shoot(widget, f"bo-{name}")

    def shoot_over(self, page: Any, dialog: Any, name: str) -> None:
        """The page with a dialog over its centre, as a person sees a modal dialog (one picture)."""
        from PySide6.QtCore import QPoint
        from PySide6.QtGui import QColor, QPainter

        self.shooter.settle()
        canvas = page.grab()
        top = dialog.grab()
        painter = QPainter(canvas)
        painter.fillRect(canvas.rect(), QColor(0, 0, 0, 60))  # the page behind a modal dialog, dimmed
        at = QPoint((canvas.width() - top.width()) // 2, (canvas.height() - top.height()) // 3)
        painter.fillRect(top.rect().translated(at + QPoint(3, 3)), QColor(0, 0, 0, 70))
        painter.drawPixmap(at, top)
        painter.end()
        path = self.shooter.outdir / f"bo-{name}.png"
        canvas.save(str(path))
        self.shooter.saved.append(path)

    def run_all(self) -> None:
        steps = (self.approvals, self.accounting, self.invoices, self.billing, self.dashboard, self.definitions,
                 self.routing, self.users, self.settings)
        for step in steps:
            try:
                step()
            except Exception:
                log.exception("back-office screenshot step %s failed", step.__name__)
        from PySide6.QtCore import QCoreApplication, QEvent

        for window in self.windows.values():
            window.close()
            window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        for context in self.contexts.values():
            context.runner.wait_for_done(20_000)
            self.shooter.settle(0.2)  # deliver the last results before the runner goes
            context.runner.deleteLater()
            context.db.dispose()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    # -- manager ---------------------------------------------------------------------------------------

    def approvals(self) -> None:
        from agentdesk.gui.backoffice import common
        from agentdesk.gui.backoffice.approvals_page import ApprovalsPage

        page = self.page(MANAGER, ApprovalsPage)
        others = [i for i, p in enumerate(page.model.rows()) if p.provided_by != MANAGER]
        if others:
            page.table.selectRow(others[0])
        self.shoot(page.window(), "01-approvals")
        if len(others) >= 3:
            flags = page.table.selectionModel().SelectionFlag
            for row in others[:3]:
                page.table.selectionModel().select(page.model.index(row, 0), flags.Select | flags.Rows)
            self.shoot(page.window(), "02-approvals-several-selected")
        own = next((i for i, p in enumerate(page.model.rows()) if p.provided_by == MANAGER), None)
        if own is not None:
            page.table.clearSelection()
            page.table.selectRow(own)
            page.approve_selected()
            self.shooter.wait(lambda: page.banner.kind == "error" and not page.banner.isHidden(), timeout=30,
                              what="the four-eyes refusal")
            self.idle(page)
            page.table.selectRow(next(i for i, p in enumerate(page.model.rows()) if p.provided_by == MANAGER))
            self.shoot(page.window(), "03-approvals-four-eyes-refused")
        chosen = page.selected()
        what = (f"discount {chosen[0].definition_code} for {chosen[0].customer_name}" if chosen
                else "this discount")
        dialog = common.ReasonDialog("Cancel discount", f"Why are you cancelling {what}? The agent sees the "
                                     "reason on the ticket.", page, action="Cancel discount")
        dialog.show()
        self.shoot_over(page.window(), dialog, "04-approvals-cancel-reason-empty")
        dialog.edit.setPlainText("The complaint was already settled with a goodwill credit last month.")
        self.shoot_over(page.window(), dialog, "05-approvals-cancel-reason")
        dialog.close()
        self.done(page)

    def dashboard(self) -> None:
        from agentdesk.gui.backoffice.dashboard_page import DashboardPage

        page = self.page(MANAGER, DashboardPage)
        self.shooter.wait(lambda: page.data is not None, timeout=60, what="the dashboard")
        page.tabs.setFocus()
        names = ("10-dashboard-saved-vs-cancelled", "11-dashboard-offers", "12-dashboard-discount-cost",
                 "13-dashboard-lost-saves", "14-dashboard-agents")
        for index, name in enumerate(names):
            page.tabs.setCurrentIndex(index)
            self.shoot(page.window(), name)
        self.done(page)

    def definitions(self) -> None:
        from PySide6.QtCore import QDate

        from agentdesk.gui.backoffice.definitions_page import DefinitionsPage

        page = self.page(MANAGER, DefinitionsPage)
        used = next((i for i, d in enumerate(page.model.rows()) if d.in_use), 0)
        page.table.selectRow(used)
        self.shoot(page.window(), "15-definitions-used-versioned")
        page.new_definition()
        page.inputs["code"].setText("RET-WINTER")
        page.inputs["name"].setText("Winter loyalty offer")
        page.inputs["percentage"].setText("120")
        page.inputs["effective_date"].setDate(QDate(self.today.year, 12, 1))
        page.inputs["expiration_date"].setDate(QDate(self.today.year, 11, 1))
        page.inputs["max_applications"].setText("0")
        self.shoot(page.window(), "16-definitions-validation")
        self.done(page)

    def routing(self) -> None:
        from agentdesk.gui.backoffice.routing_page import RoutingPage

        page = self.page(MANAGER, RoutingPage)
        page.table.selectRow(2)
        self.shoot(page.window(), "17-routing-rules")
        self.done(page)

    # -- accounting ------------------------------------------------------------------------------------

    def accounting(self) -> None:
        from agentdesk.gui.backoffice.accounting_page import AccountingPage

        page = self.page(ACCOUNTING, AccountingPage)
        if page.tickets.rowCount():
            page.table.selectRow(0)
            self.shooter.wait(lambda: page.records.rowCount() > 0 or "send the ticket back" in
                              page.records_note.text(), timeout=30, what="the billing records")
            self.idle(page)
        self.shoot(page.window(), "06-accounting-queue")
        self.done(page)

    def invoices(self) -> None:
        from agentdesk.gui.backoffice.invoices_page import InvoicesPage, PaymentDialog

        page = self.page(ACCOUNTING, InvoicesPage)
        self.shooter.wait(lambda: page.model.rowCount() > 0, timeout=30, what="the invoices")
        discounted = next((i for i, r in enumerate(page.model.rows())
                           if r.discount_total > 0 and r.balance > 0), 0)
        page.table.selectRow(discounted)
        self.shooter.wait(lambda: page.pdf.document is not None, timeout=60, what="the invoice PDF")
        self.shoot(page.window(), "07-invoices-pdf")
        invoice = page.model.row(discounted)
        dialog = PaymentDialog(invoice, page)
        dialog.amount.setText(f"{invoice.balance + Decimal('10.00'):.2f}")
        dialog.show()
        self.shoot_over(page.window(), dialog, "08-invoices-payment-over-balance")
        dialog.amount.setText(f"{invoice.balance:.2f}")
        dialog.reference.setText("TRF-2291-88")
        self.shoot_over(page.window(), dialog, "09-invoices-payment")
        dialog.close()
        self.done(page)

    def billing(self) -> None:
        from PySide6.QtWidgets import QProgressDialog

        from agentdesk.gui.backoffice.billing_page import BillingRunsPage

        page = self.page(ACCOUNTING, BillingRunsPage)
        page.period.setCurrentIndex(page.period.findData(_month(self.today, 0)))
        page.start(preview=True)
        self.shooter.wait(lambda: page.last_summary is not None, timeout=120, what="the preview")
        self.idle(page)
        self.shoot(page.window(), "18-billing-preview")
        hold = threading.Event()
        page.batch_size = 40
        with paused_run(hold):
            page.last_summary = None
            page.start(preview=False)
            self.shooter.wait(lambda: page.progress is not None and page.progress.value() > 0, timeout=60,
                              what="the first batch")
            dialog = page.progress
            assert isinstance(dialog, QProgressDialog)
            self.shooter.settle(0.5)
            self.shoot_over(page.window(), dialog, "19-billing-progress")
            page._cancel()  # as the Cancel button does
            hold.set()
            self.shooter.wait(lambda: page.last_summary is not None, timeout=120, what="the stopped run")
        self.idle(page)
        self.shoot(page.window(), "20-billing-stopped")
        page.last_summary = None
        page.start(preview=False)
        self.shooter.wait(lambda: page.last_summary is not None, timeout=180, what="the resumed run")
        self.idle(page)
        self.shoot(page.window(), "21-billing-completed")
        self.done(page)

    # -- administrator ---------------------------------------------------------------------------------

    def users(self) -> None:
        from agentdesk.gui.backoffice.users_page import UsersPage

        page = self.page(ADMIN, UsersPage)
        page.user_table.selectRow(0)
        page.name.setText("Maria.K")
        page.display_name.setText("Maria Kyriakou")
        page.role.setCurrentIndex(page.role.findData("csr"))
        page.password.setText("secret")
        self.shoot(page.window(), "22-users-new-user-checks")
        page.tabs.setCurrentIndex(1)
        self.shoot(page.window(), "23-units")
        self.done(page)

    def settings(self) -> None:
        from agentdesk.gui.backoffice.settings_page import SettingsPage

        page = self.page(ADMIN, SettingsPage)
        self.shooter.wait(lambda: page.loaded is not None, timeout=30, what="the settings")
        self.shoot(page.window(), "24-company-settings")
        page.edits["iban"].setText("CY18 0020 0128 0000 0012 0052 7600")
        page.edits["smtp_host"].setText("mail.zx-telecom.example")
        page.edits["smtp_port"].setText("")
        page.tax_spins["TV-SPORTS"].setValue(9.0)
        self.shoot(page.window(), "25-company-settings-checks")
        self.done(page)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m agentdesk.gui.backoffice.shots OUTDIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    saved = render_all(Path(args[0]))
    print(f"{len(saved)} back-office screenshots in {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

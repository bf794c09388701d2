"""Render every screen of the desktop to PNG files, offscreen, from demo data.

    python -m agentdesk.gui.screenshots OUTDIR

A throw-away embedded PostgreSQL is started in a temporary folder, migrated and filled with the small demo
set (the demo users sign in with agentdesk.demo.data.DEMO_PASSWORD). Then the real widgets are driven as
an agent would: the sign-in dialog (empty, and refusing a wrong password), the main window on a queue,
the ticket editor, each page of the offer wizard, a save conflict, and the main window of a manager. The
back office adds its own screens through ``agentdesk.gui.backoffice.screenshots(outdir, context=...)``
when that module exists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SIZE = (1280, 800)


@dataclasses.dataclass
class DemoEnvironment:
    settings: Any  # Settings pointing at the demo database (no user in the URL)
    installer: Any  # Database
    password: str

    def connect(self, user: str) -> Any:
        from agentdesk import bootstrap

        return bootstrap.connect(self.settings, user, self.password)


@contextlib.contextmanager
def demo_environment(root: Path | None = None) -> Iterator[DemoEnvironment]:
    """A temporary embedded server with the schema and the small demo set; removed afterwards."""
    from agentdesk import bootstrap, embedded
    from agentdesk.config import DATABASE_NAME, Settings
    from agentdesk.db import migrate
    from agentdesk.demo import data as demo_data

    root = root or Path(tempfile.mkdtemp(prefix="agentdesk-shots-"))
    server = embedded.start(root / "postgres", unsafe_fast=True, delete_on_exit=True)
    installer = None
    try:
        admin = server.admin_url(DATABASE_NAME)
        migrate.upgrade(admin)
        installer = bootstrap.connect_url(admin)
        demo_data.load_small_demo(installer)
        url = server.url(None, None, DATABASE_NAME)  # type: ignore[arg-type]
        settings = Settings(database_url=url, source="screenshots", data_dir=root, outbox_dir=root / "outbox")
        yield DemoEnvironment(settings, installer, demo_data.DEMO_PASSWORD)
    finally:
        if installer is not None:
            installer.dispose()
        server.release()


class Shooter:
    """Saves widget grabs as numbered PNGs and pumps the event loop until a condition holds."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.saved: list[Path] = []
        outdir.mkdir(parents=True, exist_ok=True)

    def wait(self, condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
        from PySide6.QtCore import QCoreApplication, QEventLoop

        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"screenshots: timed out waiting for {what or 'the screen'}")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)

    def settle(self, seconds: float = 0.3) -> None:
        from PySide6.QtCore import QCoreApplication

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.01)

    def shoot(self, widget: Any, name: str) -> Path:
        self.settle()
        path = self.outdir / f"{name}.png"
        widget.grab().save(str(path))
        self.saved.append(path)
        log.info("saved %s", path)
        return path


def shoot_sign_in(shooter: Shooter, env: DemoEnvironment, runner: Any) -> None:
    from agentdesk.gui.signin import SignInDialog

    embedded_settings = dataclasses.replace(env.settings, database_url=None, source="embedded")
    dialog = SignInDialog(embedded_settings, runner, user="anna.csr", auto_prepare=False)
    dialog.show()
    shooter.shoot(dialog, "01-sign-in")
    dialog.close()
    # A wrong password against the demo server: the refusal is one line inside the dialog.
    dialog = SignInDialog(env.settings, runner, user="anna.csr", auto_prepare=False)
    dialog.show()
    dialog.password_edit.setText("not-the-password")
    dialog.sign_in_button.click()
    shooter.wait(lambda: bool(dialog.banner.text), what="the sign-in refusal")
    shooter.shoot(dialog, "02-sign-in-wrong-password")
    dialog.close()


def _context(env: DemoEnvironment, user: str, runner: Any) -> Any:
    from agentdesk.gui.adapters import signed_in_user
    from agentdesk.gui.context import AppContext, ChangeHub

    db = env.connect(user)
    return AppContext(settings=env.settings, db=db, user=signed_in_user(db), runner=runner, changes=ChangeHub(),
                      server_label="the demo database")


def shoot_agent(shooter: Shooter, env: DemoEnvironment, runner: Any) -> None:
    from PySide6.QtWidgets import QWizard

    from agentdesk.gui.mainwindow import MainWindow
    from agentdesk.services import intake

    context = _context(env, "anna.csr", runner)
    window = MainWindow(context, live=False)
    window.resize(*SIZE)
    window.show()
    shooter.wait(lambda: window.queue_page("retention") is not None, what="the queue pages")
    queue = window.queue_page("retention")
    assert queue is not None
    window.show_page(queue)
    shooter.wait(lambda: queue.model.rowCount() > 0 and not queue.model.loading, what="the queue")
    shooter.shoot(window, "03-main-window-queue")

    queue.due_combo.setCurrentIndex(1)  # overdue only: the marks and the filter bar at work
    shooter.wait(lambda: not queue.model.loading, what="the filtered queue")
    shooter.shoot(window, "04-queue-filtered-overdue")
    queue.clear_filters()
    shooter.wait(lambda: not queue.model.loading, what="the queue")

    # Open a subscription's cancellation call from the queue (Enter) and take it, as the agent would. Pick one
    # where an agent-chosen amount can be offered, so the wizard's live amount check can be shown too.
    from agentdesk.services import eligibility

    rows = [queue.model.row_at(r) for r in range(queue.model.rowCount())]
    calls = [r for r in rows if r is not None and r.service_kind == "subscription"] or [r for r in rows if r]

    def has_range(ticket_id: int) -> bool:
        found = eligibility.eligibility_for_ticket(context.db, ticket_id)
        return any(x.eligible and x.value_kind == "amount_range" for x in found)

    call = next((r for r in calls[:40] if has_range(r.id)), calls[0])
    window.open_ticket(call.id)
    editor = window.editor(call.id)
    assert editor is not None
    shooter.wait(lambda: editor.data is not None, what="the ticket")
    editor.take()
    shooter.wait(lambda: editor.ticket is not None and editor.ticket.state == "in_progress"
                 and not editor._loading, what="the taken ticket")
    shooter.shoot(window, "05-ticket-editor-taken")
    t = editor.ticket
    assert t is not None
    intake.verify_caller(context.db, t.id, t.version, "security_question")
    editor.reload()
    shooter.wait(lambda: editor.ticket is not None and editor.ticket.verified and not editor._loading,
                 what="the verified ticket")
    editor.reason_edit.setPlainText("Moving in with a partner who already has fibre; asks what we can do.")
    shooter.wait(lambda: editor.dirty, what="the edit")
    shooter.shoot(window, "06-ticket-editor-verified")

    editor.make_offer()
    wizard = editor.wizard
    shooter.wait(lambda: wizard.suggestions is not None, what="eligibility")
    wizard.resize(860, 680)
    shooter.shoot(wizard, "07-wizard-1-eligibility")
    wizard.next()
    shooter.wait(lambda: wizard.currentId() == 1, what="the offer page")
    shooter.shoot(wizard, "08-wizard-2-offer")
    page = wizard.offer_page
    ranged = next((r for r in range(page.offers.count())
                   if page.offers.item(r).data(256).value_kind == "amount_range"), None)
    if ranged is not None:
        page.offers.setCurrentRow(ranged)
        page.amount.setText("999")
        shooter.shoot(wizard, "09-wizard-2-amount-out-of-range")
        page.offers.setCurrentRow(0)
    wizard.next()
    shooter.wait(lambda: wizard.currentId() == 2, what="the notify page")
    shooter.shoot(wizard, "10-wizard-3-notify")
    wizard.next()
    shooter.wait(lambda: wizard.currentId() == 3, what="the answer page")
    shooter.shoot(wizard, "11-wizard-4-answer")
    wizard.answer_page.declined.setChecked(True)
    wizard.answer_page.reason.setText("Too little; the competitor gives three months free")
    shooter.shoot(wizard, "12-wizard-4-declined")
    wizard.answer_page.accepted.setChecked(True)
    wizard.next()
    shooter.wait(lambda: wizard.currentId() == 4, what="the confirm page")
    shooter.shoot(wizard, "13-wizard-5-confirm")
    wizard.button(QWizard.WizardButton.FinishButton).click()
    shooter.wait(lambda: editor.wizard is None, timeout=30, what="the wizard to finish")
    shooter.wait(lambda: not editor._loading and editor.ticket is not None
                 and editor.ticket.state in ("accounting", "pending_approval"), what="the saved offer")
    shooter.shoot(window, "14-ticket-after-offer")

    # A conflict: another agent saves while this one edits.
    show_conflict(shooter, env, window, context)
    window.close()


def show_conflict(shooter: Shooter, env: DemoEnvironment, window: Any, context: Any) -> None:
    from agentdesk.services import queues, tickets

    queue = window.queue_page("mine")
    window.show_page(queue)
    t = queues.take_next(context.db)
    if t is None:
        return
    window.open_ticket(t.id)
    editor = window.editor(t.id)
    assert editor is not None
    shooter.wait(lambda: editor.data is not None, what="the second ticket")
    manager = env.connect("mark.manager")
    try:
        tickets.update_ticket(manager, t.id, t.version, {"call_type": "price", "priority": 2})
    finally:
        manager.dispose()
    editor.reason_edit.setPlainText("Customer says the price went up twice this year.")
    editor.save()
    shooter.wait(lambda: editor.banner.kind == "error" and "What changed" in editor.banner.text, timeout=20,
                 what="the conflict")
    shooter.shoot(window, "15-ticket-save-conflict")


def shoot_manager(shooter: Shooter, env: DemoEnvironment, runner: Any) -> None:
    from agentdesk.gui.mainwindow import MainWindow

    context = _context(env, "mark.manager", runner)
    window = MainWindow(context, live=False)
    window.resize(*SIZE)
    window.show()
    shooter.wait(lambda: window.queue_page("retention") is not None, what="the manager's queues")
    page = window.queue_page("retention")
    assert page is not None
    window.show_page(page)
    shooter.wait(lambda: not page.model.loading, what="the queue")
    shooter.shoot(window, "16-main-window-manager")
    window.close()


def run(outdir: Path) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from agentdesk.gui.app import create_application
    from agentdesk.gui.tasks import TaskRunner

    app = create_application()
    shooter = Shooter(outdir)
    runner = TaskRunner(app)
    with demo_environment() as env:
        shoot_sign_in(shooter, env, runner)
        shoot_agent(shooter, env, runner)
        shoot_manager(shooter, env, runner)
        runner.wait_for_done(10_000)
        try:
            import agentdesk.gui.backoffice as backoffice
        except ImportError:
            backoffice = None  # type: ignore[assignment]
        hook = getattr(backoffice, "screenshots", None)
        if hook is not None:
            try:
                shooter.saved += list(hook(outdir, env=env, runner=runner) or [])
            except Exception:
                log.exception("the back-office screenshots failed")
    return shooter.saved


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m agentdesk.gui.screenshots OUTDIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    saved = run(Path(args[0]))
    print(f"{len(saved)} screenshots in {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

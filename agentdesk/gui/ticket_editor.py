"""The ticket editor: the customer panel, the ticket's fields and notes, the timeline, and only the actions
valid in the ticket's state.

Loading reads the ticket (services.tickets.get_ticket), the agent's draft (services.drafts), the offers and
discounts on it, and the eligibility summary for the discount caps, in one background task.

Editing never waits on the database: every change marks the form dirty and a debounced task keeps it as
a draft on the server (services.drafts.save_draft), so a crash or a lost connection costs nothing. Save
(Ctrl+S) calls services.tickets.update_ticket with the version the agent started from; if someone saved in
between, the ConflictError's "changed by X at T" appears with what changed, and the agent chooses
"Reload and re-apply my edits" or "Discard my edits".

Actions and their keys (active while the focus is in the editor):
    Ctrl+T take this ticket (queued) · Ctrl+Shift+V verify the caller · Ctrl+O make an offer (wizard) ·
    Ctrl+Shift+A record the customer's answer · Ctrl+Shift+C confirm to accounting · Ctrl+Shift+R release ·
    Ctrl+Shift+X proceed with the cancellation · Ctrl+S save · Ctrl+Return add the note.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.errors import ConflictError
from agentdesk.gui import formatting as fmt
from agentdesk.gui.dialogs import EndDateDialog, VerifyDialog
from agentdesk.gui.pages import Page
from agentdesk.gui.resources import icon
from agentdesk.gui.tasks import error_line
from agentdesk.gui.widgets import Banner
from agentdesk.services.dto import TicketDetail, TicketSummary

if TYPE_CHECKING:
    from agentdesk.gui.context import AppContext

log = logging.getLogger(__name__)

SECTION_OPEN = "Open tickets"
DRAFT_DELAY_MS = 1500
OPEN_OFFER_STATES = ("proposed", "sent")
FIELD_NAMES = ("channel", "call_type", "priority", "requested_end_date", "reason")


@dataclass(frozen=True)
class EditorData:
    """Everything the editor shows, read in one background task."""

    detail: TicketDetail
    draft: Any  # DraftView | None
    offers: tuple[Any, ...]  # OfferInfo
    discounts: tuple[Any, ...]  # DiscountInfo
    caps: tuple[tuple[str, str, str], ...]  # (code, name, "1 of 2 discounts used in the last 12 months")

    @property
    def open_offer(self) -> Any | None:
        return next((o for o in reversed(self.offers) if o.state in OPEN_OFFER_STATES), None)

    @property
    def confirmable(self) -> bool:
        """An approved discount the agent has not confirmed to accounting yet."""
        return self.detail.ticket.state == "in_progress" and any(d.state == "approved" for d in self.discounts) \
            and not any(d.state == "pending_approval" for d in self.discounts)


def load_editor_data(db: Any, ticket_id: int) -> EditorData:
    """Runs on a worker thread: the ticket and what goes with it (service calls only)."""
    from agentdesk.services import approvals, drafts, eligibility, offers, tickets

    detail = tickets.get_ticket(db, ticket_id)
    draft = drafts.load_draft(db, ticket_id)
    offer_list = tuple(offers.list_offers(db, ticket_id))
    discounts = tuple(approvals.discounts_for_ticket(db, ticket_id))
    caps: list[tuple[str, str, str]] = []
    if detail.ticket.state != "closed":
        try:
            for s in eligibility.eligibility_for_ticket(db, ticket_id):
                for reason in s.reasons:
                    if "discounts used" in reason or "discounts already used" in reason:
                        caps.append((s.code, s.name, reason.split(": ", 1)[-1]))
        except Exception:  # the caps are a courtesy; a refusal here must not stop the editor
            log.warning("could not read discount caps for ticket %s", ticket_id, exc_info=True)
    return EditorData(detail, draft, offer_list, discounts, tuple(caps))


def _date_to_q(value: dt.date) -> QDate:
    return QDate(value.year, value.month, value.day)


def _q_to_date(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


class TicketEditorPage(Page):
    """One open ticket. Signals: sig_closed() when the agent closes it (Ctrl+W)."""

    sig_closed = Signal()

    def __init__(self, context: AppContext, ticket_id: int, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.ticket_id = ticket_id
        self.title = "Ticket…"
        self.icon_name = "ticket"
        self.section = SECTION_OPEN
        self.setObjectName(f"ticketEditor_{ticket_id}")
        self.data: EditorData | None = None
        self._base: dict[str, Any] = {}  # field values as loaded from the server
        self._dirty = False
        self._filling = False
        self._draft_version: int | None = None
        self._draft_saving = False
        self._draft_again = False
        self._loading = False
        self._saving = False
        self.wizard: Any = None
        self.dialog: QDialog | None = None
        self._build()
        self.context.changes.sig_row_changed.connect(self.on_row_changed)
        self.context.changes.sig_connection_changed.connect(self._on_connection)
        self.reload()

    # -- layout --------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = QLabel("Loading the ticket…")
        self.heading.setObjectName("ticketHeading")
        self.heading.setProperty("role", "heading")
        self.state_badge = QLabel()
        self.state_badge.setObjectName("stateBadge")
        self.due_icon = QLabel()
        self.meta_label = QLabel()
        self.meta_label.setProperty("role", "hint")
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addWidget(self.state_badge)
        top.addStretch(1)
        top.addWidget(self.due_icon)
        top.addWidget(self.meta_label)

        self.banner = Banner()
        self.state_info = Banner()

        self.actions_bar = QHBoxLayout()
        self.actions_bar.setSpacing(6)
        self.buttons: dict[str, QPushButton] = {}
        specs: list[tuple[str, str, str, str, Callable[[], None]]] = [
            ("take", "Take this ticket", "Ctrl+T", "take-next", self.take),
            ("verify", "Verify caller…", "Ctrl+Shift+V", "verify", self.verify_caller),
            ("offer", "Make offer…", "Ctrl+O", "offer", self.make_offer),
            ("answer", "Record answer…", "Ctrl+Shift+A", "mail", self.record_answer),
            ("confirm", "Confirm to accounting", "Ctrl+Shift+C", "accounting", self.confirm_to_accounting),
            ("release", "Release", "Ctrl+Shift+R", "release", self.release),
            ("cancel", "Proceed with cancellation…", "Ctrl+Shift+X", "cancel-service", self.proceed_with_cancellation),
            ("save", "Save", "Ctrl+S", "save", self.save),
        ]
        self._shortcuts: list[tuple[str, str]] = []
        for key, text, keys, icon_name, slot in specs:
            button = QPushButton(icon(icon_name), text)
            button.setObjectName(f"action_{key}")
            button.setToolTip(f"{text.rstrip('…')} ({keys})")
            button.clicked.connect(slot)
            button.setAutoDefault(True)  # Enter on a focused action button runs it
            button.setVisible(False)
            self.buttons[key] = button
            self.actions_bar.addWidget(button)
            shortcut = QShortcut(QKeySequence(keys), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda b=button: b.click() if b.isVisible() and b.isEnabled() else None)
            self._shortcuts.append((text.rstrip("…"), keys))
        self.actions_bar.addStretch(1)

        # left: the customer
        self.customer_view = QTextBrowser()
        self.customer_view.setObjectName("customerPanel")
        self.customer_view.setOpenLinks(False)
        self.customer_view.setMinimumWidth(340)

        # right: the ticket's fields and notes, and the timeline
        self.channel_combo = QComboBox()
        self.channel_combo.setObjectName("channelField")
        for key, label in fmt.CHANNEL_LABELS.items():
            self.channel_combo.addItem(label, key)
        self.call_type_combo = QComboBox()
        self.call_type_combo.setObjectName("callTypeField")
        for key, label in fmt.CALL_TYPE_LABELS.items():
            self.call_type_combo.addItem(label, key)
        self.priority_spin = QSpinBox()
        self.priority_spin.setObjectName("priorityField")
        self.priority_spin.setRange(1, 5)
        self.priority_spin.setToolTip("1 is the most urgent")
        self.end_date_check = QCheckBox("Customer asked to end on")
        self.end_date_edit = QDateEdit()
        self.end_date_edit.setObjectName("endDateField")
        self.end_date_edit.setCalendarPopup(True)
        self.end_date_edit.setDisplayFormat("dd/MM/yyyy")
        self.end_date_check.toggled.connect(self.end_date_edit.setEnabled)
        end_row = QHBoxLayout()
        end_row.addWidget(self.end_date_check)
        end_row.addWidget(self.end_date_edit)
        end_row.addStretch(1)
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setObjectName("reasonField")
        self.reason_edit.setPlaceholderText("Why does the customer want to leave? (their words)")
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setMaximumHeight(90)
        form = QFormLayout()
        form.addRow("C&hannel:", self.channel_combo)
        form.addRow("Call &type:", self.call_type_combo)
        form.addRow("&Priority:", self.priority_spin)
        form.addRow("End date:", end_row)
        form.addRow("&Reason:", self.reason_edit)
        for widget in (self.channel_combo, self.call_type_combo):
            widget.currentIndexChanged.connect(self._on_edited)
        self.priority_spin.valueChanged.connect(self._on_edited)
        self.end_date_check.toggled.connect(self._on_edited)
        self.end_date_edit.dateChanged.connect(self._on_edited)
        self.reason_edit.textChanged.connect(self._on_edited)

        self.notes_view = QTextBrowser()
        self.notes_view.setObjectName("notesView")
        self.notes_view.setMaximumHeight(150)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setObjectName("noteEdit")
        self.note_edit.setPlaceholderText("Add a note for the timeline (Ctrl+Return adds it)")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setMaximumHeight(60)
        self.note_edit.textChanged.connect(self._on_edited)
        self.add_note_button = QPushButton("Add note")
        self.add_note_button.setToolTip("Add the note to the ticket (Ctrl+Return)")
        self.add_note_button.clicked.connect(self.add_note)
        QShortcut(QKeySequence("Ctrl+Return"), self.note_edit, self.add_note,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self._shortcuts.append(("Add the note", "Ctrl+Return"))
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_edit, 1)
        note_row.addWidget(self.add_note_button, 0, Qt.AlignmentFlag.AlignBottom)

        fields_tab = QWidget()
        fields_layout = QVBoxLayout(fields_tab)
        fields_layout.addLayout(form)
        notes_heading = QLabel("Notes")
        notes_heading.setProperty("role", "subheading")
        fields_layout.addWidget(notes_heading)
        fields_layout.addWidget(self.notes_view)
        fields_layout.addLayout(note_row)
        fields_layout.addStretch(1)

        self.timeline = QTreeWidget()
        self.timeline.setObjectName("timeline")
        self.timeline.setHeaderLabels(["When", "Who", "What"])
        self.timeline.setRootIsDecorated(False)
        self.timeline.setUniformRowHeights(False)
        self.timeline.setWordWrap(True)
        self.timeline.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.timeline.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.timeline.header().setStretchLastSection(True)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("ticketTabs")
        self.tabs.addTab(fields_tab, icon("ticket"), "&Ticket")
        self.tabs.addTab(self.timeline, icon("timeline"), "Time&line")

        splitter = QSplitter()
        splitter.addWidget(self.customer_view)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)

        self.draft_label = QLabel()
        self.draft_label.setObjectName("draftLabel")
        self.draft_label.setProperty("role", "hint")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.state_info)
        layout.addLayout(self.actions_bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.draft_label)

        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self._set_editable(False)

    def shortcut_list(self) -> list[tuple[str, str]]:
        return [(f"Ticket: {text}", keys) for text, keys in self._shortcuts]

    # -- loading -------------------------------------------------------------------------------------------

    @property
    def detail(self) -> TicketDetail | None:
        return self.data.detail if self.data is not None else None

    @property
    def ticket(self) -> TicketSummary | None:
        return self.data.detail.ticket if self.data is not None else None

    @property
    def dirty(self) -> bool:
        return self._dirty

    def refresh(self) -> None:
        """Ctrl+R: reload. Typed edits are kept (re-applied on top of what the server has now)."""
        self.reload(keep_edits=True)

    def reload(self, *, keep_edits: bool = False, then: Callable[[], None] | None = None) -> None:
        if self._loading:
            return
        self._loading = True
        mine = self.changes() if keep_edits and self._dirty else None  # only what I changed
        db, ticket_id = self.context.db, self.ticket_id

        def done(result: object) -> None:
            self._loading = False
            assert isinstance(result, EditorData)
            self._show(result, keep=mine)
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            self._loading = False
            self.banner.show_error(error_line(exc, "load the ticket"), [("Try again", self.reload)])

        self.context.runner.submit(lambda: load_editor_data(db, ticket_id), on_done=done, on_error=failed,
                                   owner=self, describe="load the ticket")

    def _show(self, data: EditorData, *, keep: dict[str, Any] | None = None) -> None:
        previous = self.data
        self.data = data
        detail = data.detail
        t = detail.ticket
        self.title = t.number
        self.heading.setText(f"{html.escape(t.number)}  ·  {html.escape(t.customer_name)}")
        self.state_badge.setText(t.state_label)
        now = dt.datetime.now(dt.UTC)
        status = "overdue" if t.is_overdue(now) else ""
        self.due_icon.setPixmap(icon("overdue").pixmap(16, 16) if status else icon("ticket").pixmap(0, 0))
        who = f"with {t.assigned_to}" if t.assigned_to else "in the queue"
        verified = " · caller verified ✓" if t.verified else ""
        self.meta_label.setText(f"{t.queue_unit_name} · {who}{verified} · {fmt.due_text(t.due_at, now)}")
        self.customer_view.setHtml(customer_html(detail, data))
        self._fill_notes(detail)
        self._fill_timeline(detail)
        self._base = self._values_from(detail)
        draft_values = None
        if keep is None and data.draft is not None and previous is None:
            payload = data.draft.payload or {}
            draft_values = self._values_from_payload(payload.get("fields", {}))
            self._draft_version = data.draft.version
            note = payload.get("note", "")
            if draft_values != self._base or note:
                self._fill(draft_values or self._base, note=note)
                self._dirty = True
                self.banner.show_message(
                    "info", f"Your unsaved edits from {fmt.local_time(data.draft.updated_at)} are back.",
                    [("Discard them", self.discard_edits)])
            else:
                self._fill(self._base)
        elif keep is not None:
            values = {**self._base, **keep}  # their changes, with mine on top
            self._fill(values)
            self._dirty = values != self._base or bool(self.note_edit.toPlainText().strip())
        else:
            self._fill(self._base)
            self._dirty = False
        if data.draft is not None:
            self._draft_version = data.draft.version
        self._update_actions()
        self._update_draft_label()
        self.sig_title_changed.emit(t.number)
        self._keep_focus_useful()

    def _fill_notes(self, detail: TicketDetail) -> None:
        if not detail.notes:
            self.notes_view.setHtml("<p style='color:gray'>No notes yet.</p>")
            return
        parts = [
            f"<p><b>{html.escape(n.author)}</b> <span style='color:gray'>{fmt.local_time(n.created_at)}</span><br>"
            f"{html.escape(n.body).replace(chr(10), '<br>')}</p>"
            for n in detail.notes
        ]
        self.notes_view.setHtml("".join(parts))

    def _fill_timeline(self, detail: TicketDetail) -> None:
        self.timeline.clear()
        for event in detail.timeline:
            item = QTreeWidgetItem([fmt.local_time(event.at), event.actor, f"{event.kind}: {event.summary}"])
            item.setToolTip(2, event.summary)
            self.timeline.addTopLevelItem(item)
        last = self.timeline.topLevelItem(self.timeline.topLevelItemCount() - 1)
        if last is not None:
            self.timeline.scrollToItem(last)

    # -- fields --------------------------------------------------------------------------------------------

    @staticmethod
    def _values_from(detail: TicketDetail) -> dict[str, Any]:
        t = detail.ticket
        return {"channel": t.channel, "call_type": t.call_type, "priority": t.priority,
                "requested_end_date": detail.requested_end_date, "reason": detail.reason or ""}

    def _values_from_payload(self, fields: dict[str, Any]) -> dict[str, Any]:
        values = dict(self._base)
        for name in FIELD_NAMES:
            if name in fields:
                value = fields[name]
                if name == "requested_end_date" and value:
                    value = dt.date.fromisoformat(value)
                values[name] = value
        return values

    def field_values(self) -> dict[str, Any]:
        return {
            "channel": self.channel_combo.currentData(),
            "call_type": self.call_type_combo.currentData(),
            "priority": self.priority_spin.value(),
            "requested_end_date": _q_to_date(self.end_date_edit.date()) if self.end_date_check.isChecked() else None,
            "reason": self.reason_edit.toPlainText().strip(),
        }

    def _fill(self, values: dict[str, Any], *, note: str | None = None) -> None:
        self._filling = True
        try:
            self.channel_combo.setCurrentIndex(max(0, self.channel_combo.findData(values["channel"])))
            self.call_type_combo.setCurrentIndex(max(0, self.call_type_combo.findData(values["call_type"])))
            self.priority_spin.setValue(int(values["priority"]))
            end = values.get("requested_end_date")
            self.end_date_check.setChecked(end is not None)
            self.end_date_edit.setDate(_date_to_q(end or dt.date.today()))
            self.end_date_edit.setEnabled(end is not None and self.end_date_check.isEnabled())
            if self.reason_edit.toPlainText().strip() != (values.get("reason") or ""):
                self.reason_edit.setPlainText(values.get("reason") or "")
            if note is not None:
                self.note_edit.setPlainText(note)
        finally:
            self._filling = False

    def changes(self) -> dict[str, Any]:
        """The fields the agent changed (compared with what was loaded)."""
        mine = self.field_values()
        return {k: v for k, v in mine.items() if self._base.get(k) != v}

    def _on_edited(self, *_args: Any) -> None:
        if self._filling or self.data is None:
            return
        self._dirty = bool(self.changes()) or bool(self.note_edit.toPlainText().strip())
        self._update_draft_label()
        self._draft_timer.start()

    def _set_editable(self, editable: bool) -> None:
        for widget in (self.channel_combo, self.call_type_combo, self.priority_spin, self.end_date_check,
                       self.reason_edit):
            widget.setEnabled(editable)
        self.end_date_edit.setEnabled(editable and self.end_date_check.isChecked())
        self.reason_edit.setReadOnly(not editable)

    # -- state and actions ---------------------------------------------------------------------------------

    def _mine(self) -> bool:
        t = self.ticket
        return t is not None and t.assigned_to == self.context.user.name

    def valid_actions(self) -> set[str]:
        """The actions valid in the ticket's state for the signed-in person."""
        t, data = self.ticket, self.data
        if t is None or data is None:
            return set()
        manager = self.context.user.role in ("manager", "admin")
        if t.state == "queued":
            return {"take"}
        mine = self._mine()
        actions: set[str] = set()
        if t.state == "in_progress" and (mine or manager):
            actions |= {"release", "cancel", "save"}
            if not t.verified:
                actions.add("verify")
            actions.add("offer")
            if data.confirmable:
                actions.add("confirm")
        elif t.state == "offer_pending" and (mine or manager):
            actions |= {"cancel", "save"}
            if data.open_offer is not None:
                actions.add("answer")
        elif t.state in ("pending_approval", "accounting") and (mine or manager):
            actions.add("save")
        return actions

    def _update_actions(self) -> None:
        actions = self.valid_actions()
        t = self.ticket
        for key, button in self.buttons.items():
            button.setVisible(key in actions)
            button.setEnabled(True)
        if "offer" in actions and t is not None and not t.verified:
            self.buttons["offer"].setEnabled(False)
            self.buttons["offer"].setToolTip("Verify the caller first (Ctrl+Shift+V), then make an offer (Ctrl+O)")
        else:
            self.buttons["offer"].setToolTip("Make offer: the discount wizard (Ctrl+O)")
        editable = "save" in actions
        self._set_editable(editable)
        self.note_edit.setEnabled(t is not None)
        self.add_note_button.setEnabled(t is not None)
        self.state_info.clear()
        if t is None:
            return
        if t.state == "queued":
            self.state_info.show_info("This ticket waits in the queue. Take it (Ctrl+T) to work on it.")
        elif t.state == "in_progress" and not (self._mine() or "save" in actions):
            self.state_info.show_info(f"{t.assigned_to} is working on this ticket; you can read it and add notes.")
        elif t.state == "in_progress" and not t.verified:
            self.state_info.show_info("Verify the caller (Ctrl+Shift+V) before making an offer.")
        elif t.state == "offer_pending":
            offer = self.data.open_offer if self.data else None
            ref = f" (reference {offer.acceptance_ref})" if offer is not None else ""
            self.state_info.show_info(f"An offer{ref} waits for the customer's answer: record it with Ctrl+Shift+A.")
        elif t.state == "pending_approval":
            self.state_info.show_info("The accepted discount waits for a manager's approval; the ticket comes back "
                                      "to you when it is decided.")
        elif t.state == "accounting":
            self.state_info.show_message("success", "Confirmed: the ticket is in the accounting queue.")
        elif t.state == "closed":
            self.state_info.show_info(f"Closed: {fmt.label(t.resolution)}.")
        elif t.state == "in_progress" and self.data is not None and self.data.confirmable:
            self.state_info.show_message("success", "The discount is approved: confirm it to accounting "
                                                    "(Ctrl+Shift+C).")

    def focus_first_action(self) -> None:
        for key in ("take", "verify", "offer", "answer", "confirm"):
            button = self.buttons[key]
            if button.isVisible() and button.isEnabled():
                button.setFocus()
                return
        self.reason_edit.setFocus()

    def activate(self) -> None:
        super().activate()
        QTimer.singleShot(0, self.focus_first_action)

    def _keep_focus_useful(self) -> None:
        """After a reload, put the focus on the next action unless the agent is typing in a field here."""
        if not self.isVisible() or self.wizard is not None or self.dialog is not None:
            return
        focus = QApplication.focusWidget()
        typing = isinstance(focus, QPlainTextEdit | QLineEdit | QComboBox | QSpinBox | QDateEdit)
        if focus is None or not self.isAncestorOf(focus) or not focus.isVisible() or not focus.isEnabled() \
                or not typing:
            self.focus_first_action()

    def _run(self, what: str, fn: Callable[[], Any], done: Callable[[Any], None] | None = None,
             *, conflict: bool = True) -> None:
        """Run one service call for an action; the result reloads the editor; refusals show in the banner."""
        self.banner.clear()
        self._busy(True)

        def ok(result: object) -> None:
            self._busy(False)
            if isinstance(result, TicketSummary):
                self.context.changes.announce("ticket", result.id)
            if done is not None:
                done(result)
            self.reload(keep_edits=True)

        def failed(exc: BaseException) -> None:
            self._busy(False)
            if conflict and isinstance(exc, ConflictError):
                self.show_conflict(exc)
            else:
                self.banner.show_error(error_line(exc, what))

        self.context.runner.submit(fn, on_done=ok, on_error=failed, owner=self, describe=what)

    def _busy(self, busy: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(not busy)
        if not busy:
            self._update_actions()

    def take(self) -> None:
        from agentdesk.services import queues

        db, ticket_id = self.context.db, self.ticket_id
        self._run("take the ticket", lambda: queues.claim(db, ticket_id),
                  lambda _r: QTimer.singleShot(0, self.focus_first_action))

    def verify_caller(self) -> None:
        """Ctrl+Shift+V: ask how the caller proved who they are (a window-modal dialog; Enter confirms)."""
        t = self.ticket
        if t is None or self.dialog is not None:
            return
        dialog = VerifyDialog(t.customer_name, self)
        self._open_dialog(dialog, lambda: self._verified(str(dialog.method.currentData())))

    def _verified(self, method: str) -> None:
        t = self.ticket
        if t is None:
            return
        from agentdesk.services import intake

        db, ticket_id, version = self.context.db, self.ticket_id, t.version
        self._run("verify the caller", lambda: intake.verify_caller(db, ticket_id, version, method),
                  lambda _r: self.context.show_message("Caller verified"))

    def _open_dialog(self, dialog: QDialog, on_accept: Callable[[], None]) -> None:
        """Show a dialog without blocking the event loop (live updates keep flowing meanwhile)."""
        self.dialog = dialog
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.accepted.connect(on_accept)

        def closed(_result: int) -> None:
            self.dialog = None
            dialog.deleteLater()
            self.window().activateWindow()  # the keyboard comes back to the ticket
            QTimer.singleShot(0, self.focus_first_action)

        dialog.finished.connect(closed)
        dialog.open()

    def make_offer(self) -> None:
        if self.data is None or self.ticket is None:
            return
        if not self.ticket.verified:
            self.banner.show_error("Verify the caller first (Ctrl+Shift+V): offers need a verified caller")
            return
        self._open_wizard(answer_only=False)

    def record_answer(self) -> None:
        if self.data is None or self.data.open_offer is None:
            return
        self._open_wizard(answer_only=True)

    def _open_wizard(self, *, answer_only: bool) -> None:
        from agentdesk.gui.offer_wizard import OfferWizard

        assert self.data is not None
        if self.wizard is not None:
            self.wizard.raise_()
            return
        self.wizard = OfferWizard(self.context, self.data, answer_only=answer_only, parent=self)
        self.wizard.sig_completed.connect(self._on_wizard_completed)
        self.wizard.finished.connect(self._on_wizard_closed)
        self.wizard.open()

    def _on_wizard_completed(self, message: str) -> None:
        self.context.show_message(message)
        self.context.changes.announce("ticket", self.ticket_id)
        self.reload(keep_edits=True)

    def _on_wizard_closed(self, _result: int) -> None:
        wizard, self.wizard = self.wizard, None
        if wizard is not None:
            wizard.deleteLater()
        if wizard is not None and wizard.touched_database:
            self.reload(keep_edits=True)
        self.window().activateWindow()
        QTimer.singleShot(0, self.focus_first_action)

    def confirm_to_accounting(self) -> None:
        t = self.ticket
        if t is None:
            return
        from agentdesk.services import approvals

        db, ticket_id, version = self.context.db, self.ticket_id, t.version
        self._run("confirm to accounting", lambda: approvals.confirm_assignment(db, ticket_id, version),
                  lambda _r: self.context.show_message(f"{t.number} sent to the accounting queue"))

    def release(self) -> None:
        t = self.ticket
        if t is None:
            return
        from agentdesk.services import queues

        db, ticket_id, version = self.context.db, self.ticket_id, t.version
        self._run("release the ticket", lambda: queues.release(db, ticket_id, version),
                  lambda _r: self.context.show_message(f"{t.number} is back in the queue"))

    def proceed_with_cancellation(self) -> None:
        """Ctrl+Shift+X: ask for the last day of service ("Go back" is the default answer), then cancel."""
        t, detail = self.ticket, self.detail
        if t is None or detail is None or self.dialog is not None:
            return
        dialog = EndDateDialog(
            f"The customer leaves: {detail.service.number} ({html.escape(detail.service.description)}) will be "
            "cancelled and the ticket closed. Open offers are withdrawn.", detail.requested_end_date, self)
        self._open_dialog(dialog, lambda: self._cancel_service(dialog.chosen()))

    def _cancel_service(self, end_date: dt.date | None) -> None:
        t = self.ticket
        if t is None:
            return
        from agentdesk.services import offers

        db, ticket_id, version = self.context.db, self.ticket_id, t.version

        def done(info: Any) -> None:
            when = f", last day {fmt.date(info.end_date)}" if getattr(info, "end_date", None) else ""
            self.context.show_message(f"{t.number}: service cancelled{when}; ticket closed")
            self.context.changes.announce("ticket", ticket_id)

        self._run("proceed with the cancellation",
                  lambda: offers.proceed_with_cancellation(db, ticket_id, version, end_date), done)

    # -- saving --------------------------------------------------------------------------------------------

    def save(self) -> None:
        t = self.ticket
        if t is None or self._saving:
            return
        changes = self.changes()
        note = self.note_edit.toPlainText().strip()
        if not changes and not note:
            self.context.show_message("Nothing to save")
            return
        self._saving = True
        from agentdesk.services import drafts, tickets

        db, ticket_id, version = self.context.db, self.ticket_id, t.version

        def work() -> object:
            summary = tickets.update_ticket(db, ticket_id, version, changes) if changes else None
            if note:
                tickets.add_note(db, ticket_id, note)
            drafts.discard_draft(db, ticket_id)
            return summary

        def done(_result: object) -> None:
            self._saving = False
            self._dirty = False
            self._draft_version = None
            self._draft_timer.stop()
            self._filling = True
            self.note_edit.clear()
            self._filling = False
            self.banner.clear()
            self.context.show_message(f"{t.number} saved")
            self.context.changes.announce("ticket", ticket_id)
            self.reload()

        def failed(exc: BaseException) -> None:
            self._saving = False
            if isinstance(exc, ConflictError):
                self.show_conflict(exc)
            else:
                self.banner.show_error(error_line(exc, "save the ticket") + ". Your edits are kept.")
                self._draft_timer.start()

        self.context.runner.submit(work, on_done=done, on_error=failed, owner=self, describe="save the ticket")

    def add_note(self) -> None:
        note = self.note_edit.toPlainText().strip()
        if not note or self.ticket is None:
            return
        from agentdesk.services import tickets

        db, ticket_id = self.context.db, self.ticket_id

        def done(_result: object) -> None:
            self._filling = True
            self.note_edit.clear()
            self._filling = False
            self._dirty = bool(self.changes())
            self._draft_timer.start()
            self.reload(keep_edits=True)

        self.context.runner.submit(lambda: tickets.add_note(db, ticket_id, note), on_done=done,
                                   on_error=lambda exc: self.banner.show_error(error_line(exc, "add the note")),
                                   owner=self, describe="add the note")

    def show_conflict(self, exc: ConflictError) -> None:
        """Someone saved first: say who and when, then what changed, and offer both ways forward."""
        self.banner.show_error(
            f"{exc}. Your edits are kept.",
            [("Reload and re-apply my edits", self.reload_and_reapply), ("Discard my edits", self.discard_edits)])
        before = self._base
        db, ticket_id = self.context.db, self.ticket_id

        def compare(result: object) -> None:
            assert isinstance(result, EditorData)
            theirs = self._values_from(result.detail)
            changed = [f"{name.replace('_', ' ')}: {_show(before.get(name))} → {_show(theirs[name])}"
                       for name in FIELD_NAMES if before.get(name) != theirs[name]]
            if result.detail.ticket.state != (self.ticket.state if self.ticket else None):
                changed.append(f"state: {result.detail.ticket.state_label}")
            if changed and self.banner.kind == "error":
                self.banner.label.setText(f"{exc}. What changed: {'; '.join(changed)}. Your edits are kept.")

        self.context.runner.submit(lambda: load_editor_data(db, ticket_id), on_done=compare,
                                   on_error=lambda _e: None, owner=self, describe="see what changed")

    def reload_and_reapply(self) -> None:
        self.banner.clear()
        self.reload(keep_edits=True, then=lambda: self.context.show_message(
            "Reloaded; your edits are applied on top. Check them and save (Ctrl+S)"))

    def discard_edits(self) -> None:
        self.banner.clear()
        self._dirty = False
        self._draft_timer.stop()
        self._filling = True
        self.note_edit.clear()
        self._filling = False
        from agentdesk.services import drafts

        db, ticket_id = self.context.db, self.ticket_id
        self._draft_version = None
        self.context.runner.submit(lambda: drafts.discard_draft(db, ticket_id), on_error=lambda _e: None,
                                   owner=self, describe="discard the draft")
        self.reload()

    # -- drafts --------------------------------------------------------------------------------------------

    def draft_payload(self) -> dict[str, Any]:
        fields = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.changes().items()}
        return {"fields": fields, "note": self.note_edit.toPlainText(),
                "base_version": self.ticket.version if self.ticket else None}

    def save_draft(self) -> None:
        """Keep the unsaved edits on the server (debounced; one save at a time)."""
        if self.data is None or not self._dirty:
            return
        if self._draft_saving:
            self._draft_again = True
            return
        from agentdesk.services import drafts

        self._draft_saving = True
        payload = self.draft_payload()
        db, ticket_id, version = self.context.db, self.ticket_id, self._draft_version

        def work() -> Any:
            try:
                return drafts.save_draft(db, ticket_id, payload, version)
            except ConflictError:
                # Saved from another window of mine: mine is the newer; take its version and write again.
                current = drafts.load_draft(db, ticket_id)
                return drafts.save_draft(db, ticket_id, payload, current.version if current else None)

        def done(view: Any) -> None:
            self._draft_saving = False
            self._draft_version = view.version
            self._draft_saved_at = view.updated_at
            self._update_draft_label()
            if self._draft_again:
                self._draft_again = False
                self.save_draft()

        def failed(exc: BaseException) -> None:
            self._draft_saving = False
            self._update_draft_label(failed=error_line(exc, "keep the draft"))

        self.context.runner.submit(work, on_done=done, on_error=failed, owner=self, describe="keep the draft")

    def flush_draft(self) -> None:
        if self._draft_timer.isActive():
            self._draft_timer.stop()
            self.save_draft()

    def _update_draft_label(self, failed: str | None = None) -> None:
        if failed:
            self.draft_label.setText(f"Unsaved edits are kept on this computer ({failed})")
        elif self._dirty:
            saved = getattr(self, "_draft_saved_at", None)
            self.draft_label.setText("Unsaved edits · draft kept on the server" + (
                f" at {fmt.local_time(saved)}" if saved else "") + " · Ctrl+S saves")
        else:
            self.draft_label.setText("All changes saved")

    # -- live ----------------------------------------------------------------------------------------------

    def on_row_changed(self, table: str, row_id: int, op: str) -> None:
        if table == "ticket" and row_id == self.ticket_id and not self._loading and not self._saving:
            QTimer.singleShot(0, self._reload_if_changed)

    def _reload_if_changed(self) -> None:
        if self.wizard is not None:
            return  # the wizard reloads when it is done
        db, ticket_id = self.context.db, self.ticket_id
        version = self.ticket.version if self.ticket else None

        def done(result: object) -> None:
            assert isinstance(result, EditorData)
            if result.detail.ticket.version == version:
                return
            if result.detail.ticket.updated_by == self.context.user.name:
                # My own change (this window's action, or another window of mine): keep typing on top.
                self._show(result, keep=self.changes() if self._dirty else None)
            elif self._dirty:
                t = result.detail.ticket
                self.banner.show_message(
                    "warning", f"{t.updated_by} changed this ticket at {fmt.local_time(t.updated_at)}. "
                    "Your edits are kept.",
                    [("Reload and re-apply my edits", self.reload_and_reapply), ("Discard my edits", self.discard_edits)])
            else:
                self._show(result)

        self.context.runner.submit(lambda: load_editor_data(db, ticket_id), on_done=done,
                                   on_error=lambda _e: None, owner=self, describe="refresh the ticket")

    def _on_connection(self, connected: bool, _message: str) -> None:
        if connected and self._dirty:
            self._draft_timer.start()

    # -- closing -------------------------------------------------------------------------------------------

    def close_editor(self) -> None:
        self.flush_draft()
        self.sig_closed.emit()


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, dt.date):
        return fmt.date(value)
    return str(value).replace("_", " ")


def customer_html(detail: TicketDetail, data: EditorData) -> str:
    """The customer panel as HTML (a read-only QTextBrowser: compact tables, selectable text)."""
    c = detail.customer
    e = html.escape

    def row(label: str, value: str) -> str:
        return f"<tr><td style='color:gray;padding-right:10px'>{e(label)}</td><td>{value}</td></tr>"

    contact_lines = [e(x) for x in (c.contacts.email, c.contacts.phone) if x]
    address = ", ".join(e(x) for x in (*c.contacts.address_lines, c.contacts.postal_code or "", c.contacts.city or "",
                                       c.contacts.country) if x)
    parts = [
        f"<h3 style='margin-bottom:2px'>{e(c.name)}</h3>",
        "<table cellspacing='0' cellpadding='1'>",
        row("Account", f"<b>{e(c.account_number)}</b>"),
        row("Segment", f"{e(fmt.label(c.segment, fmt.SEGMENT_LABELS))} · card {e(fmt.label(c.card_segment))}"),
        row("Customer since", f"{fmt.date(c.customer_since)} ({c.tenure_months} months)"),
        row("Payments", f"{c.late_payments_12m} late in the last 12 months"
            + (" ✓" if c.late_payments_12m == 0 else " ⚠")),
        row("Lifetime value", e(fmt.money(c.lifetime_value))),
        row("Contacts", "<br>".join(contact_lines) or "none on file"),
        row("Address", address or "none on file"),
    ]
    if c.open_invoices_count:
        parts.append(row("Open invoices", f"<b style='color:#c93c3c'>⚠ {c.open_invoices_count} open, "
                                          f"{e(fmt.money(c.open_invoices_amount))} to pay</b>"))
    else:
        parts.append(row("Open invoices", "none"))
    parts.append("</table>")
    parts.append("<h4 style='margin-bottom:2px'>Services</h4>")
    for service in c.services:
        this = service.kind == detail.service.kind and service.id == detail.service.id
        marker = " ◀ this ticket" if this else ""
        freq = f", billed {service.billing_frequency}" if service.billing_frequency else ""
        late = " · <b style='color:#c93c3c'>late</b>" if service.is_late else ""
        parts.append(
            f"<p style='margin:6px 0 2px 0'><b>{e(service.number)}</b> {e(service.description)}"
            f" <span style='color:gray'>({e(fmt.label(service.state))}{e(freq)}, since "
            f"{fmt.date(service.start_date)}){late}</span><b>{marker}</b></p>")
        parts.append("<table cellspacing='0' cellpadding='2' width='100%'>")
        for item in service.items:
            main = " (main)" if item.is_main else ""
            qty = f"{item.quantity} × " if item.quantity != 1 else ""
            parts.append(
                f"<tr><td>{e(item.description or item.product_name)}{main}</td>"
                f"<td align='right' style='color:gray'>{qty}{e(fmt.money(item.unit_price))}</td>"
                f"<td align='right'>{e(fmt.money(item.amount))}</td></tr>")
        total = "Total per period" if service.kind == "subscription" else "Total"
        parts.append(f"<tr><td><i>{total}</i></td><td></td><td align='right'><b>"
                     f"{e(fmt.money(service.total))}</b></td></tr></table>")
    parts.append("<h4 style='margin-bottom:2px'>Discounts and caps</h4>")
    if data.discounts:
        parts.append("<p style='margin:2px 0'>On this ticket: " + ", ".join(
            f"{e(d.definition_code)} ({e(fmt.label(d.state))})" for d in data.discounts) + "</p>")
    if data.caps:
        parts.append("<table cellspacing='0' cellpadding='1'>")
        for code, _name, text in data.caps:
            parts.append(row(code, e(text)))
        parts.append("</table>")
    elif not data.discounts:
        parts.append("<p style='color:gray;margin:2px 0'>No capped discounts used.</p>")
    return "".join(parts)


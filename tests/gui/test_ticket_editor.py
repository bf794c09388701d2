"""The ticket editor: actions by state, drafts kept on the server, and a conflict between two editors."""

from __future__ import annotations

from typing import Any

import pytest
from builders import customer_with_subscription, open_ticket, ticket_in_progress

from agentdesk.gui.dialogs import VERIFY_LABELS
from agentdesk.gui.ticket_editor import TicketEditorPage
from agentdesk.services import drafts, intake, tickets

pytestmark = pytest.mark.gui


def open_editor(qtbot: Any, context: Any, ticket_id: int) -> TicketEditorPage:
    editor = TicketEditorPage(context, ticket_id)
    qtbot.addWidget(editor)
    editor.resize(1100, 700)
    editor.show()
    editor.activate()
    qtbot.waitUntil(lambda: editor.data is not None and not editor._loading, timeout=10_000)
    return editor


def idle(qtbot: Any, editor: TicketEditorPage) -> None:
    qtbot.waitUntil(lambda: not editor.context.runner.busy and not editor._loading, timeout=10_000)


def test_only_the_actions_valid_in_the_state_are_offered(desk_context, installer, qtbot):
    csr = desk_context("csr")
    queued = open_ticket(csr.db, customer_with_subscription(installer))
    editor = open_editor(qtbot, csr, queued.id)
    assert editor.valid_actions() == {"take"}
    assert [k for k, b in editor.buttons.items() if b.isVisible()] == ["take"]
    assert not editor.reason_edit.isEnabled() or editor.reason_edit.isReadOnly()
    editor.buttons["take"].click()
    qtbot.waitUntil(lambda: editor.ticket.state == "in_progress", timeout=10_000)
    assert {"verify", "offer", "release", "cancel", "save"} <= editor.valid_actions()
    assert not editor.buttons["offer"].isEnabled()  # an offer needs a verified caller
    assert "confirm" not in editor.valid_actions()  # nothing approved to confirm yet
    idle(qtbot, editor)  # the reload after taking it must finish before the next click, as for a person
    editor.buttons["release"].click()
    qtbot.waitUntil(lambda: editor.ticket.state == "queued", timeout=10_000)


def test_verify_methods_match_the_service():
    assert set(VERIFY_LABELS) == set(intake.VERIFY_METHODS)


def test_edits_are_kept_as_a_server_draft_and_come_back(desk_context, installer, qtbot):
    csr = desk_context("csr")
    ticket = ticket_in_progress(csr.db, customer_with_subscription(installer))
    editor = open_editor(qtbot, csr, ticket.id)
    editor.reason_edit.setPlainText("Moving abroad in March")
    editor.priority_spin.setValue(1)
    qtbot.waitUntil(lambda: drafts.load_draft(csr.db, ticket.id) is not None, timeout=10_000)
    saved = drafts.load_draft(csr.db, ticket.id)
    assert saved.payload["fields"] == {"reason": "Moving abroad in March", "priority": 1}
    editor.close()
    again = open_editor(qtbot, csr, ticket.id)
    assert again.reason_edit.toPlainText() == "Moving abroad in March"
    assert again.priority_spin.value() == 1
    assert again.dirty and "back" in again.banner.text
    again.save()
    qtbot.waitUntil(lambda: not again.dirty and again.ticket.priority == 1, timeout=10_000)
    assert drafts.load_draft(csr.db, ticket.id) is None
    assert tickets.get_ticket(csr.db, ticket.id).reason == "Moving abroad in March"


def test_conflict_between_two_editors_says_who_and_what_and_reapplies(desk_context, installer, qtbot, test_users):
    csr, manager = desk_context("csr"), desk_context("manager")
    ticket = ticket_in_progress(csr.db, customer_with_subscription(installer))
    mine = open_editor(qtbot, csr, ticket.id)
    theirs = open_editor(qtbot, manager, ticket.id)

    mine.reason_edit.setPlainText("Wants a better price before the contract ends")
    theirs.call_type_combo.setCurrentIndex(theirs.call_type_combo.findData("price"))
    theirs.save()
    qtbot.waitUntil(lambda: theirs.ticket.call_type == "price" and not theirs.dirty, timeout=10_000)

    mine.save()
    qtbot.waitUntil(lambda: "What changed" in mine.banner.text, timeout=10_000)
    assert f"changed by {test_users['manager'].name}" in mine.banner.text
    assert "call type: cancellation → price" in mine.banner.text
    assert mine.reason_edit.toPlainText() == "Wants a better price before the contract ends"  # kept
    reapply = next(b for b in mine.banner.action_buttons if b.text().startswith("Reload"))
    reapply.click()
    qtbot.waitUntil(lambda: mine.ticket.call_type == "price", timeout=10_000)
    assert mine.reason_edit.toPlainText() == "Wants a better price before the contract ends"
    assert mine.call_type_combo.currentData() == "price"  # their change, with my edit on top
    idle(qtbot, mine)
    mine.save()
    qtbot.waitUntil(lambda: not mine.dirty, timeout=10_000)
    detail = tickets.get_ticket(csr.db, ticket.id)
    assert detail.ticket.call_type == "price"
    assert detail.reason == "Wants a better price before the contract ends"


def test_discarding_after_a_conflict_takes_theirs(desk_context, installer, qtbot):
    csr, manager = desk_context("csr"), desk_context("manager")
    ticket = ticket_in_progress(csr.db, customer_with_subscription(installer))
    mine = open_editor(qtbot, csr, ticket.id)
    tickets.update_ticket(manager.db, ticket.id, ticket.version, {"priority": 1})
    mine.priority_spin.setValue(5)
    mine.save()
    qtbot.waitUntil(lambda: len(mine.banner.action_buttons) == 2, timeout=10_000)
    discard = next(b for b in mine.banner.action_buttons if b.text().startswith("Discard"))
    discard.click()
    qtbot.waitUntil(lambda: mine.ticket.priority == 1 and mine.priority_spin.value() == 1, timeout=10_000)
    assert not mine.dirty

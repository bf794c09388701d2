"""The main window: navigation by role, a keyboard path for every action, take next, go to a ticket."""

from __future__ import annotations

import pytest
from builders import customer_with_subscription, open_ticket
from PySide6.QtGui import QKeySequence

from agentdesk.gui.mainwindow import TAKE_NEXT_KEY
from agentdesk.gui.pages import Page, allowed

pytestmark = pytest.mark.gui


def nav_texts(window) -> list[str]:
    return [window.navigation.item(i).text() for i in range(window.navigation.count())]


def test_a_csr_gets_queues_and_no_back_office_and_starts_on_his_queue(main_window, qtbot):
    window = main_window("csr", live=False)
    qtbot.waitUntil(lambda: window.queue_page("retention") is not None, timeout=10_000)
    texts = nav_texts(window)
    assert texts[0] == "MY WORK" and "SERVICE QUEUES" in texts
    assert "BACK OFFICE" not in texts
    assert window.user_label.text() == "Test Csr · Customer service"
    assert window.connection_label.text() == "Connected"


def test_a_manager_also_gets_the_back_office_pages(main_window, qtbot):
    window = main_window("manager", live=False)
    texts = nav_texts(window)
    back_office = [p for p in window.pages_in_order() if getattr(p, "section", "") == "Back office"]
    assert "BACK OFFICE" in texts and back_office
    assert all(allowed(p, "manager") for p in back_office)


def test_every_action_has_a_keyboard_path_shown_in_menus_and_tooltips(main_window, qtbot):
    window = main_window("csr", live=False)
    assert window.take_next_action.shortcut() == QKeySequence(TAKE_NEXT_KEY) == QKeySequence("F5")
    assert "(F5)" in window.take_next_action.toolTip()
    for menu_action in window.menuBar().actions():
        for action in menu_action.menu().actions():
            if action.isSeparator() or action is window.about_action:
                continue
            assert not action.shortcut().isEmpty(), action.text()
            assert action.shortcut().toString(QKeySequence.SequenceFormat.NativeText) in action.toolTip()
    shortcuts = dict(window.shortcut_list())
    assert shortcuts["Take next ticket"] == "F5"


def test_take_next_on_empty_queues_says_so(main_window, qtbot):
    window = main_window("csr", live=False)
    window.take_next()
    qtbot.waitUntil(lambda: "empty" in window.statusBar().currentMessage(), timeout=10_000)
    assert not window._editors


def test_go_to_a_ticket_by_number_and_close_it_with_ctrl_w(main_window, installer, qtbot):
    window = main_window("csr", live=False)
    ticket = open_ticket(window.context.db, customer_with_subscription(installer))
    window.goto_edit.setText(ticket.number)
    window.go_to_ticket()
    qtbot.waitUntil(lambda: window.editor(ticket.id) is not None, timeout=10_000)
    editor = window.editor(ticket.id)
    qtbot.waitUntil(lambda: editor.data is not None, timeout=10_000)
    assert window.current_page() is editor
    assert ticket.number in nav_texts(window)
    window.close_ticket_action.trigger()
    qtbot.waitUntil(lambda: window.editor(ticket.id) is None, timeout=5_000)
    assert "OPEN TICKETS" not in nav_texts(window)


def test_pages_get_ctrl_number_shortcuts_in_navigation_order(main_window, qtbot):
    window = main_window("csr", live=False)
    qtbot.waitUntil(lambda: window.queue_page("retention") is not None, timeout=10_000)
    pages = window.pages_in_order()
    window.show_page(pages[0])
    keys = {a.shortcut().toString(): a for a in window._page_actions}
    keys["Ctrl+2"].trigger()
    assert window.current_page() is pages[1]
    window.next_page_action.trigger()
    assert window.current_page() is pages[2 % len(pages)]


def test_the_page_base_class_loads_on_first_activation_only(desk_context, qtbot):
    class Counting(Page):
        title = "Counting"
        loads = 0

        def refresh(self) -> None:
            self.loads += 1

    page = Counting(desk_context("csr"))
    qtbot.addWidget(page)
    page.activate()
    page.activate()
    assert page.loads == 1
    page.refresh()
    assert page.loads == 2

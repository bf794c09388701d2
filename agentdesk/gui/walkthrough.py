"""A scripted, keyboard-only cancellation call through the real main window (tests and the benchmark).

:func:`standard_save_call` presses exactly the keys an agent presses for the standard save call and counts
them: F5 (take next) · Ctrl+Shift+V, Enter (verify the caller) · Ctrl+O (offer wizard) · Enter on each
wizard page (eligibility, the top offer, e-mail/letter, accepted, Finish). Every key goes to the widget
that has the keyboard focus at that moment, as a real keyboard would; a chord (Ctrl+O) is one keystroke.
The caller supplies ``wait(condition, what)``: qtbot.waitUntil in tests, an event-loop pump in benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget, QWizard

Wait = Callable[[Callable[[], bool], str], None]


@dataclass
class Keyboard:
    """Sends keys to the focused widget and counts them."""

    fallback: QWidget
    log: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.log)

    def press(self, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
              label: str = "") -> None:
        # The keyboard goes to the active window: a window-modal dialog or wizard when one is open. Do what
        # a window manager does (the offscreen platform has none): activate the window that is on top.
        modal = QApplication.activeModalWidget()
        top = modal if modal is not None else self.fallback.window()
        if QApplication.activeWindow() is not top:
            top.activateWindow()
            QApplication.processEvents()
        target = QApplication.focusWidget() or top.focusWidget() or top
        QTest.keyClick(target, key, modifiers)
        self.log.append(label or QTest.__name__)


@dataclass(frozen=True)
class CallResult:
    keystrokes: int
    keys: tuple[str, ...]
    ticket_id: int
    state: str


def standard_save_call(window: Any, wait: Wait) -> CallResult:
    """F5 → verify → offer wizard → top offer → accepted → accounting queue, keyboard only."""
    keys = Keyboard(window)
    window.activateWindow()
    window.setFocus()
    before = set(window._editors)
    keys.press(Qt.Key.Key_F5, label="F5 take next")
    wait(lambda: bool(set(window._editors) - before), "the taken ticket's editor")
    editor = window._editors[next(iter(set(window._editors) - before))]
    wait(lambda: editor.data is not None and editor.buttons["verify"].isVisible()
         and editor.isAncestorOf(QApplication.focusWidget()), "the ticket to load")

    keys.press(Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
               "Ctrl+Shift+V verify")
    wait(lambda: editor.dialog is not None and editor.dialog.isVisible(), "the verify dialog")
    keys.press(Qt.Key.Key_Return, label="Enter: caller verified")
    wait(lambda: editor.dialog is None and editor.ticket is not None and editor.ticket.verified
         and editor.buttons["offer"].isEnabled() and not editor._loading, "the verification")

    keys.press(Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier, "Ctrl+O offer wizard")
    wait(lambda: editor.wizard is not None, "the offer wizard")
    wizard = editor.wizard
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    for page_id, what in ((0, "eligibility"), (1, "the top offer"), (2, "notify"), (3, "the answer")):
        def on_page(page_id: int = page_id) -> bool:
            return bool(wizard.currentId() == page_id and next_button.isEnabled())

        wait(on_page, what)
        keys.press(Qt.Key.Key_Return, label=f"Enter: {what}")
    wait(lambda: wizard.currentId() == 4, "the confirm page")
    keys.press(Qt.Key.Key_Return, label="Enter: Finish")
    wait(lambda: editor.wizard is None and not editor._loading and editor.ticket is not None
         and editor.ticket.state != "in_progress", "the offer to be carried out")
    assert editor.ticket is not None
    return CallResult(keys.count, tuple(keys.log), editor.ticket_id, editor.ticket.state)

"""Small widgets the desktop's screens share: the inline message banner and a busy overlay label."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from agentdesk.gui.resources import icon

_ICONS = {"error": "overdue", "warning": "warning", "info": "info", "success": "connected"}


class Banner(QFrame):
    """A one-line (wrapping) message inside a screen, with an icon so the kind is not told by colour alone,
    and optional action buttons ("Reload", "Re-apply my edits"...). Hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setProperty("kind", "info")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._icon = QLabel()
        self._icon.setFixedSize(18, 18)
        self.label = QLabel()
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 10, 6)
        self._layout.setSpacing(8)
        self._layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        self._layout.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        self.hide()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    @property
    def kind(self) -> str:
        return str(self.property("kind"))

    def show_message(self, kind: str, text: str,
                     actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        for button in self._buttons:
            button.deleteLater()
        self._buttons = []
        self.setProperty("kind", kind)
        self._icon.setPixmap(icon(_ICONS.get(kind, "info")).pixmap(18, 18))
        self.label.setText(text)
        for label, callback in actions or []:
            button = QPushButton(label)
            button.setObjectName("bannerAction")
            button.clicked.connect(callback)
            self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self._buttons.append(button)
        # Re-polish so the style sheet's [kind=...] selector takes effect.
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    def show_error(self, text: str, actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        self.show_message("error", text, actions)

    def show_info(self, text: str) -> None:
        self.show_message("info", text)

    def clear(self) -> None:
        self.label.clear()
        for button in self._buttons:
            button.deleteLater()
        self._buttons = []
        self.hide()

    @property
    def action_buttons(self) -> list[QPushButton]:
        return list(self._buttons)

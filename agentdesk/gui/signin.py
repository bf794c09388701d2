"""The sign-in dialog: which server, who, and the password; all the slow work off the GUI thread.

Servers offered: the database on this computer (embedded, pre-selected unless a shared server was used
last), the shared servers used before, the one from settings (``--database-url``, environment, config file),
and "Another shared server…" with a URL field. Choosing the embedded server starts preparing it at once
(upgrade the schema, load the small demo set into an empty database) with a busy indicator, so by the time
the password is typed the database is ready.

Refusals (wrong password, unreachable server, schema too old, malformed URL) appear as one line inside the
dialog; what was typed stays. The password is never written to a file: "Remember password" uses the
system keyring and is disabled when there is none.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.errors import AgentDeskError
from agentdesk.gui import preferences
from agentdesk.gui.resources import icon
from agentdesk.gui.tasks import TaskRunner, error_line
from agentdesk.gui.widgets import Banner

if TYPE_CHECKING:
    from agentdesk.bootstrap import Database
    from agentdesk.config import Settings
    from agentdesk.gui.context import SignedInUser

log = logging.getLogger(__name__)

EMBEDDED_LABEL = "This computer (embedded database)"
OTHER_LABEL = "Another shared server…"
OTHER = "other"


@dataclass
class SignInResult:
    """A successful sign-in: the settings actually used, the open database and who signed in."""

    settings: Settings
    db: Database
    user: SignedInUser
    server: str  # preferences.EMBEDDED or the server URL (no password)
    units: tuple[Any, ...] = ()  # UnitInfo read while signing in: the main window opens with its queue pages


def display_url(url: object) -> str:
    """A server URL as people write it: no driver name, no password."""
    text = url.render_as_string(hide_password=True)  # type: ignore[attr-defined]
    return text.replace("postgresql+psycopg2://", "postgresql://", 1)


# -- the work, off the GUI thread ----------------------------------------------------------------------


def settings_for(server: str, base: Settings) -> Settings:
    """Settings pointing at the chosen server (ConfigError with one line if the URL is malformed)."""
    if server == preferences.EMBEDDED:
        return dataclasses.replace(base, database_url=None, source="embedded")
    from agentdesk.config import parse_database_url

    url = parse_database_url(server, "the sign-in dialog")
    return dataclasses.replace(base, database_url=url, source="sign-in")


def prepare_embedded(settings: Settings) -> None:
    """Bring the database on this computer up to date; give an empty one the small demo set."""
    from agentdesk.cli.common import ensure_schema

    ensure_schema(settings)
    from agentdesk.gui import adapters

    adapters.load_demo_if_empty(settings)


def sign_in(server: str, user: str, password: str, base: Settings) -> SignInResult:
    """Connect as ``user`` (schema checked first for a shared server); raise AgentDeskError with one line."""
    from agentdesk import bootstrap
    from agentdesk.cli.common import ensure_schema
    from agentdesk.gui.adapters import signed_in_user

    settings = settings_for(server, base)
    if not user.strip():
        raise bootstrap.ConnectionFailed("Enter your user name")

    def check_schema() -> None:
        if not settings.embedded:  # the embedded database was upgraded before the dialog's sign-in
            assert settings.database_url is not None
            # With the person's own credentials: a shared URL usually names no user.
            ensure_schema(dataclasses.replace(
                settings, database_url=settings.database_url.set(username=user.strip(), password=password)))

    # Credentials first (the clearest refusal), then who this is, then whether the schema fits.
    db = bootstrap.connect(settings, user.strip(), password)
    try:
        try:
            who = signed_in_user(db)
        except bootstrap.ConnectionFailed:
            raise
        except Exception:
            check_schema()  # an old schema explains a failing user lookup better than its own error
            raise
        check_schema()
    except BaseException:
        db.dispose()
        raise
    from agentdesk.services import routing

    try:
        units = tuple(routing.list_units(db))
    except AgentDeskError:  # the window learns the queues from its counts instead
        units = ()
    return SignInResult(settings=settings, db=db, user=who, server=server, units=units)


# -- the dialog -----------------------------------------------------------------------------------------


class SignInDialog(QDialog):
    """Signals:
    sig_signed_in(SignInResult): emitted once, just before the dialog is accepted.
    """

    sig_signed_in = Signal(object)

    def __init__(self, base_settings: Settings, runner: TaskRunner, *, user: str | None = None,
                 auto_prepare: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to AgentDesk")
        self.setWindowIcon(icon("app"))
        self.setObjectName("signInDialog")
        self._base = base_settings
        self._runner = runner
        self._embedded_ready = False
        self._embedded_preparing = False
        self._embedded_error: str | None = None
        self._sign_in_waiting = False
        self._working = False
        self._keyring_ok = False
        self.result_session: SignInResult | None = None
        self._auto_prepare = auto_prepare  # off for screenshots: they never touch this computer's database
        self._build(user)

    # layout
    def _build(self, user: str | None) -> None:
        header = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(48, 48))
        title = QLabel("<b style='font-size:15pt'>AgentDesk</b><br>Retention desk: sign in to start taking calls")
        title.setTextFormat(Qt.TextFormat.RichText)
        header.addWidget(logo)
        header.addSpacing(8)
        header.addWidget(title, 1)

        self.server_combo = QComboBox()
        self.server_combo.setObjectName("serverCombo")
        self.server_combo.setMinimumWidth(340)
        self.server_url = QLineEdit()
        self.server_url.setObjectName("serverUrl")
        self.server_url.setPlaceholderText("postgresql://host:5432/agentdesk")
        self.server_url.setToolTip("The shared PostgreSQL server of your desk (ask your administrator)")
        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("userEdit")
        self.user_edit.setPlaceholderText("e.g. anna.csr")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("passwordEdit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = QCheckBox("Remember my password in the system keyring")
        self.remember_check.setEnabled(False)
        self.remember_check.setToolTip("Checking for a system keyring…")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("&Server:", self.server_combo)
        form.addRow("", self.server_url)
        form.addRow("&User:", self.user_edit)
        form.addRow("&Password:", self.password_edit)
        form.addRow("", self.remember_check)
        self._form = form

        self.banner = Banner()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate: we cannot know how long a migration takes
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(6)
        self.busy_label = QLabel()
        self.busy_label.setObjectName("busyLabel")
        self.busy_label.setProperty("role", "hint")

        self.buttons = QDialogButtonBox()
        self.sign_in_button = self.buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setObjectName("signInButton")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setToolTip("Sign in (Enter)")
        quit_button = self.buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        quit_button.setToolTip("Quit AgentDesk (Esc)")
        self.buttons.accepted.connect(self._on_sign_in)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        layout.addLayout(header)
        layout.addSpacing(4)
        layout.addLayout(form)
        layout.addWidget(self.banner)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.busy_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self._fill_servers()
        self.user_edit.setText(user or preferences.last_user())
        self.server_combo.currentIndexChanged.connect(self._on_server_changed)
        self._set_busy(None)
        self._on_server_changed(start_preparing=False)
        # The keyring and the embedded server are slow to wake: after the dialog is on screen.
        QTimer.singleShot(0, self._after_shown)

    def _fill_servers(self) -> None:
        combo = self.server_combo
        combo.addItem(icon("app"), EMBEDDED_LABEL, preferences.EMBEDDED)
        known: list[str] = []
        if self._base.database_url is not None:
            known.append(display_url(self._base.database_url))
        known += preferences.recent_servers()
        for url in dict.fromkeys(known):
            combo.addItem(url, url)
        combo.addItem(OTHER_LABEL, OTHER)
        wanted = known[0] if self._base.database_url is not None else preferences.last_server()
        index = combo.findData(wanted)
        combo.setCurrentIndex(index if index >= 0 else 0)

    def _after_shown(self) -> None:
        if self.user_edit.text():
            self.password_edit.setFocus()
        else:
            self.user_edit.setFocus()
        self._runner.submit(preferences.keyring_available, on_done=self._on_keyring_checked, owner=self,
                            on_error=lambda _exc: self._on_keyring_checked(False), describe="check the keyring")
        if self._auto_prepare and self.server() == preferences.EMBEDDED:
            self._prepare_embedded()

    def _on_keyring_checked(self, available: object) -> None:
        self._keyring_ok = bool(available)
        self.remember_check.setEnabled(self._keyring_ok and not self._working)
        self.remember_check.setToolTip(
            "The password is kept by the operating system's keyring, never in a file"
            if self._keyring_ok else "No system keyring is available: the password will not be remembered")
        if self._keyring_ok:
            self._fetch_stored_password()

    def _fetch_stored_password(self) -> None:
        server, user = self.server(), self.user_edit.text().strip()
        if not user or not preferences.password_remembered(server, user):
            return
        self.remember_check.setChecked(True)

        def filled(password: object) -> None:
            if password and not self.password_edit.text():
                self.password_edit.setText(str(password))

        self._runner.submit(lambda: preferences.stored_password(server, user), on_done=filled, owner=self,
                            on_error=lambda _exc: None, describe="read the keyring")

    # state
    def server(self) -> str:
        """The chosen server key: preferences.EMBEDDED or a URL (typed or remembered)."""
        data = self.server_combo.currentData()
        if data == OTHER:
            return self.server_url.text().strip()
        return str(data)

    def _on_server_changed(self, *_args: Any, start_preparing: bool = True) -> None:
        other = self.server_combo.currentData() == OTHER
        self.server_url.setVisible(other)
        label = self._form.labelForField(self.server_url)
        if label is not None:
            label.setVisible(other)
        self.banner.clear()
        if other:
            self.server_url.setFocus()
        if start_preparing and self._auto_prepare and self.server() == preferences.EMBEDDED:
            self._prepare_embedded()
        self._refresh_busy()

    def _prepare_embedded(self) -> None:
        if self._embedded_ready or self._embedded_preparing:
            return
        self._embedded_preparing = True
        self._embedded_error = None
        settings = settings_for(preferences.EMBEDDED, self._base)
        self._refresh_busy()
        self._runner.submit(lambda: prepare_embedded(settings), on_done=self._on_embedded_ready,
                            on_error=self._on_embedded_failed, owner=self, describe="prepare the database")

    def _on_embedded_ready(self, _result: object) -> None:
        self._embedded_preparing = False
        self._embedded_ready = True
        self._refresh_busy()
        if self._sign_in_waiting:
            self._sign_in_waiting = False
            self._start_sign_in()

    def _on_embedded_failed(self, exc: BaseException) -> None:
        self._embedded_preparing = False
        self._embedded_error = error_line(exc, "prepare the database on this computer")
        self._sign_in_waiting = False
        self._set_working(False)
        self._refresh_busy()
        if self.server() == preferences.EMBEDDED:
            self.banner.show_error(self._embedded_error)

    def _refresh_busy(self) -> None:
        if self._working:
            self._set_busy("Signing in…")
        elif self._embedded_preparing and self.server() == preferences.EMBEDDED:
            self._set_busy("Preparing the database on this computer…")
        else:
            self._set_busy(None)

    def _set_busy(self, text: str | None) -> None:
        self.busy_bar.setVisible(text is not None)
        self.busy_label.setVisible(text is not None)
        self.busy_label.setText(text or "")

    def _set_working(self, working: bool) -> None:
        self._working = working
        for widget in (self.server_combo, self.server_url, self.user_edit, self.password_edit,
                       self.sign_in_button):
            widget.setEnabled(not working)
        self.remember_check.setEnabled(self._keyring_ok and not working)
        self._refresh_busy()

    # signing in
    def _on_sign_in(self) -> None:
        if self._working:
            return
        self.banner.clear()
        server = self.server()
        if not server:
            self.banner.show_error("Enter the shared server's URL, e.g. postgresql://host:5432/agentdesk")
            self.server_url.setFocus()
            return
        if not self.user_edit.text().strip():
            self.banner.show_error("Enter your user name")
            self.user_edit.setFocus()
            return
        self._set_working(True)
        if server == preferences.EMBEDDED and not self._embedded_ready:
            self._sign_in_waiting = True
            if not self._embedded_preparing:
                self._prepare_embedded()
            return
        self._start_sign_in()

    def _start_sign_in(self) -> None:
        server, user, password = self.server(), self.user_edit.text().strip(), self.password_edit.text()
        base = self._base
        self._runner.submit(lambda: sign_in(server, user, password, base), on_done=self._on_signed_in,
                            on_error=self._on_sign_in_failed, owner=self, describe="sign in")

    def _on_sign_in_failed(self, exc: BaseException) -> None:
        self._set_working(False)
        message = error_line(exc, "sign in")
        self.banner.show_error(message)
        lowered = message.lower()
        # Put the cursor where the fix is most likely needed; keep everything typed.
        if "password" in lowered:
            self.password_edit.setFocus()
            self.password_edit.selectAll()
        elif "user" in lowered:
            self.user_edit.setFocus()
            self.user_edit.selectAll()
        elif self.server_combo.currentData() == OTHER:
            self.server_url.setFocus()
        else:
            self.server_combo.setFocus()

    def _on_signed_in(self, result: object) -> None:
        assert isinstance(result, SignInResult)
        self._set_working(False)
        preferences.remember_sign_in(result.server, result.user.name)
        password = self.password_edit.text() if self.remember_check.isChecked() and self._keyring_ok else None
        server, user = result.server, result.user.name
        # Store or forget in the background; a keyring failure only means it is not remembered.
        self._runner.submit(lambda: preferences.store_password(server, user, password),
                            on_error=lambda _exc: None, describe="update the keyring")
        self.result_session = result
        self.sig_signed_in.emit(result)
        self.accept()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        # Esc while working would leave a connection half-made in the background: ignore it then.
        if event.matches(QKeySequence.StandardKey.Cancel) and self._working:
            return
        super().keyPressEvent(event)

"""Users and units: every person signs in as their own database login role, with one role and some units.

Administrators add a user (name, role, units, initial password) in one step, disable or re-enable one, and
add units (teams, some with a service queue). The form checks as the user types; the database checks again
(only administrators, valid names, known units) and its refusal is shown as it is.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agentdesk.domain.errors import ValidationError
from agentdesk.gui.backoffice.common import (
    BackofficePage,
    Column,
    FormValidator,
    RowsModel,
    day,
    error_text,
    field_row,
    fit_columns,
    heading,
    make_table,
    selected_rows,
)
from agentdesk.gui.context import ROLE_LABELS, AppContext
from agentdesk.services import routing as routing_service
from agentdesk.services import users as user_service
from agentdesk.services.routing import UnitInfo
from agentdesk.services.users import UserInfo

_NAME = re.compile(r"^[a-z][a-z0-9_.]{2,62}$")
MIN_PASSWORD = 8


class UserChangeDialog(QDialog):
    """Pick a person's new role and units; the page applies them with one service call."""

    def __init__(self, user: UserInfo, units: list[UnitInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Role and units of {user.display_name}")
        self.role = QComboBox()
        for role in user_service.ROLES:
            self.role.addItem(ROLE_LABELS[role], role)
        self.role.setCurrentIndex(list(user_service.ROLES).index(user.role))
        self.units = QListWidget()
        for u in units:
            item = QListWidgetItem(u.name + (" (queue)" if u.is_service_queue else ""))
            item.setData(Qt.ItemDataRole.UserRole, u.code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if u.code in user.units else Qt.CheckState.Unchecked)
            self.units.addItem(item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("&Role", self.role)
        form.addRow("&Units", self.units)
        form.addRow(buttons)

    def chosen(self) -> tuple[str, tuple[str, ...]]:
        codes = tuple(
            str(self.units.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.units.count())
            if self.units.item(i).checkState() == Qt.CheckState.Checked
        )
        return str(self.role.currentData()), codes


def user_problems(name: str, display_name: str, role: str, units: list[UnitInfo], password: str,
                  confirm: str) -> list[ValidationError]:
    """What stops a new user from being added, each naming the field and the fix."""
    out: list[ValidationError] = []
    if not name:
        out.append(ValidationError("name", "User name is required: it is what the person types to sign in"))
    elif not _NAME.match(name):
        out.append(ValidationError("name", "User name: 3-63 lower-case letters, digits, '_' or '.', starting "
                                           "with a letter (e.g. maria.k)"))
    elif name.startswith(("agentdesk_", "pg_")) or name == "postgres":
        out.append(ValidationError("name", f"The user name '{name}' is reserved: choose another"))
    if not display_name.strip():
        out.append(ValidationError("display_name", "Full name is required: colleagues see it on tickets"))
    if role not in user_service.ROLES:
        out.append(ValidationError("role", "Choose a role"))
    elif role == "csr" and not any(u.is_service_queue for u in units):
        out.append(ValidationError("units", "A CSR needs at least one unit with a service queue to work from"))
    elif role == "manager" and not units:
        out.append(ValidationError("units", "A manager approves for their units: tick at least one"))
    if len(password) < MIN_PASSWORD:
        out.append(ValidationError("password", f"Password needs at least {MIN_PASSWORD} characters"))
    elif password != confirm:
        out.append(ValidationError("confirm", "The two passwords differ: type the same password twice"))
    return out


USER_COLUMNS: list[Column[UserInfo]] = [
    Column("User", lambda u: u.name, tooltip=lambda u: f"User since {day(u.created_at.date())}"),
    Column("Full name", lambda u: u.display_name),
    Column("Role", lambda u: ROLE_LABELS.get(u.role, u.role)),
    Column("Units", lambda u: ", ".join(u.units) or "—"),
    Column("Status", lambda u: "Active" if u.active else "Disabled"),
]
UNIT_COLUMNS: list[Column[UnitInfo]] = [
    Column("Code", lambda u: u.code),
    Column("Name", lambda u: u.name),
    Column("Service queue", lambda u: "Yes" if u.is_service_queue else "No"),
]


class UsersPage(BackofficePage):
    """People (login roles) and units."""

    title = "Users and units"
    icon_name = "user"
    roles = frozenset({"admin"})

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.units: list[UnitInfo] = []

        # Users: list + actions.
        self.user_model: RowsModel[UserInfo] = RowsModel(USER_COLUMNS, self)
        self.user_model.set_muted(lambda u: not u.active)
        self.user_table = make_table(self.user_model, stretch=3)
        self.user_table.selectionModel().selectionChanged.connect(self._user_selected)
        self.change_button = QPushButton("Change role and units…")
        self.change_button.setEnabled(False)
        self.change_button.clicked.connect(self.change_user)
        self.toggle_button = QPushButton("Disable user")
        self.toggle_button.setEnabled(False)
        self.toggle_button.clicked.connect(self.toggle_active)

        # New user form.
        self.validator = FormValidator(None, self)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. maria.k")
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText("e.g. Maria Kyriakou")
        self.email = QLineEdit()
        self.email.setPlaceholderText("optional")
        self.role = QComboBox()
        self.role.addItem("Choose…", "")
        for role in user_service.ROLES:
            self.role.addItem(ROLE_LABELS[role], role)
        self.unit_list = QListWidget()
        self.unit_list.setFixedHeight(96)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_button = QPushButton("Add user")
        self.add_button.setObjectName("primary")
        self.add_button.setEnabled(False)
        self.add_button.clicked.connect(self.add_user)
        self._touched = False

        new_box = QGroupBox("New user")
        box_layout = QVBoxLayout(new_box)
        form = QFormLayout()
        box_layout.addLayout(form)
        box_layout.addStretch(1)  # rows stay together at the top; messages under their fields
        for name, caption, widget in (
            ("name", "User name", self.name), ("display_name", "Full name", self.display_name),
            ("email", "E-mail", self.email), ("role", "Role", self.role), ("units", "Units", self.unit_list),
            ("password", "Initial password", self.password), ("confirm", "Repeat password", self.confirm),
        ):
            form.addRow(caption, field_row(widget, self.validator.add(name, widget)))
        form.addRow("", self.add_button)
        for edit in (self.name, self.display_name, self.email, self.password, self.confirm):
            edit.textChanged.connect(self._edited)
        self.role.currentIndexChanged.connect(self._edited)
        self.unit_list.itemChanged.connect(self._edited)

        users_tab = QWidget()
        users_layout = QHBoxLayout(users_tab)
        left = QVBoxLayout()
        left.addWidget(self.user_table, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.change_button)
        row.addWidget(self.toggle_button)
        left.addLayout(row)
        left_host = QWidget()
        left_host.setLayout(left)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left_host)
        split.addWidget(new_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        users_layout.addWidget(split)

        # Units tab.
        self.unit_model: RowsModel[UnitInfo] = RowsModel(UNIT_COLUMNS, self)
        self.unit_table = make_table(self.unit_model, stretch=1)
        self.unit_validator = FormValidator(None, self)
        self.unit_code = QLineEdit()
        self.unit_code.setPlaceholderText("e.g. business_save")
        self.unit_name = QLineEdit()
        self.unit_name.setPlaceholderText("e.g. Business save team")
        self.unit_queue = QCheckBox("Has a service queue (tickets can be routed to it)")
        self.unit_add = QPushButton("Add unit")
        self.unit_add.setEnabled(False)
        self.unit_add.clicked.connect(self.add_unit)
        unit_box = QGroupBox("New unit")
        unit_form = QFormLayout(unit_box)
        unit_form.addRow("Code", field_row(self.unit_code, self.unit_validator.add("code", self.unit_code)))
        unit_form.addRow("Name", field_row(self.unit_name, self.unit_validator.add("name", self.unit_name)))
        unit_form.addRow("", self.unit_queue)
        unit_form.addRow("", self.unit_add)
        for edit in (self.unit_code, self.unit_name):
            edit.textChanged.connect(self._unit_edited)
        units_tab = QWidget()
        units_layout = QHBoxLayout(units_tab)
        units_layout.addWidget(self.unit_table, 3)
        unit_side = QVBoxLayout()
        unit_side.addWidget(unit_box)
        unit_side.addStretch(1)
        units_layout.addLayout(unit_side, 2)

        self.tabs = QTabWidget()
        self.tabs.addTab(users_tab, "Users")
        self.tabs.addTab(units_tab, "Units")
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Users and units", "Each person signs in as their own database user. The role "
                                 "decides what they may do; units decide which queue they work and which "
                                 "discounts they approve."))
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

    # -- loading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db = self.db
        self.call(lambda: (user_service.list_users(db), routing_service.list_units(db)), self._show,
                  describe="load the users")

    def _show(self, result: tuple[list[UserInfo], list[UnitInfo]]) -> None:
        users, units = result
        self.units = units
        self.user_model.set_rows(users)
        fit_columns(self.user_table, stretch_min=140)
        self.unit_model.set_rows(units)
        fit_columns(self.unit_table)
        ticked = set(self.checked_units())
        self.unit_list.blockSignals(True)
        self.unit_list.clear()
        for u in units:
            item = QListWidgetItem(f"{u.name}" + (" (queue)" if u.is_service_queue else ""))
            item.setData(Qt.ItemDataRole.UserRole, u.code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if u.code in ticked else Qt.CheckState.Unchecked)
            self.unit_list.addItem(item)
        self.unit_list.blockSignals(False)
        self._user_selected()

    # -- users ---------------------------------------------------------------------------------------------

    def checked_units(self) -> list[str]:
        codes = []
        for i in range(self.unit_list.count()):
            item = self.unit_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                codes.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return codes

    def set_units(self, codes: list[str]) -> None:
        for i in range(self.unit_list.count()):
            item = self.unit_list.item(i)
            on = item.data(Qt.ItemDataRole.UserRole) in codes
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def problems(self) -> list[ValidationError]:
        chosen = [u for u in self.units if u.code in self.checked_units()]
        out = user_problems(self.name.text().strip(), self.display_name.text(), self.role.currentData() or "",
                            chosen, self.password.text(), self.confirm.text())
        email = self.email.text().strip()
        if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            out.append(ValidationError("email", "E-mail must look like name@example.com (or leave it empty)"))
        if any(u.name == self.name.text().strip() for u in self.user_model.rows()):
            out.append(ValidationError("name", f"A user named '{self.name.text().strip()}' already exists"))
        return out

    def _edited(self, *_args: object) -> None:
        self._touched = True
        problems = self.problems()
        valid = self.validator.show(problems)
        self.add_button.setEnabled(valid)

    def add_user(self) -> None:
        problems = self.problems()
        if not self.validator.show(problems):
            self.say(problems[0].message, "error")
            return
        db = self.db
        name = self.name.text().strip()
        args = dict(role=self.role.currentData(), password=self.password.text(),
                    display_name=self.display_name.text().strip(), units=tuple(self.checked_units()),
                    email=self.email.text().strip() or None)

        def work() -> tuple[list[UserInfo], list[UnitInfo]]:
            user_service.add_user(db, name, **args)  # type: ignore[arg-type]
            return user_service.list_users(db), routing_service.list_units(db)

        def done(result: tuple[list[UserInfo], list[UnitInfo]]) -> None:
            for edit in (self.name, self.display_name, self.email, self.password, self.confirm):
                edit.blockSignals(True)
                edit.clear()
                edit.blockSignals(False)
            self.set_units([])
            self.validator.show([])
            self.add_button.setEnabled(False)
            self._show(result)
            self.say(f"User '{name}' added. They can sign in now with the initial password.")

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                field = {"unit": "units"}.get(exc.field, exc.field)
                self.validator.show([ValidationError(field, exc.message)])
            self.say(error_text(exc), "error")

        self.call(work, done, describe="add the user", on_error=failed)

    def _user_selected(self, *_args: object) -> None:
        rows = selected_rows(self.user_table)
        if not rows:
            self.toggle_button.setEnabled(False)
            self.change_button.setEnabled(False)
            return
        user = self.user_model.row(rows[0])
        self.toggle_button.setEnabled(True)
        self.change_button.setEnabled(True)
        self.toggle_button.setText("Disable user" if user.active else "Enable user")

    def toggle_active(self) -> None:
        rows = selected_rows(self.user_table)
        if not rows:
            return
        user = self.user_model.row(rows[0])
        db = self.db
        make_active = not user.active

        def work() -> tuple[list[UserInfo], list[UnitInfo]]:
            user_service.set_active(db, user.name, make_active)
            return user_service.list_users(db), routing_service.list_units(db)

        def done(result: tuple[list[UserInfo], list[UnitInfo]]) -> None:
            self._show(result)
            for row, u in enumerate(self.user_model.rows()):
                if u.name == user.name:
                    self.user_table.selectRow(row)
            what = "enabled: they can sign in again" if make_active else "disabled: they can no longer sign in"
            self.say(f"User '{user.name}' {what}.")

        self.call(work, done, describe="change the user")

    def change_user(self) -> None:
        rows = selected_rows(self.user_table)
        if not rows:
            return
        user = self.user_model.row(rows[0])
        dialog = UserChangeDialog(user, self.units, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.apply_user_change(user, *dialog.chosen())

    def apply_user_change(self, user: UserInfo, role: str, units: tuple[str, ...]) -> None:
        db = self.db

        def work() -> tuple[list[UserInfo], list[UnitInfo]]:
            user_service.update_user(db, user.name, role=role, units=units)
            return user_service.list_users(db), routing_service.list_units(db)

        def done(result: tuple[list[UserInfo], list[UnitInfo]]) -> None:
            self._show(result)
            self.say(f"User '{user.name}' is now {ROLE_LABELS.get(role, role)}"
                     f"{' in ' + ', '.join(units) if units else ' with no unit'}; it applies at their next sign-in.")

        self.call(work, done, describe="change the user")

    # -- units ---------------------------------------------------------------------------------------------

    def _unit_edited(self, *_args: object) -> None:
        problems = routing_service.unit_problems(self.unit_code.text(), self.unit_name.text())
        if any(u.code == self.unit_code.text().strip() for u in self.units):
            problems.append(ValidationError("code", f"A unit with code '{self.unit_code.text().strip()}' exists"))
        self.unit_add.setEnabled(self.unit_validator.show(problems))

    def add_unit(self) -> None:
        db = self.db
        code, name, queue = self.unit_code.text(), self.unit_name.text(), self.unit_queue.isChecked()

        def work() -> tuple[list[UserInfo], list[UnitInfo]]:
            routing_service.create_unit(db, code, name, is_service_queue=queue)
            return user_service.list_users(db), routing_service.list_units(db)

        def done(result: tuple[list[UserInfo], list[UnitInfo]]) -> None:
            for edit in (self.unit_code, self.unit_name):
                edit.blockSignals(True)
                edit.clear()
                edit.blockSignals(False)
            self.unit_validator.show([])
            self.unit_add.setEnabled(False)
            self._show(result)
            self.say(f"Unit '{name.strip()}' added.")

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                self.unit_validator.show([exc])
            self.say(error_text(exc), "error")

        self.call(work, done, describe="add the unit", on_error=failed)


__all__ = ["UsersPage", "user_problems"]


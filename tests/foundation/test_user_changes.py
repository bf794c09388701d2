"""Administrators change a person's role and units; the database moves the login role between groups."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from agentdesk.domain.errors import PermissionDenied, RuleViolation, ValidationError
from agentdesk.services import users


def is_member(db, role: str, group: str) -> bool:
    with db.session() as s:
        return bool(s.execute(text("SELECT pg_has_role(:r, :g, 'member')"), {"r": role, "g": group}).scalar_one())


def fresh_csr(admin, test_users, suffix: str) -> str:
    """A login of this test's own: roles are cluster-wide, so changing a shared test role would leak."""
    name = f"moved_{suffix}_{test_users['admin'].name.split('_')[-1]}"
    users.add_user(admin, name, role="csr", password="long enough pass", units=("retention",))
    return name


def test_admin_moves_a_csr_to_manager_with_new_units(connect_as, test_users):
    admin = connect_as("admin")
    name = fresh_csr(admin, test_users, "a")
    info = users.update_user(admin, name, role="manager", units=("customer_care_managers", "retention"))
    assert (info.role, info.units) == ("manager", ("customer_care_managers", "retention"))
    assert is_member(admin, name, "agentdesk_manager") and not is_member(admin, name, "agentdesk_csr")
    # Units alone, role untouched.
    assert users.update_user(admin, name, units=()).units == ()
    assert users.get_user(admin, name).role == "manager"


def test_only_admins_change_users_and_bad_values_are_named(connect_as, test_users):
    with pytest.raises(PermissionDenied):  # no EXECUTE grant, and the function checks again
        users.update_user(connect_as("manager"), test_users["csr"].name, role="manager")
    admin = connect_as("admin")
    name = fresh_csr(admin, test_users, "b")
    with pytest.raises(ValidationError, match="no unit"):
        users.update_user(admin, name, role="manager", units=("atlantis",))
    assert (users.get_user(admin, name).role, users.get_user(admin, name).units) == ("csr", ("retention",))
    assert is_member(admin, name, "agentdesk_csr") and not is_member(admin, name, "agentdesk_manager")
    with pytest.raises(RuleViolation, match="own administrator role"):
        users.update_user(admin, test_users["admin"].name, role="csr")

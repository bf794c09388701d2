"""Administrators change a person's role and units; the database moves the login role between groups."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from agentdesk.domain.errors import PermissionDenied, RuleViolation, ValidationError
from agentdesk.services import users


def is_member(db, role: str, group: str) -> bool:
    with db.session() as s:
        return bool(s.execute(text("SELECT pg_has_role(:r, :g, 'member')"), {"r": role, "g": group}).scalar_one())


def test_admin_moves_a_csr_to_manager_with_new_units(connect_as, test_users):
    admin = connect_as("admin")
    name = test_users["csr2"].name
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
    with pytest.raises(ValidationError, match="no unit"):
        users.update_user(admin, test_users["csr"].name, units=("atlantis",))
    assert users.get_user(admin, test_users["csr"].name).units == ("retention",)  # nothing half-written
    with pytest.raises(RuleViolation, match="own administrator role"):
        users.update_user(admin, test_users["admin"].name, role="csr")

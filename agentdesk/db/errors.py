"""Turn database errors into AgentDesk's user-facing errors.

The database guards the rules; when it refuses, its message is already written for people. Our own
functions and triggers raise with these SQLSTATEs (class "AD", reserved for AgentDesk):
  AD001 permission, AD002 business rule, AD003 invalid value (DETAIL names the field), AD004 not found,
  AD005 conflict (someone else changed the row).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError

from agentdesk.domain.errors import (
    AgentDeskError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationError,
)

PERMISSION, RULE, INVALID, NOT_FOUND, CONFLICT = "AD001", "AD002", "AD003", "AD004", "AD005"


class DatabaseRefused(AgentDeskError):
    """The database refused a change for a reason that has no more specific class."""


def _diag(exc: DBAPIError) -> tuple[str | None, str, str | None, str | None]:
    orig: Any = exc.orig
    code = getattr(orig, "pgcode", None)
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(orig).splitlines()[0]
    detail = getattr(diag, "message_detail", None)
    constraint = getattr(diag, "constraint_name", None)
    return code, primary, detail, constraint


def translate(exc: DBAPIError) -> AgentDeskError:
    """The AgentDeskError that says, in one line, why the database refused."""
    code, message, detail, constraint = _diag(exc)
    if code == PERMISSION:
        return PermissionDenied(message)
    if code == RULE:
        return RuleViolation(message)
    if code == INVALID:
        return ValidationError(detail or "value", message)
    if code == NOT_FOUND:
        return NotFound(message)
    if code == CONFLICT:
        return RuleViolation(message)
    if code == "42501":  # insufficient_privilege
        return PermissionDenied(f"Your role may not do this ({message})")
    if code == "23514":  # check_violation
        return ValidationError(constraint or "value", f"Refused by the rule '{constraint}': {message}")
    if code == "23505":  # unique_violation
        return RuleViolation(f"That already exists ({constraint}): {detail or message}")
    if code == "23503":  # foreign_key_violation
        return ValidationError(constraint or "reference", f"Refers to something that does not exist: {detail or message}")
    if code in ("40001", "40P01"):
        return RuleViolation("Another user changed the same data at the same moment; try again")
    return DatabaseRefused(f"The database refused the change: {message}")

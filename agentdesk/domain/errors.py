"""Exceptions shared by the whole application.

Every error AgentDesk raises on purpose derives from :class:`AgentDeskError` and carries a one-line message
that can be shown to the user as it is (status bar, message box, CLI stderr). The subclasses tell the caller
*what kind* of refusal it is, so the GUI can react (highlight a field, offer a reload, ...) without parsing
text.
"""

from __future__ import annotations

from datetime import datetime


class AgentDeskError(Exception):
    """Base class: a refusal with a user-facing, one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(AgentDeskError):
    """Input that cannot be accepted; ``field`` names the offending field, ``message`` says how to fix it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def __repr__(self) -> str:
        return f"ValidationError(field={self.field!r}, message={self.message!r})"


class NotFound(AgentDeskError):
    """A record the user asked for does not exist (or is not visible to them)."""

    def __init__(self, what: str, key: object | None = None) -> None:
        super().__init__(f"{what} {key} not found" if key is not None else f"{what} not found")
        self.what = what
        self.key = key


class PermissionDenied(AgentDeskError):
    """The current user's role does not allow the action."""


class ConflictError(AgentDeskError):
    """Someone else saved the same record first (optimistic locking); the user should reload."""

    def __init__(self, changed_by: str, changed_at: datetime, what: str = "This record") -> None:
        stamp = changed_at.strftime("%d/%m/%Y %H:%M")
        super().__init__(f"{what} was changed by {changed_by} at {stamp}; reload it and try again")
        self.changed_by = changed_by
        self.changed_at = changed_at


class RuleViolation(AgentDeskError):
    """A business rule refused the action (cap reached, definition expired, wrong life-cycle state...)."""

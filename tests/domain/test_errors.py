"""The exception hierarchy and its user-facing messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentdesk.domain.errors import (
    AgentDeskError,
    ConflictError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationError,
)


@pytest.mark.parametrize("cls", [ValidationError, NotFound, PermissionDenied, ConflictError, RuleViolation])
def test_every_error_is_an_agentdesk_error(cls: type[Exception]) -> None:
    assert issubclass(cls, AgentDeskError)


def test_validation_error_names_the_field_and_keeps_the_message() -> None:
    err = ValidationError("amount", "amount must be between 5.00 and 20.00")
    assert err.field == "amount"
    assert str(err) == "amount must be between 5.00 and 20.00"
    assert err.message == str(err)


def test_conflict_error_says_who_changed_it_and_when() -> None:
    when = datetime(2026, 3, 10, 14, 5, tzinfo=UTC)
    err = ConflictError("mlopez", when, what="Ticket T-42")
    assert "changed by mlopez at 10/03/2026 14:05" in str(err)
    assert str(err).startswith("Ticket T-42 was changed by")
    assert err.changed_by == "mlopez" and err.changed_at == when


def test_not_found_message() -> None:
    assert str(NotFound("ticket", 42)) == "ticket 42 not found"
    assert str(NotFound("current user")) == "current user not found"


def test_messages_are_one_line() -> None:
    errors: list[AgentDeskError] = [
        RuleViolation("cap reached"), PermissionDenied("only managers may approve"),
        ConflictError("a", datetime(2026, 1, 1, tzinfo=UTC)), NotFound("x", 1), ValidationError("f", "bad"),
    ]
    assert all("\n" not in str(e) for e in errors)

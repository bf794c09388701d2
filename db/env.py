"""Alembic environment. Run through `agentdesk db upgrade` (agentdesk.db.migrate), which hands us an open
connection already switched to the schema owner role, so every object created belongs to that role."""

from __future__ import annotations

from alembic import context

from agentdesk.db.models import Base

IGNORED_TABLES = {"schema_script"}  # bookkeeping of the repeatable SQL scripts, not a model


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name in IGNORED_TABLES)


connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - alembic's own CLI is not how AgentDesk is migrated
    raise SystemExit("Run migrations with 'agentdesk db upgrade', not with the alembic command.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_name=include_name,
    compare_type=True,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()

"""Queues: listing them page by page, counting them, and taking, assigning and releasing tickets.

A service queue is a unit's queued tickets in the order priority, due time, customer value (highest
first), id. That order is exactly the partial index `ix_ticket_queue_order`, so the next ticket is one
index probe however long the queue, and pages use keyset pagination (`after_key`), never OFFSET.

`take_next` claims the best ticket with `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)`:
many agents taking at the same moment never get the same ticket and never wait for each other. Who may
claim, assign or release is decided by the database (trigger `c_transition` in db/sql/20_tickets.sql): a
CSR claims from his own units' queues and releases his own tickets; only managers assign to others.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError

from agentdesk.bootstrap import Database
from agentdesk.db.models import AppUser, Customer, Unit, UserUnit
from agentdesk.domain.errors import ConflictError, NotFound, RuleViolation, ValidationError
from agentdesk.services import audit
from agentdesk.services.dto import (
    QueueCounts,
    QueueFilter,
    QueueKey,
    QueuePage,
    QueueRef,
    TicketSummary,
    UnitQueueCount,
)
from agentdesk.services.tickets import (
    TICKET,
    load_summary,
    lock_ticket,
    summary_select,
    to_summary,
    update_ticket_row,
)

MAX_PAGE = 500
SESSION_USER: ColumnElement[str] = literal_column("session_user")
# session_user compared with a column: as text in the database's collation, or no index can serve it
# (session_user is of type name, collation "C").
ME: ColumnElement[str] = literal_column('(session_user::text COLLATE "default")')
T = TICKET.c
QUEUE_ORDER = (T.priority, T.due_at, T.customer_value.desc(), T.id)
# Always true (priority is 1-5), but it lets a due-time condition be an index range in ix_ticket_queue_order
# (queue_unit_id, priority, due_at, ...): overdue tickets are found without reading the whole queue.
ALL_PRIORITIES = T.priority.in_((1, 2, 3, 4, 5))

# The user's service units, best queue first (each unit's head ticket is one probe of ix_ticket_queue_order).
_MY_UNITS_BY_BEST_TICKET = text(
    """
    SELECT uu.unit_id
    FROM app_user au
    JOIN user_unit uu ON uu.user_id = au.id
    JOIN unit un ON un.id = uu.unit_id AND un.is_service_queue
    LEFT JOIN LATERAL (
        SELECT t.priority, t.due_at, t.customer_value, t.id FROM ticket t
        WHERE t.state = 'queued' AND t.queue_unit_id = uu.unit_id
        ORDER BY t.priority, t.due_at, t.customer_value DESC, t.id
        LIMIT 1) best ON true
    WHERE au.role_name = (session_user::text COLLATE "default") AND au.active
    ORDER BY best.id IS NULL, best.priority, best.due_at, best.customer_value DESC, best.id, uu.unit_id
    """
)


# -- listing ---------------------------------------------------------------------------------------------


def _unit_id(s: Any, unit_code: str) -> int:
    unit_id = s.scalar(select(Unit.id).where(Unit.code == unit_code))
    if unit_id is None:
        raise NotFound("Queue", unit_code)
    return int(unit_id)


def _like(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filter_conditions(f: QueueFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    now = func.now()
    if f.state:
        conds.append(T.state == f.state)
    if f.call_type:
        conds.append(T.call_type == f.call_type)
    if f.segment:
        conds.append(Customer.segment == f.segment)
    if f.min_age_minutes is not None:
        conds.append(T.created_at <= now - dt.timedelta(minutes=f.min_age_minutes))
    if f.max_age_minutes is not None:
        conds.append(T.created_at >= now - dt.timedelta(minutes=f.max_age_minutes))
    if f.due == "overdue":
        conds += [ALL_PRIORITIES, T.due_at < now]
    elif f.due == "due_soon":
        conds += [ALL_PRIORITIES, T.due_at >= now, T.due_at < now + dt.timedelta(minutes=f.due_soon_minutes)]
    elif f.due is not None:
        raise ValidationError("due", "Filter by due: 'overdue' or 'due_soon'")
    needle = (f.text or "").strip().lower()
    if needle:
        # Find the few matching customers first, then their tickets through the customer index: far
        # cheaper than testing every ticket of a long queue against the customer's name.
        pattern = _like(needle)
        customers = select(Customer.id).where(
            or_(func.lower(Customer.account_number).like(f"{pattern}%"),
                func.lower(Customer.name).like(f"%{pattern}%"))
        )
        conds.append(
            or_(
                T.customer_id == func.any(func.array(customers.scalar_subquery())),
                T.number == _ticket_number(needle),
            )
        )
    return conds


def _ticket_number(text_: str) -> str:
    """'t-42' or '42' -> 'T-000042', as the database numbers tickets (anything else is left as typed)."""
    digits = text_.upper().removeprefix("T-")
    return "T-" + digits.lstrip("0").zfill(6) if digits.isdigit() else text_


def list_queue(
    db: Database,
    queue: QueueRef | str,
    filters: QueueFilter | None = None,
    after_key: QueueKey | None = None,
    limit: int = 50,
) -> QueuePage:
    """One page of a queue; pass the page's `next_key` as `after_key` for the next one.

    Service queues: queued tickets of a unit by priority, due time, customer value (highest first), id.
    "mine": my open tickets by due time. "approvals" / "accounting": tickets waiting there, oldest first.
    """
    ref = QueueRef.parse(queue) if isinstance(queue, str) else queue
    f = filters or QueueFilter()
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"A page holds 1 to {MAX_PAGE} tickets")
    with db.session() as s:
        stmt = summary_select()
        key_cols: tuple[Any, ...]
        if ref.kind == "service":
            stmt = stmt.where(T.state == "queued", T.queue_unit_id == _unit_id(s, ref.unit_code or ""))
            stmt = stmt.order_by(*QUEUE_ORDER)
            key_cols = (T.priority, T.due_at, T.customer_value, T.id)
            if after_key is not None:
                p, d, v, i = after_key.values
                stmt = stmt.where(
                    T.priority >= p,  # a bound the index can use; the OR below settles ties
                    or_(
                        T.priority > p,
                        and_(
                            T.priority == p,
                            or_(
                                T.due_at > d,
                                and_(T.due_at == d, or_(T.customer_value < v, and_(T.customer_value == v, T.id > i))),
                            ),
                        ),
                    ),
                )
        else:
            if ref.kind == "mine":
                stmt = stmt.where(T.assigned_to == ME, T.state != "closed")
                key_cols = (T.due_at, T.id)
            else:
                stmt = stmt.where(T.state == ("pending_approval" if ref.kind == "approvals" else "accounting"))
                key_cols = (T.updated_at, T.id)
            stmt = stmt.order_by(*key_cols)
            if after_key is not None:
                stmt = stmt.where(tuple_(*key_cols) > tuple_(*after_key.values))
        for cond in _filter_conditions(f):
            stmt = stmt.where(cond)
        rows = s.execute(stmt.limit(limit + 1)).all()
    tickets = tuple(to_summary(r) for r in rows[:limit])
    next_key = None
    if len(rows) > limit:
        last = rows[limit - 1]._mapping
        next_key = QueueKey(tuple(last[c.name] for c in key_cols))
    return QueuePage(tickets, next_key)


COUNT_CAP = 10_000  # a queue screen says "10,000+" rather than count a huge queue on every refresh


def queue_counts(db: Database) -> QueueCounts:
    """How many tickets wait in each service queue (and how many are overdue; both counted up to
    COUNT_CAP), how many are mine, waiting for approval and in accounting."""

    def capped(*conds: ColumnElement[bool]) -> Any:
        # Ordered like the index, so the planner walks ix_ticket_queue_order and stops at the cap.
        head = (
            select(T.id).where(T.state == "queued", *conds).correlate(Unit)
            .order_by(*QUEUE_ORDER).limit(COUNT_CAP).subquery()
        )
        return select(func.count()).select_from(head).scalar_subquery()

    with db.session() as s:
        unit_rows = s.execute(
            select(
                Unit.code,
                Unit.name,
                capped(T.queue_unit_id == Unit.id),
                capped(T.queue_unit_id == Unit.id, ALL_PRIORITIES, T.due_at < func.now()),
            )
            .where(Unit.is_service_queue)
            .order_by(Unit.name)
        ).all()
        def count(*conds: ColumnElement[bool]) -> Any:  # each one is served by its own index
            return select(func.count()).select_from(TICKET).where(*conds).scalar_subquery()

        mine, approvals, accounting = s.execute(
            select(
                count(T.assigned_to == ME, T.state != "closed"),
                count(T.state == "pending_approval"),
                count(T.state == "accounting"),
            )
        ).one()
    return QueueCounts(
        units=tuple(UnitQueueCount(code, name, int(q), int(o), COUNT_CAP) for code, name, q, o in unit_rows),
        mine=int(mine),
        approvals=int(approvals),
        accounting=int(accounting),
    )


# -- taking and handing out ------------------------------------------------------------------------------


def claim_statement(unit_id: Any) -> Select[*tuple[Any, ...]]:
    """Claim the head of one unit's queue, skipping tickets other agents are claiming right now.

    One statement: the UPDATE runs in a CTE and the summary is read from its RETURNING (the main query
    would see the row as it was before the update). `unit_id` is a value, a bind parameter or a scalar
    subquery; the planner walks ix_ticket_queue_order for that one unit, with no sort.
    """
    candidate = (
        select(T.id)
        .where(T.state == "queued", T.queue_unit_id == unit_id)
        .order_by(*QUEUE_ORDER)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = (
        update(TICKET)
        .where(T.id == candidate)
        .values(state="in_progress", assigned_to=SESSION_USER)
        .returning(*TICKET.c)
        .cte("claimed")
    )
    return summary_select(claimed)


def _my_only_unit() -> Any:
    """My service unit's id when I am in exactly one (almost every agent), else NULL, as a subquery.

    An aggregate over my few memberships, so the claim statement has no Sort node at all; agents in
    several teams get NULL here and take the slower path in `take_next`.
    """
    return (
        select(func.min(UserUnit.unit_id))
        .join(AppUser, AppUser.id == UserUnit.user_id)
        .join(Unit, and_(Unit.id == UserUnit.unit_id, Unit.is_service_queue))
        .where(AppUser.role_name == ME, AppUser.active)
        .having(func.count() == 1)
        .scalar_subquery()
    )


# Built once: a claim is the hot path of every agent's day, and building the statement costs more than
# running it.
CLAIM_NEXT_STATEMENT = claim_statement(_my_only_unit())  # take_next, the usual case
_CLAIM_IN_UNIT = claim_statement(bindparam("unit_id"))
_CLAIM_IN_UNIT_CODE = claim_statement(select(Unit.id).where(Unit.code == bindparam("unit_code")).scalar_subquery())


def _claimed(s: Any, row: Any) -> TicketSummary | None:
    if row is None:
        return None
    ticket = to_summary(row)
    audit.record_event(
        s, ticket.id, "claimed", f"Taken from the {ticket.queue_unit_name} queue",
        after={"assigned_to": ticket.assigned_to},
    )
    return ticket


# The usual claim runs as a prepared statement on each connection: planning it (a CTE and five joins) costs
# the server more than running it, and every agent runs it all day.
_PREPARED_KEY = "agentdesk_prepared"
_prepared_sql: dict[str, str] = {}
_prepared_names = itertools.count(1)


def _execute_prepared(s: Any, stmt: Any, base_name: str) -> Any:
    """Execute `stmt` (no parameters) through PREPARE / EXECUTE, preparing it once per connection.

    If the connection lost the statement (DEALLOCATE, a schema change that alters its result), the
    transaction is rolled back (nothing has happened in it yet), the statement prepared anew and run again.
    """
    for attempt in (1, 2):
        conn = s.connection()
        prepared: dict[str, str] = conn.info.setdefault(_PREPARED_KEY, {})
        name = prepared.get(base_name)
        if name is None:
            sql = _prepared_sql.get(base_name)
            if sql is None:
                sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                _prepared_sql[base_name] = sql
            name = f"{base_name}_{next(_prepared_names)}"
            conn.exec_driver_sql(f"PREPARE {name} AS {sql}")
            prepared[base_name] = name
        try:
            return conn.exec_driver_sql(f"EXECUTE {name}").one_or_none()
        except DBAPIError as exc:
            code = getattr(exc.orig, "pgcode", None)
            if attempt == 2 or code not in ("26000", "0A000"):  # no such statement / result type changed
                raise
            prepared.pop(base_name, None)
            s.rollback()
    raise AssertionError("unreachable")


def take_next(db: Database, unit_code: str | None = None) -> TicketSummary | None:
    """Claim the best queued ticket of my service queues (or of `unit_code`'s); None when they are empty."""
    with db.session() as s:
        if unit_code is not None:
            row = s.connection().execute(_CLAIM_IN_UNIT_CODE, {"unit_code": unit_code}).one_or_none()
            ticket = _claimed(s, row)
            if ticket is None and s.scalar(select(Unit.id).where(Unit.code == unit_code)) is None:
                raise NotFound("Queue", unit_code)
            return ticket
        # Usually one statement: my team's best ticket that nobody else is taking right now.
        ticket = _claimed(s, _execute_prepared(s, CLAIM_NEXT_STATEMENT, "agentdesk_take_next"))
        if ticket is not None:
            return ticket
        # My queue is empty, or I am in several teams: try my units, best queue head first.
        units = list(s.scalars(_MY_UNITS_BY_BEST_TICKET))
        if not units:
            raise RuleViolation("You are in no service team's queue: ask an administrator to add you to one")
        for unit_id in units:
            ticket = _claimed(s, s.connection().execute(_CLAIM_IN_UNIT, {"unit_id": unit_id}).one_or_none())
            if ticket is not None:
                return ticket
        return None


def claim(db: Database, ticket_id: int) -> TicketSummary:
    """Take one particular queued ticket for myself (picked from a queue list)."""
    with db.session() as s:
        row = s.execute(
            update(TICKET)
            .where(T.id == ticket_id, T.state == "queued")
            .values(state="in_progress", assigned_to=SESSION_USER)
            .returning(T.id)
        ).one_or_none()
        if row is None:
            current = lock_ticket(s, ticket_id)
            taker = current.assigned_to or current.updated_by
            raise ConflictError(taker, current.updated_at, f"Ticket {current.number}")
        ticket = load_summary(s, ticket_id)
        audit.record_event(
            s, ticket_id, "claimed", f"Picked from the {ticket.queue_unit_name} queue",
            after={"assigned_to": ticket.assigned_to},
        )
        return ticket


def assign(db: Database, ticket_id: int, user_name: str, expected_version: int | None = None) -> TicketSummary:
    """Give a ticket to someone (managers and administrators; the database refuses anyone else).

    A queued ticket becomes in progress; an open ticket changes hands.
    """
    who = (user_name or "").strip()
    if not who:
        raise ValidationError("assigned_to", "Say whom to assign the ticket to")
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, expected_version)
        before = {"state": ticket.state, "assigned_to": ticket.assigned_to}
        s.expunge(ticket)
        values: dict[str, Any] = {"assigned_to": who}
        if before["state"] == "queued":
            values["state"] = "in_progress"
        update_ticket_row(s, ticket_id, values)
        kind = "reassigned" if before["assigned_to"] else "assigned"
        audit.record_event(
            s, ticket_id, kind,
            f"Assigned to {who}" + (f" (was {before['assigned_to']})" if before["assigned_to"] else ""),
            before=before, after={"state": values.get("state", before["state"]), "assigned_to": who},
        )
        return load_summary(s, ticket_id)


def reassign(db: Database, ticket_id: int, user_name: str, expected_version: int | None = None) -> TicketSummary:
    """Hand an assigned ticket to someone else (managers and administrators)."""
    return assign(db, ticket_id, user_name, expected_version)


def release(db: Database, ticket_id: int, version: int) -> TicketSummary:
    """Put my ticket back at its place in the queue (a manager may release anyone's)."""
    with db.session() as s:
        ticket = lock_ticket(s, ticket_id, version)
        was = ticket.assigned_to
        s.expunge(ticket)
        update_ticket_row(s, ticket_id, {"state": "queued", "assigned_to": None})
        summary = load_summary(s, ticket_id)
        audit.record_event(
            s, ticket_id, "released", f"Put back in the {summary.queue_unit_name} queue",
            before={"state": "in_progress", "assigned_to": was}, after={"state": "queued"},
        )
        return summary

"""Rows written in bulk: message events, audit entries, new messages (issue 4).

An ORM object costs tens of microseconds to build, track and flush; a message's
life writes four to six rows that nothing in the same transaction needs as
objects (events and audit entries are never updated; a message accepted through
the batch or group-committed route is only rendered), so the hot paths queue them
as plain dicts here and the transaction writes each table's queue with one
``executemany``.

Nothing can observe the difference. Queued rows are written

* before every statement the session executes (``do_orm_execute``), after the
  ORM's own autoflush, so a query always sees them;
* right after every ORM flush (``after_flush``), so a row an appended event
  points at (a new message) is always written first;
* before commit (``before_commit``);

and a rollback discards them with the rest of the transaction.

:func:`update_by_id` writes column updates of existing rows (the hand-off's and
the receipts' message updates) the same way: queued rows first, then one
driver-level ``executemany`` per set of columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, event, insert, update
from sqlalchemy.orm import ORMExecuteState, Session

_KEY = "frontdesk.appends"


def add(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Queue ``row`` for ``table``; it is written before anything can read it."""
    queued: dict[Table, list[dict[str, Any]]] | None = session.info.get(_KEY)
    if queued is None:
        queued = session.info[_KEY] = {}
    rows = queued.get(table)
    if rows is None:
        rows = queued[table] = []
    rows.append(row)


def write(session: Session) -> None:
    """Write every queued row now, parent tables first, keeping each table's row order."""
    queued: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_KEY, None)
    if not queued:
        return
    conn = session.connection()
    for table in sorted(queued, key=_dependency_rank):
        rows = queued[table]
        start = 0
        # executemany needs one key set per statement; rows of a table nearly always share it.
        for end in range(1, len(rows) + 1):
            if end == len(rows) or rows[end].keys() != rows[start].keys():
                _insert_many(conn, table, rows[start:end])
                start = end


@dataclass(frozen=True)
class _Plan:
    """One table's INSERT for one set of keys, compiled for one dialect, with the
    columns' own bind processors (the same conversions SQLAlchemy applies) and the
    scalar defaults of the columns a row leaves out."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: dict[str, Any]

    @property
    def converted(self) -> list[tuple[int, Callable[[Any], Any]]]:
        return [(i, p) for i, p in enumerate(self.processors) if p is not None]


_PLANS: dict[tuple[str, Table, tuple[str, ...]], _Plan | None] = {}


def _plan(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Plan | None:
    """None when a left-out column's default is not a plain value (a callable or SQL):
    that needs SQLAlchemy's full insert path."""
    cache_key = (dialect.name, table, keys)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    defaults: dict[str, Any] = {}
    plan: _Plan | None = None
    for name in names:
        if name in keys:
            continue
        default = table.columns[name].default if name in table.columns else None
        if default is None or not getattr(default, "is_scalar", False):
            break
        defaults[name] = getattr(default, "arg", None)
    else:
        plan = _Plan(
            sql=compiled.string,
            names=names,
            positional=compiled.positional,
            processors=tuple(
                table.columns[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
            ),
            defaults=defaults,
        )
    _PLANS[cache_key] = plan
    return plan


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``executemany`` straight on the driver: SQLAlchemy's per-row parameter handling
    cost more than the insert itself (issue 4)."""
    plan = _plan(conn.dialect, table, tuple(rows[0]))
    if plan is None:
        conn.execute(insert(table), rows)
        return
    if plan.defaults:
        rows = [{**plan.defaults, **row} for row in rows]
    names, converted = plan.names, plan.converted
    params: list[Any] = []
    for row in rows:
        values = [row[name] for name in names]
        for index, process in converted:
            values[index] = process(values[index])
        params.append(tuple(values) if plan.positional else dict(zip(names, values, strict=True)))
    conn.exec_driver_sql(plan.sql, params)


@dataclass(frozen=True)
class _UpdatePlan:
    """``UPDATE table SET <names> WHERE id = ?`` compiled for one dialect, with each
    parameter's bind processor in the compiled order."""

    sql: str
    order: tuple[str, ...]  # "id" or a column name, per placeholder
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]


_UPDATE_PLANS: dict[tuple[str, Table, tuple[str, ...]], _UpdatePlan] = {}


def _update_plan(dialect: Dialect, table: Table, names: tuple[str, ...]) -> _UpdatePlan:
    cache_key = (dialect.name, table, names)
    plan = _UPDATE_PLANS.get(cache_key)
    if plan is None:
        stmt = (
            update(table)
            .where(table.c.id == bindparam("k_id"))
            .values({n: bindparam(f"v_{n}", type_=table.c[n].type) for n in names})
        )
        compiled = stmt.compile(dialect=dialect)
        binds = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        order = tuple("id" if b == "k_id" else b[2:] for b in binds)
        plan = _UPDATE_PLANS[cache_key] = _UpdatePlan(
            sql=compiled.string,
            order=order,
            positional=compiled.positional,
            processors=tuple(
                table.columns[n].type.dialect_impl(dialect).bind_processor(dialect) for n in order
            ),
        )
    return plan


def update_by_id(session: Session, table: Table, rows: dict[str, dict[str, Any]]) -> None:
    """Set columns of rows found by ``id``: one driver-level ``executemany`` per set of
    column names, after the ORM's pending changes and the queued rows are written
    (as before any statement). Rows the session holds are not refreshed: the
    caller expires them."""
    if not rows:
        return
    _before_statement(session)
    conn = session.connection()
    groups: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}
    for row_id, values in rows.items():
        groups.setdefault(tuple(sorted(values)), []).append((row_id, values))
    for names, members in groups.items():
        plan = _update_plan(conn.dialect, table, names)
        params: list[Any] = []
        for row_id, values in members:
            ordered = [row_id if n == "id" else values[n] for n in plan.order]
            for i, process in enumerate(plan.processors):
                if process is not None:
                    ordered[i] = process(ordered[i])
            if plan.positional:
                params.append(tuple(ordered))
            else:
                params.append(
                    {
                        ("k_id" if n == "id" else f"v_{n}"): v
                        for n, v in zip(plan.order, ordered, strict=True)
                    }
                )
        conn.exec_driver_sql(plan.sql, params)


_RANKS: dict[Table, int] = {}


def _dependency_rank(table: Table) -> int:
    """Parents before children (a queued message before the events that point at it).

    ``MetaData.sorted_tables`` sorts the whole schema on every call: ranked once."""
    rank = _RANKS.get(table)
    if rank is None:
        for index, known in enumerate(table.metadata.sorted_tables):
            _RANKS[known] = index
        rank = _RANKS[table]
    return rank


def discard(session: Session) -> None:
    session.info.pop(_KEY, None)


def _before_statement(session: Session) -> None:
    if _KEY in session.info:
        session._autoflush()  # the ORM's rows first: queued rows may point at them
        write(session)


def _before_execute(state: ORMExecuteState) -> None:
    _before_statement(state.session)


def _after_flush(session: Session, _context: Any) -> None:
    if _KEY in session.info:
        write(session)


def _before_commit(session: Session) -> None:
    if _KEY in session.info:
        session.flush()
        write(session)


def _after_rollback(session: Session, _previous: Any) -> None:
    discard(session)


event.listen(Session, "do_orm_execute", _before_execute)
event.listen(Session, "after_flush", _after_flush)
event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_soft_rollback", _after_rollback)

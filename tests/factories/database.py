"""The test database, two ways.

- :func:`reset`: empty the database the app, the worker and the CLI commit to, for tests that
  drive them end to end (they open sessions and connections of their own).
- :func:`rolled_back_session`: a session inside a transaction that is rolled back at the end,
  for tests of stores and services that take the session they are given. Nothing is emptied
  and nothing leaks: the code under test may commit, which releases a SAVEPOINT only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.orm import Session

from factories.sponsors import restore_default
from safety.db.base import Base
from safety.db.generations import forget
from safety.db.session import (
    _sqlite_pragmas,
    get_engine,
    import_all_models,
    normalise_url,
    session_scope,
)

# What the migrations leave in an empty database, and every reset restores.
COUNTERS: list[tuple[str, int]] = []


def reset(url: str) -> None:
    """Every table empty but ``counters`` (the case-number counter back at 0), and every id
    sequence restarted: the state the migrations leave.

    Only the tables that hold rows are emptied, with ``DELETE``, children first so that no
    foreign key is ever violated (nor has to be switched off). On PostgreSQL ``TRUNCATE``
    costs several milliseconds per table (new files, synced at commit) whether or not it
    holds rows: truncating every table before each test cost ~50 ms. This costs ~1 ms when
    nothing was written, ~6 ms when the audit trail was (its trigger refuses ``DELETE``, so
    it alone is truncated).
    """
    tables, keep_rows, cycle_breakers = _tables(url)
    with get_engine(url).begin() as conn:
        dirty = _tables_with_rows(conn, tables)
        for table, column in cycle_breakers:
            if table in dirty:  # e.g. reports.case_version_id, in a cycle with case_versions
                conn.execute(text(f"UPDATE {_quoted(conn, [table])[0]} SET {column} = NULL"))
        for name in dirty:
            if name in keep_rows:  # a trigger refuses DELETE (the audit trail)
                conn.execute(text(f"TRUNCATE {_quoted(conn, [name])[0]} CASCADE"))
            else:
                conn.execute(text(f"DELETE FROM {_quoted(conn, [name])[0]}"))
        if conn.dialect.name == "postgresql":
            # What RESTART IDENTITY does: every sequence that has handed out a value (inserts
            # rolled back included) starts again. (SQLite reuses rowids of emptied tables.)
            conn.execute(text(
                "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
                "FROM pg_sequences "
                "WHERE schemaname = current_schema() AND last_value IS NOT NULL"))
        if [tuple(r) for r in conn.execute(text("SELECT name, value FROM counters"))] \
                != COUNTERS:
            conn.execute(text("DELETE FROM counters"))
            if COUNTERS:
                conn.execute(text("INSERT INTO counters (name, value) VALUES (:name, :value)"),
                             [{"name": n, "value": v} for n, v in COUNTERS])
        if "sponsors" in dirty or not conn.execute(text("SELECT 1 FROM sponsors")).first():
            restore_default(conn)
    # The sponsors are made again with their first registry generation: what this process
    # kept under those numbers is another database's.
    forget()


@cache
def _tables(url: str) -> tuple[list[str], frozenset[str], list[tuple[str, str]]]:
    """The tables to empty, children first; those a trigger keeps rows in; the foreign keys
    that close a cycle (``use_alter``), to be cleared first. Read once: the schema is migrated
    before the first test and never changes during a run."""
    import_all_models()
    with get_engine(url).connect() as conn:
        existing = set(inspect(conn).get_table_names())
        keep_rows: set[str] = set()
        if conn.dialect.name == "postgresql":
            keep_rows = set(conn.execute(text(
                "SELECT DISTINCT c.relname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                # A BEFORE trigger may refuse; the AFTER ones (migration 0021's registry
                # generation) only follow a DELETE.
                "WHERE NOT t.tgisinternal AND (t.tgtype::int & 2) <> 0 "
                "AND c.relnamespace = current_schema()::regnamespace")).scalars())
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)
              if t.name in existing and t.name != "counters"]
    cycle_breakers = [(t.name, fk.parent.name) for t in Base.metadata.sorted_tables
                      for fk in t.foreign_keys if fk.use_alter and t.name in existing]
    return tables, frozenset(keep_rows), cycle_breakers


def _tables_with_rows(conn: Connection, tables: list[str]) -> list[str]:
    if not tables:
        return []
    quoted = _quoted(conn, tables)
    probe = " UNION ALL ".join(
        f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {q})" for i, q in enumerate(quoted))
    found = set(conn.execute(text(probe)).scalars())
    return [t for i, t in enumerate(tables) if i in found]


def _quoted(conn: Connection, names: list[str]) -> list[str]:
    return [conn.dialect.identifier_preparer.quote(n) for n in names]


def savepoint_engine(url: str) -> Engine:
    """An engine for :func:`rolled_back_session`, apart from the app's.

    SQLite needs SQLAlchemy's documented workaround for savepoints: the ``sqlite3`` driver's
    legacy transaction control emits no BEGIN before a SAVEPOINT, so a released savepoint
    would be committed for good. The driver's own BEGIN is switched off and SQLAlchemy emits
    one when a transaction begins ("Transactions with SQLite and the sqlite3 driver").
    """
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        # Pre-ping: a test terminates every backend of the database (a restart, as the intake
        # sees it); a pooled connection it killed is replaced, not handed to the next test.
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        _sqlite_pragmas(dbapi_connection, record)  # the app's connection set-up

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session on one connection inside an outer transaction that is rolled back at the end
    (SQLAlchemy's "Joining a Session into an External Transaction"). ``commit()`` and
    ``rollback()`` in the code under test work on a SAVEPOINT of that transaction."""
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint",
                          expire_on_commit=False)  # as the app's sessions
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


def count_rows(url: str, model: Any) -> int:
    """How many rows a table holds, read on a connection of its own (what the app committed)."""
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def row_counts(url: str) -> dict[str, int]:
    """How many rows each table holds (what the app committed): a test compares two of these
    to show that a refused request wrote nothing anywhere."""
    tables = _tables(url)[0]
    with get_engine(url).connect() as conn:
        quoted = _quoted(conn, tables)
        probe = " UNION ALL ".join(
            f"SELECT {i}, count(*) FROM {q}" for i, q in enumerate(quoted))
        counts = {i: n for i, n in conn.execute(text(probe))}
    return {t: counts[i] for i, t in enumerate(tables)}


class Statements:
    """How many statements the engine of ``url`` has sent since this was made (until
    ``close``): what a test of a lookup's round trips counts."""

    def __init__(self, url: str) -> None:
        self.n = 0
        self.engine = get_engine(url)
        event.listen(self.engine, "before_cursor_execute", self.count)

    def count(self, *_: Any) -> None:
        self.n += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.count)


@contextmanager
def statements_sent(url: str) -> Iterator[Statements]:
    counted = Statements(url)
    try:
        yield counted
    finally:
        counted.close()

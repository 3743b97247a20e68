"""The application's database role on PostgreSQL: what the service may do, and no more.

Two roles (README, "Two database roles"): the **owner** owns the tables, runs the migrations
and this; the **application role**, which the web app, the workers and the commands connect as,
is granted from the models' own declarations (``safety.db.base.Base``):

- every table: SELECT and INSERT (not the columns only the database writes: the audit seal);
- UPDATE of the columns a table lets change (``__updatable__``), none of an immutable one:
  never ``reports.raw`` nor ``case_versions.data``, never any audit event;
- DELETE unless its rows are kept (``__keep_rows__``): never an audit event, report or
  signature;
- TRUNCATE, triggers, DDL: never (it owns nothing, so it can neither disable the audit trail's
  triggers nor alter a table);
- EXECUTE on ``audit_events_seal()``, which seals new audit events into their chains with
  the owner's rights (the scheduler's job);
- nothing on a compartment table (``__compartment__``: the treatment assignments of blinded
  studies, EU CTR 536/2014 Annex III 2.5, ICH E2A III.C.2): those are the **unblinded
  role**'s (:func:`grant_unblinded_role`), which may SELECT, INSERT and UPDATE them (what
  the model lets change) and nothing else in the database. Only
  ``safety.blinding.store`` connects as it (``SAFETY_UNBLINDED_DATABASE_URL``), and writes
  the audit event of every read through the application's connection.

Run by the owner after every ``safety db upgrade`` (a new table needs its grants); idempotent:
what the role held before is revoked and granted afresh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from safety.db.base import Base
from safety.db.session import get_engine, import_all_models

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(ValueError):
    """The role cannot be the application's role (or there are no roles: SQLite)."""


@dataclass(frozen=True)
class TableGrant:
    table: str
    insert: tuple[str, ...]  # the columns it may insert
    update: tuple[str, ...]  # the columns it may change; () none
    delete: bool


def table_grants(compartment: bool = False) -> list[TableGrant]:
    """What the application role is granted on each table, from the models; ``compartment``:
    what the unblinded role is granted on the compartment's tables."""
    import_all_models()
    grants = []
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__tablename__):
        model = mapper.class_
        if model.__compartment__ is not compartment:
            continue
        table = model.__table__
        columns = [c.name for c in table.columns]
        insert = tuple(c for c in columns if c not in model.__set_by_database__)
        updatable = model.__updatable__
        update = tuple(columns if updatable is None else
                       (c for c in columns if c in updatable))
        grants.append(TableGrant(table.name, insert, update, not model.__keep_rows__))
    return grants


def grant_app_role(owner_url: str, role: str, password: str | None = None) -> list[TableGrant]:
    """Create ``role`` (LOGIN) if it does not exist, and grant it exactly
    :func:`table_grants` in the owner's database and schema. Refused for a superuser, the
    tables' owner or a member of the owner's role: each could erase the audit trail."""
    grants = table_grants()
    _create_and_grant(owner_url, role, password, grants, seal=True)
    return grants


def grant_unblinded_role(owner_url: str, role: str, app_role: str,
                         password: str | None = None) -> list[TableGrant]:
    """Create the unblinded ``role`` (LOGIN) if missing and grant it the compartment's tables
    only (``table_grants(compartment=True)``); refused for the application's role itself (the
    compartment would be no compartment), a superuser, the owner or a member of either."""
    if role == app_role:
        raise RoleError(f"{role} is the application's role: the treatment assignments need "
                        "a role of their own")
    grants = table_grants(compartment=True)
    _create_and_grant(owner_url, role, password, grants, seal=False, not_member_of=app_role)
    return grants


def _create_and_grant(owner_url: str, role: str, password: str | None,
                      grants: list[TableGrant], *, seal: bool,
                      not_member_of: str | None = None) -> None:
    if not _NAME.match(role):
        raise RoleError(f"role {role!r}: lower-case letters, digits and _ only")
    engine = get_engine(owner_url)
    if engine.dialect.name != "postgresql":
        raise RoleError("database roles are PostgreSQL's: the embedded SQLite database has "
                        "none (it is a file the service's user owns)")
    with engine.begin() as conn:
        quoted = conn.dialect.identifier_preparer.quote(role)
        owner = conn.execute(text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename = 'audit_events'")).scalar_one_or_none()
        if owner is None:
            raise RoleError("no audit_events table here: run `safety db upgrade` first")
        if role == owner:
            raise RoleError(f"{role} owns the tables: the application needs a role of its own")
        exists = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"),
                              {"r": role}).first()
        if exists is None:
            conn.execute(text(f"CREATE ROLE {quoted} LOGIN"))
        elif exists[0]:
            raise RoleError(f"{role} is a superuser: it could do anything to the audit trail")
        elif conn.execute(text("SELECT pg_has_role(:r, :o, 'MEMBER')"),
                          {"r": role, "o": owner}).scalar_one():
            raise RoleError(f"{role} is a member of {owner}, the tables' owner: it would hold "
                            "the owner's rights")
        for other in filter(None, (not_member_of,)):
            if conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :o) "
                                 "AND (pg_has_role(:r, :o, 'MEMBER') "
                                 "OR pg_has_role(:o, :r, 'MEMBER'))"),
                            {"r": role, "o": other}).scalar_one():
                raise RoleError(f"{role} and {other} are members of one another: the "
                                "application would hold the compartment's rights")
        if password is not None:
            conn.execute(text(conn.execute(text("SELECT format('ALTER ROLE %I PASSWORD %L', "
                                                ":r, :p)"), {"r": role, "p": password})
                              .scalar_one()))
        _grant(conn, quoted, grants, seal=seal)


def _grant(conn: Connection, role: str, grants: list[TableGrant], *, seal: bool) -> None:
    quote = conn.dialect.identifier_preparer.quote
    database = quote(conn.execute(text("SELECT current_database()")).scalar_one())
    schema = quote(conn.execute(text("SELECT current_schema()")).scalar_one())
    conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {role}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
    conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}"))
    conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}"))
    for g in grants:
        table = f"{schema}.{quote(g.table)}"
        conn.execute(text(f"GRANT SELECT ON {table} TO {role}"))
        conn.execute(text(f"GRANT INSERT ({', '.join(quote(c) for c in g.insert)}) "
                          f"ON {table} TO {role}"))
        if g.update:
            conn.execute(text(f"GRANT UPDATE ({', '.join(quote(c) for c in g.update)}) "
                              f"ON {table} TO {role}"))
        if g.delete:
            conn.execute(text(f"GRANT DELETE ON {table} TO {role}"))
    if not seal:  # the unblinded role: its tables, nothing else (they have no sequence)
        return
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}"))
    # Sealing new audit events into their chains, with the owner's rights (migration 0005).
    conn.execute(text(f"GRANT EXECUTE ON FUNCTION {schema}.audit_events_seal() TO {role}"))

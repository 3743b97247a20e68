"""Declarative base shared by every table, with a naming convention Alembic can diff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    MetaData,
    Table,
    TypeDecorator,
    Uuid,
    event,
    inspect,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones; PostgreSQL ``timestamptz`` does. Normalising here means domain
    code never meets a naive datetime, whichever database is underneath.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class UuidKey(TypeDecorator[uuid.UUID]):
    """A UUID column that also takes the UUID's text. psycopg binds either, SQLite's binding
    wants the object: an id taken from a URL, a form, a command line or a JSON answer then
    finds its row on the embedded database as on PostgreSQL."""

    impl = Uuid
    cache_ok = True

    def process_bind_param(self, value: uuid.UUID | str | None, dialect: Any) -> uuid.UUID | None:
        if isinstance(value, str):
            return uuid.UUID(value)
        return value


def enum_type(enum: type[StrEnum], name: str, length: int) -> Enum:
    """A status column: stored as its string value (VARCHAR) with a CHECK constraint naming
    the allowed values, read back as the enum. Not a native PostgreSQL enum type: adding a
    state then needs no type migration outside a transaction (docs/decisions.md)."""
    return Enum(enum, name=name, native_enum=False, create_constraint=True, length=length,
                values_callable=lambda members: [m.value for m in members],
                validate_strings=True)


# JSONB on PostgreSQL (indexable), plain JSON elsewhere.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Every table. A table that is part of the record says so with two class attributes,
    checked at every flush (and, on PostgreSQL, by triggers for the audit trail):

    - ``__updatable__``: the only columns that may change once a row is written (``None``:
      any column; an empty set: the row is immutable);
    - ``__keep_rows__``: rows are never deleted (audit events, reports, signatures, users);
    - ``__set_by_database__``: columns only the database writes (the audit trail's seal);
    - ``__compartment__``: a table only the unblinded role may read or write (the treatment
      assignments of blinded studies, ``safety.blinding.store``): the application's role
      gets no privilege on it.

    On PostgreSQL the application's role is granted exactly this (``safety.db.roles``).
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __updatable__: ClassVar[frozenset[str] | None] = None
    __keep_rows__: ClassVar[bool] = False
    __set_by_database__: ClassVar[frozenset[str]] = frozenset()
    __compartment__: ClassVar[bool] = False

    if TYPE_CHECKING:  # every model maps one table (none a join or a select), as stores use it
        __table__: ClassVar[Table]


class ImmutableRowError(RuntimeError):
    """An attempt to change a row (or a column) that the audit rules make immutable."""


@event.listens_for(Session, "before_flush")
def _guard_the_record(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.dirty:
        updatable = getattr(type(obj), "__updatable__", None)
        if updatable is None or not session.is_modified(obj):
            continue
        changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()} - updatable
        if changed:
            what = "is immutable" if not updatable else "columns are immutable"
            raise ImmutableRowError(f"{type(obj).__name__} {what}: {sorted(changed)}")
    for obj in session.deleted:
        if getattr(type(obj), "__keep_rows__", False):
            raise ImmutableRowError(f"{type(obj).__name__} rows are never deleted")


def utcnow() -> datetime:
    return datetime.now(UTC)

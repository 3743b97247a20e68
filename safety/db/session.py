"""Engines and sessions. One engine per process and URL; sessions are short and explicit."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from safety.config import Settings


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@cache
def get_engine(url: str) -> Engine:
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@cache
def get_intake_engine(url: str) -> Engine:
    """PostgreSQL connections for the intake API's single-statement writes: autocommit (the
    statement is its own transaction, so no second round trip to commit) and no pre-ping (the
    caller retries once on a connection found broken). Both halve the round trips of the
    hottest write of the service."""
    # Small: one connection per request thread at most (gunicorn's threads), on top of the
    # main pool, within PostgreSQL's default 100 connections for several web processes.
    return create_engine(normalise_url(url), pool_pre_ping=False, pool_size=4,
                         max_overflow=4, isolation_level="AUTOCOMMIT")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets the web process read while a worker writes; foreign keys are off by default.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


# ``Session.info`` key: the URL of the compartment's connection (``safety.blinding.store``).
COMPARTMENT_URL = "compartment_url"


@cache
def get_sessionmaker(url: str, compartment_url: str | None = None) -> sessionmaker[Session]:
    """Sessions on ``url``. Every table module is imported first: a flush resolves foreign keys
    by table name (``cases.site_id`` → ``sites``), and a process that imported only what its
    job needs (a ``safety worker``) would otherwise fail every flush that reaches such a key.

    ``compartment_url`` (``Settings.unblinded_database_url``) travels with each session in
    its ``info``: the one function that reads the treatment assignments opens its own
    connection there, as the only role that may (``safety.blinding.store``)."""
    import_all_models()
    info = {COMPARTMENT_URL: compartment_url} if compartment_url else {}
    return sessionmaker(bind=get_engine(url), expire_on_commit=False, info=info)


@contextmanager
def session_scope(url: str, compartment_url: str | None = None) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = get_sessionmaker(url, compartment_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def unit_of_work(settings: Settings) -> AbstractContextManager[Session]:
    """:func:`session_scope` on the configured database, carrying the compartment's URL."""
    return session_scope(settings.effective_database_url, settings.unblinded_database_url)


# SQLSTATE classes of a server that went away or is not there yet: 08 connection exceptions,
# 57P01..57P05 an administrator or crash shutdown, "the database system is starting up".
_UNAVAILABLE_SQLSTATES = ("08", "57P")


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached right now (restarting, stopped, the
    connection dropped, the pool exhausted) rather than that the work was wrong: such a
    failure is answered 503 with Retry-After and retried by the jobs, never recorded as the
    work's failure. A deadlock or a constraint violation is not one."""
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, psycopg.InterfaceError):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        return state is None or state.startswith(_UNAVAILABLE_SQLSTATES)
    return False


def import_all_models() -> None:
    """Import every table module so that ``Base.metadata`` is complete (for Alembic)."""
    import safety

    for mod in pkgutil.walk_packages(safety.__path__, "safety."):
        if mod.name.endswith(".store"):
            importlib.import_module(mod.name)

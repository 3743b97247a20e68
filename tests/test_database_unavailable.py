"""Which database errors mean "unreachable for now" (503 with Retry-After; a job waits and
tries again) and which are the work's own failure (500; a failed attempt)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from safety.db.session import is_database_unavailable


def _wrapped(orig: Exception, invalidated: bool = False) -> OperationalError:
    return OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("exc", [
    psycopg.OperationalError("connection failed: Connection refused"),  # no SQLSTATE: connect
    errors.AdminShutdown("terminating connection due to administrator command"),
    errors.CannotConnectNow("the database system is starting up"),
    errors.ConnectionFailure("connection failure"),
    psycopg.InterfaceError("the connection is closed"),
    _wrapped(psycopg.OperationalError("server closed the connection unexpectedly")),
    _wrapped(errors.AdminShutdown("terminating connection")),
    _wrapped(Exception("anything"), invalidated=True),
    PoolTimeout("QueuePool limit of size 10 overflow 20 reached"),
], ids=repr)
def test_an_unreachable_database_is_unavailable(exc: Exception) -> None:
    assert is_database_unavailable(exc)


@pytest.mark.parametrize("exc", [
    errors.DeadlockDetected("deadlock detected"),
    errors.LockNotAvailable("could not obtain lock"),
    errors.QueryCanceled("canceling statement due to statement timeout"),
    _wrapped(errors.DeadlockDetected("deadlock detected")),
    IntegrityError("INSERT", {}, errors.UniqueViolation("duplicate key")),
    RuntimeError("not a database error"),
], ids=repr)
def test_a_failure_of_the_work_is_not(exc: Exception) -> None:
    assert not is_database_unavailable(exc)

"""What every command needs: the settings (with a clear error for a bad value), a session on
the configured database, and a case found by any of its references."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import Session

from safety.config import ConfigError, Settings, load_settings
from safety.db.migrate import ensure_embedded_database
from safety.db.session import session_scope

if TYPE_CHECKING:
    from safety.cases.store import Case


def file_settings() -> Settings:
    """The settings, a bad value reported as a usage error, and nothing created: the file-level
    tools (``code``, ``e2b``, ``rules``) need no instance folder in the working directory."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def settings() -> Settings:
    loaded = file_settings()
    loaded.home.mkdir(parents=True, exist_ok=True)
    return loaded


def ready_settings() -> Settings:
    """The settings, with the embedded database migrated (PostgreSQL is migrated explicitly
    with ``safety db upgrade``)."""
    loaded = settings()
    ensure_embedded_database(loaded)
    return loaded


@contextmanager
def database(loaded: Settings | None = None) -> Iterator[Session]:
    """A unit of work on the configured database: committed when the command succeeds."""
    with session_scope((loaded or settings()).effective_database_url) as session:
        yield session


def find_case(session: Session, ref: str) -> Case:
    from safety.cases.service import find_case_by_reference

    found = find_case_by_reference(session, ref)
    if found is None:
        raise click.ClickException(f"no case {ref!r}")
    return found


def redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url

"""What every command needs: the settings (with a clear error for a bad value), a session on
the configured database, and a case found by any of its references.

The database modules are imported where a command opens a session, not here: the file-level
tools (``code``, ``e2b``, ``rules``) import this module for their settings and must start
without SQLAlchemy, psycopg and Alembic (``python -X importtime``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from safety.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from safety.accounts.scope import Scope
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
    from safety.db.migrate import ensure_embedded_database
    from safety.sponsors.service import SponsorError

    loaded = settings()
    try:
        migrated = ensure_embedded_database(loaded, migration_attributes(loaded))
    except SponsorError as exc:  # the installation's settings 0004 cannot migrate
        raise click.ClickException(f"database not upgraded: {exc}") from exc
    if migrated:
        index_queue(loaded.effective_database_url)
        ask_held_reports(loaded.effective_database_url, loaded)
        reindex_dedup(loaded.effective_database_url, loaded, show_progress=False)
    return loaded


def index_queue(url: str) -> int:
    """Index the cases stored before the queue's index existed (migration 0011 creates its
    tables; the rows are derived with this release's code, not the migration's)."""
    from safety.db.session import session_scope
    from safety.review.queue import index_missing_cases

    with session_scope(url) as session:
        return index_missing_cases(session)


def ask_held_reports(url: str, loaded: Settings) -> int:
    """Raise the questions reports held before migration 0008 never got (idempotent:
    ``safety.intake.processing.ask_held_reports``); how many were raised."""
    from safety.db.session import session_scope
    from safety.intake.processing import ask_held_reports as ask

    with session_scope(url) as session:
        return ask(session, loaded)


def reindex_dedup(url: str, loaded: Settings, show_progress: bool = True) -> str:
    """Re-index the dedup profiles of every sponsor stored with an older blocking-key scheme
    (migration 0017 numbers the schemes; the keys are built with this release's code). The
    embedded database's automatic upgrade does it silently: the command's output is its own."""
    from safety.db.session import session_scope

    with session_scope(url) as session:
        return reindex_sponsors(session, loaded, show_progress=show_progress)


@contextmanager
def database(loaded: Settings | None = None) -> Iterator[Session]:
    """A unit of work on the configured database, limited to the sponsors given with
    ``--sponsor`` (``safety.db.tenancy``): committed when the command succeeds."""
    from safety.db.session import unit_of_work
    from safety.db.tenancy import restrict_to_sponsors

    with unit_of_work(loaded or settings()) as session:
        restrict_to_sponsors(session, _sponsor_ids(session))
        yield session


def chosen_sponsors() -> tuple[str, ...]:
    """The codes given with ``safety --sponsor``."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    obj = root.obj if root is not None and isinstance(root.obj, dict) else {}
    codes: tuple[str, ...] = obj.get("sponsors", ())
    return codes


def scope(session: Session) -> Scope:
    """Whose data the command may see: the sponsors given with ``--sponsor``, else all."""
    from safety.accounts.scope import Scope

    return Scope(sponsor_ids=_sponsor_ids(session))


def one_sponsor(session: Session) -> int:
    """The sponsor a command that creates data works for: the one given with ``--sponsor``,
    or the only one there is."""
    from safety.sponsors.service import sponsors

    ids = _sponsor_ids(session)
    candidates = [s.id for s in sponsors(session) if ids is None or s.id in ids]
    if len(candidates) != 1:
        raise click.UsageError("name the sponsor: safety --sponsor CODE ..."
                               if candidates else "no sponsor: add one with `safety sponsor add`")
    return candidates[0]


def _sponsor_ids(session: Session) -> frozenset[int] | None:
    codes = chosen_sponsors()
    if not codes:
        return None
    from safety.sponsors.service import SponsorError, find

    try:
        return frozenset(find(session, code).id for code in codes)
    except SponsorError as exc:
        raise click.UsageError(str(exc)) from exc


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


def migration_attributes(loaded: Settings) -> dict[str, object]:
    from safety.sponsors.service import migration_defaults

    return migration_defaults(loaded.org_code, loaded.timezone, loaded.sender_profile_path)


def reindex_sponsors(session: Session, loaded: Settings, batch: int = 500,
                     show_progress: bool = True) -> str:
    """``reindex`` for every sponsor the session may see, progress on stderr; a summary."""
    from safety.dedup.service import reindex
    from safety.sponsors.service import sponsors

    ids = scope(session).sponsor_ids
    lines = []
    for sponsor in sponsors(session):
        if ids is not None and sponsor.id not in ids:
            continue

        def progress(done: int, total: int, code: str = sponsor.code) -> None:
            click.echo(f"{code}: {done}/{total} profile(s) re-indexed", err=True)

        n = reindex(session, loaded, sponsor.id, batch, progress if show_progress else None)
        lines.append(f"{sponsor.code}: {n} profile(s) re-indexed" if n
                     else f"{sponsor.code}: dedup index up to date")
    return "\n".join(lines) or "no sponsor"

"""The treatment assignments in a real compartment (issue 19, item 1): on PostgreSQL the
application's role holds no privilege on ``treatment_assignments``; only the unblinded role
reads and writes it, through ``safety.blinding.store``, and every read is an audit event
written with the application's connection. Each test creates its two roles with
``safety db roles`` and drops them after; on SQLite (one user, no roles) the compartment is
logical only and the same functions work over the one connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from click.testing import CliRunner
from factories.accounts import add_user
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from safety.accounts.store import User
from safety.audit.store import AuditEvent
from safety.blinding.store import read_assignments
from safety.config import Settings
from safety.db.session import get_engine, get_sessionmaker, session_scope
from safety.products.service import import_registry, registry_from_json
from safety.review.unblinding import import_randomisation

REGISTRY = {
    "products": [{"id": "ZEL", "name": "Zelvorin", "substances": ["zelvoranib"],
                  "statuses": [{"jurisdiction": "EU", "status": "investigational"}]}],
    "studies": [{"protocol": "ZEL-301", "jurisdictions": ["EU"], "products": ["ZEL"],
                 "blinded": True, "title": "Zelvorin versus placebo"}],
}
LIST = ("Subject,Arm,Treatment,Strength,Kit\n"
        "101-004,A,ZEL,20 mg,K-7781\n"
        "101-005,B,placebo,,K-7782\n")


def _roles(*args: str) -> object:
    from safety.cli import main

    return CliRunner().invoke(main, ["db", "roles", *args])


@dataclass(frozen=True)
class Roles:
    app: str
    app_url: str
    unblinded: str
    unblinded_url: str


def _url(owner: str, role: str) -> str:
    return make_url(owner).set(username=role, password=None).render_as_string(
        hide_password=False)


@pytest.fixture()
def roles(settings: Settings) -> Iterator[Roles]:
    owner = settings.effective_database_url
    if not owner.startswith("postgres"):
        pytest.skip("database roles are PostgreSQL's")
    tag = uuid.uuid4().hex[:10]
    app, unblinded = f"sd_app_{tag}", f"sd_unblinded_{tag}"
    result = _roles("--app-role", app, "--unblinded-role", unblinded)
    assert result.exit_code == 0, result.output
    assert "no privilege on treatment_assignments" in result.output
    assert f"{unblinded}: granted on treatment_assignments only" in result.output
    try:
        yield Roles(app, _url(owner, app), unblinded, _url(owner, unblinded))
    finally:
        for name in (app, unblinded):
            get_engine(_url(owner, name)).dispose()
            with get_engine(owner).begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE usename = :n"), {"n": name})
                conn.execute(text(f'DROP OWNED BY "{name}"'))
                conn.execute(text(f'DROP ROLE "{name}"'))


def _as(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def _study(url: str, compartment: str | None) -> User:
    """The registry and an unblinded physician, stored as the application would."""
    with session_scope(url, compartment) as session:
        import_registry(session, registry_from_json(REGISTRY), "test", 1)
        user_id = add_user(session, "unblind@cro.test", "unblinded_physician")
        return session.get_one(User, user_id)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM treatment_assignments",
    "SELECT count(*) FROM treatment_assignments",
    "INSERT INTO treatment_assignments (sponsor_id, protocol, subject, arm, treatment, "
    "strength, kits, imported_at, imported_by) VALUES (1, 'P', 'S', 'A', 'ZEL', '', '[]', "
    "now(), 'x')",
    "UPDATE treatment_assignments SET arm = 'B'",
    "DELETE FROM treatment_assignments",
    "TRUNCATE treatment_assignments",
])
def test_the_application_role_cannot_touch_the_assignments(roles: Roles, sql: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(roles.app_url, sql)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM cases",
    "SELECT * FROM audit_events",
    "INSERT INTO audit_events (at, actor, action, entity_type, entity_id, changes) "
    "VALUES (now(), 'a', 'b', 'c', 'd', '[]')",
    "DELETE FROM treatment_assignments",
    "TRUNCATE treatment_assignments",
])
def test_the_unblinded_role_holds_the_assignments_and_nothing_else(roles: Roles,
                                                                   sql: str) -> None:
    assert _as(roles.unblinded_url, "SELECT count(*) FROM treatment_assignments") == [(0,)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(roles.unblinded_url, sql)


def test_the_unblinded_path_imports_and_reads_and_every_read_is_audited(
        roles: Roles, settings: Settings) -> None:
    user = _study(roles.app_url, roles.unblinded_url)
    with session_scope(roles.app_url, roles.unblinded_url) as session:
        user = session.get_one(User, user.id)
        assert import_randomisation(session, user, 1, "ZEL-301", LIST) == 2
    # the list is in the compartment, written as the unblinded role
    assert _as(roles.unblinded_url, "SELECT subject, treatment, imported_by FROM "
               "treatment_assignments ORDER BY subject") == [
        ("101-004", "ZEL", user.actor), ("101-005", "placebo", user.actor)]

    with session_scope(roles.app_url, roles.unblinded_url) as session:
        found = read_assignments(session, 1, "ZEL-301", ["101-004"], actor=user.actor,
                                 purpose="SUSAR on blinded information")
    assert [(a.subject, a.treatment, a.kits) for a in found] == [("101-004", "ZEL",
                                                                   ("K-7781",))]
    with session_scope(settings.effective_database_url) as owner:
        events = list(owner.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(("randomisation.imported", "randomisation.read")))
            .order_by(AuditEvent.id)))
    assert [(e.action, e.actor, e.entity_type, e.entity_id, e.reason) for e in events] == [
        ("randomisation.imported", user.actor, "treatment_assignments", "ZEL-301", None),
        ("randomisation.read", user.actor, "treatment_assignments", "ZEL-301",
         "SUSAR on blinded information")]
    assert events[1].changes[0]["to"] == ["101-004"]


def test_without_the_compartment_the_application_cannot_read(roles: Roles) -> None:
    """The application's connection alone (no ``SAFETY_UNBLINDED_DATABASE_URL``) is refused
    by the database, and the read is not recorded as having happened."""
    _study(roles.app_url, roles.unblinded_url)
    session = get_sessionmaker(roles.app_url)()
    try:
        with pytest.raises(sa_exc.ProgrammingError, match="permission denied"):
            read_assignments(session, 1, "ZEL-301", None, actor="user:x", purpose="curious")
    finally:
        session.rollback()
        session.close()
    assert _as(roles.unblinded_url, "SELECT count(*) FROM treatment_assignments") == [(0,)]


def test_roles_refuses_one_role_for_both(settings: Settings) -> None:
    if not settings.effective_database_url.startswith("postgres"):
        result = _roles("--app-role", "safety_app", "--unblinded-role", "safety_unblinded")
        assert result.exit_code == 2 and "PostgreSQL's" in result.output
        return
    name = f"sd_app_{uuid.uuid4().hex[:10]}"
    try:
        result = _roles("--app-role", name, "--unblinded-role", name)
        assert result.exit_code == 2 and "need a role of their own" in result.output
    finally:
        with get_engine(settings.effective_database_url).begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))


def test_the_compartment_is_logical_on_one_connection(settings: Settings) -> None:
    """No unblinded URL (SQLite, or one role): the same functions, the one connection, each
    read still audited."""
    url = settings.effective_database_url
    user = _study(url, None)
    with session_scope(url) as session:
        user = session.get_one(User, user.id)
        import_randomisation(session, user, 1, "ZEL-301", LIST)
        found = read_assignments(session, 1, "ZEL-301", None, actor=user.actor,
                                 purpose="DSUR")
        assert [a.subject for a in found] == ["101-004", "101-005"]
        reads = session.scalars(select(AuditEvent.changes).where(
            AuditEvent.action == "randomisation.read")).all()
        assert reads == [[{"field": "subjects", "from": None, "to": 2}]]


def test_a_blinded_susar_is_revealed_and_drafted_as_the_application_role(
        roles: Roles, settings: Settings) -> None:
    """The whole path with the application's rights and the compartment's: a site's SUSAR
    processed, the reveal (the physician's read) and the regulator's messages drafted
    unblinded (the system's read), each read audited, none through the application's role."""
    from dataclasses import replace

    from factories.accounts import PASSWORD

    from blinding.test_unblinding_workflow import _setup
    from safety.review.unblinding import REVEAL_MEANING, case_data, reveal_for_case
    from safety.submissions.store import Submission

    as_app = replace(settings, database_url=roles.app_url,
                     owner_database_url=settings.effective_database_url,
                     unblinded_database_url=roles.unblinded_url)
    with session_scope(roles.app_url, roles.unblinded_url) as session:
        case, unblinder, _ = _setup(session, as_app, "ZEL")
        reveal_for_case(session, case, unblinder, as_app, data=case_data(session, case),
                        reason="SUSAR on blinded information", password=PASSWORD,
                        meaning=REVEAL_MEANING, now=case.created_at)
        xml = [s.xml for s in session.scalars(select(Submission).where(
            Submission.case_id == case.id)) if s.xml]
        reads = session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == "randomisation.read", AuditEvent.case_id == case.id)).all()
    assert xml and all(b"Zelvorin" in x for x in xml)
    assert unblinder.actor in reads and "system:submissions" in reads

"""Two database roles (issue 13, item 9): the application connects as a role that may insert
audit events but never change, delete or truncate them, nor disable their triggers, nor change
what a report or case version holds; the whole service runs as that role. PostgreSQL only:
each test creates a role of its own and drops it after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from click.testing import CliRunner
from factories.accounts import Sites, Users
from factories.audit import unaudited_statuses, verify
from factories.cases import Cases, case_state
from factories.env import use_settings_env
from factories.submissions import Desk, sent_initial
from factories.web import Browser, advance, sign
from factories.worker import run_worker
from sqlalchemy import text
from sqlalchemy.engine import make_url

from safety.app import create_app
from safety.config import Settings
from safety.db.session import get_engine, get_intake_engine


def _roles(*args: str) -> object:
    from safety.cli import main

    return CliRunner().invoke(main, ["db", "roles", *args])


@pytest.fixture()
def app_role(settings: Settings) -> Iterator[tuple[str, str]]:
    """A new application role, granted by ``safety db roles``; its name and database URL."""
    owner = settings.effective_database_url
    if not owner.startswith("postgres"):
        pytest.skip("database roles are PostgreSQL's")
    name = f"sd_audit_app_{uuid.uuid4().hex[:10]}"
    result = _roles("--app-role", name)
    assert result.exit_code == 0, result.output
    url = make_url(owner).set(username=name, password=None).render_as_string(
        hide_password=False)
    try:
        yield name, url
    finally:
        get_engine(url).dispose()
        get_intake_engine(url).dispose()
        with get_engine(owner).begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE usename = :n"), {"n": name})
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))


def _as(url: str, sql: str) -> None:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute(sql)


REFUSED = [
    "UPDATE audit_events SET actor = 'nobody'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
    "DROP FUNCTION audit_events_seal()",
    "CREATE OR REPLACE FUNCTION audit_field(v text) RETURNS text LANGUAGE sql AS $$ SELECT '' $$",
    "DROP TRIGGER audit_events_no_update ON audit_events",
    "DROP TABLE audit_events",
    "INSERT INTO audit_events (at, actor, action, entity_type, entity_id, changes, seq, hash) "
    "VALUES (now(), 'a', 'b', 'c', 'd', '[]', 1, 'forged')",
    "UPDATE reports SET raw = 'rewritten'",
    "UPDATE reports SET sender = 'someone else'",
    "DELETE FROM reports",
    "UPDATE case_versions SET data = '{}'",
    "TRUNCATE case_versions",
    "DELETE FROM signatures",
    "SET session_replication_role = replica",
    # The registry generation a worker's kept registry and RSI are keyed by (migration 0021):
    # the database's triggers write it, nothing else.
    "UPDATE sponsors SET registry_generation = 0",
    "INSERT INTO sponsors (code, name, org_code, case_prefix, timezone, sender, gateways, "
    "reporting, created_at, registry_generation) VALUES ('X', 'X', 'X', 'X', 'UTC', '{}', "
    "'{}', '[]', now(), 7)",
    "ALTER TABLE products DISABLE TRIGGER products_registry_generation",
    "DROP TRIGGER rsi_versions_registry_generation ON rsi_versions",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_the_application_role_cannot_change_the_record(app_role, sql):
    _, url = app_role
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(url, sql)


def test_the_application_role_inserts_audit_events_and_seals_them_with_the_owners_rights(app_role,
                                                                              settings):
    _, url = app_role
    _as(url, "INSERT INTO audit_events (at, actor, action, entity_type, entity_id, changes) "
             "VALUES (now(), 'app', 'test.inserted', 't', '1', '[{\"to\": \"ü\"}]')")
    def seal() -> tuple[int | None, str | None]:
        with get_engine(settings.effective_database_url).connect() as conn:
            return tuple(conn.execute(text(
                "SELECT seq, hash FROM audit_events WHERE action = 'test.inserted'")).one())

    assert seal() == (None, None)
    _as(url, "SELECT audit_events_seal()")  # what the scheduler's job does, as this role
    seq, sealed = seal()
    assert seq == 1 and len(sealed) == 64
    result = verify()
    assert result.exit_code == 0, result.output


def test_the_application_roles_registry_writes_bump_the_generation(app_role, settings):
    """The triggers write the generation with the owner's rights: the application's own
    writes of the registry move it, though the role may not write it."""
    _, url = app_role

    def generation() -> int:
        with get_engine(settings.effective_database_url).connect() as conn:
            return int(conn.execute(text(
                "SELECT registry_generation FROM sponsors WHERE id = 1")).scalar_one())

    before = generation()
    _as(url, "INSERT INTO studies (sponsor_id, protocol, title, jurisdictions, ind_numbers, "
             "products, blinded, updated_at) VALUES (1, 'P-1', '', '[]', '[]', '[]', false, "
             "now())")
    _as(url, "DELETE FROM studies WHERE protocol = 'P-1'")
    assert generation() == before + 2


def test_roles_is_idempotent_and_grants_exactly_what_the_models_allow(app_role, settings):
    name, _ = app_role
    assert _roles("--app-role", name).exit_code == 0  # again: the same grants
    with get_engine(settings.effective_database_url).connect() as conn:
        def column(table: str, col: str, what: str) -> bool:
            return bool(conn.execute(text("SELECT has_column_privilege(:r, :t, :c, :w)"),
                                     {"r": name, "t": table, "c": col, "w": what}).scalar())

        def table(t: str, what: str) -> bool:
            return bool(conn.execute(text("SELECT has_table_privilege(:r, :t, :w)"),
                                     {"r": name, "t": t, "w": what}).scalar())

        assert column("audit_events", "actor", "INSERT") and table("audit_events", "SELECT")
        assert not any(table("audit_events", w) for w in ("UPDATE", "DELETE", "TRUNCATE"))
        assert not column("audit_events", "hash", "INSERT")
        assert column("reports", "status", "UPDATE") and not column("reports", "raw", "UPDATE")
        assert column("case_versions", "pipeline", "UPDATE")
        assert not column("case_versions", "data", "UPDATE")
        assert column("cases", "state", "UPDATE") and not table("cases", "TRUNCATE")


def test_roles_refuses_the_owner_and_superusers(settings):
    if not settings.effective_database_url.startswith("postgres"):
        result = _roles("--app-role", "safety_app")
        assert result.exit_code == 2 and "PostgreSQL's" in result.output
        return
    owner = make_url(settings.effective_database_url).username
    result = _roles("--app-role", owner)
    assert result.exit_code == 2
    assert "owns the tables" in result.output or "superuser" in result.output
    assert _roles("--app-role", "Robert'); DROP TABLE cases;--").exit_code == 2


def test_the_whole_service_runs_as_the_application_role(app_role, settings, monkeypatch,
                                                        tmp_path):
    """A site's report through the API, processed by a worker, its messages drafted, approved
    and sent, a follow-up: all connected as the application role, every change audited."""
    _, url = app_role
    as_app = replace(settings, database_url=url,
                     owner_database_url=settings.effective_database_url)
    use_settings_env(monkeypatch, as_app)
    client = create_app(settings=as_app).test_client()
    desk = Desk(client, Sites(url), lambda: run_worker(as_app), as_app, monkeypatch,
                tmp_path / "outbox")
    case_id, sent = sent_initial(desk)
    assert any(s["state"] == "sent" for s in sent.values())
    assert desk.follow_up() == case_id
    assert unaudited_statuses(url) == []
    result = verify()
    assert result.exit_code == 0, result.output


def test_a_physician_signs_a_case_as_the_application_role(app_role, settings, monkeypatch):
    """The Part 11 signature, through the pages, with the application's rights only."""
    _, url = app_role
    as_app = replace(settings, database_url=url,
                     owner_database_url=settings.effective_database_url)
    use_settings_env(monkeypatch, as_app)
    app = create_app(settings=as_app)
    case_id = Cases(app.test_client(), Sites(url), lambda: run_worker(as_app)).make()
    Users(url).add("doc@example.org", "safety_physician", name="Dr Ada Lovelace")
    b = Browser(app.test_client())
    b.login("doc@example.org")
    assert b.post(f"/cases/{case_id}/assign").status_code == 303
    advance(b, case_id)
    assert sign(b, case_id).status_code == 303
    assert case_state(as_app, case_id) == "submission"
    assert unaudited_statuses(url) == []
    result = verify()
    assert result.exit_code == 0, result.output

"""What was received and what was recorded cannot be rewritten."""

from __future__ import annotations

import pytest
from factories.cases import post_report
from factories.forms import sae_form
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from safety.audit.store import AuditEvent
from safety.cases.store import CaseVersion
from safety.db.base import ImmutableRowError
from safety.db.session import get_engine, session_scope
from safety.intake.store import Report


def _processed(client, sites, worker):  # type: ignore[no-untyped-def]
    post_report(client, sites.headers(sites.token()), sae_form())
    worker()


def test_report_payload_and_case_version_data_are_immutable(client, sites, worker, settings):
    _processed(client, sites, worker)
    url = settings.effective_database_url
    with pytest.raises(ImmutableRowError), session_scope(url) as s:
        s.execute(select(Report)).scalar_one().payload = {"sae_id": "rewritten"}
    with pytest.raises(ImmutableRowError), session_scope(url) as s:
        s.execute(select(CaseVersion)).scalar_one().data = {}
    with pytest.raises(ImmutableRowError), session_scope(url) as s:
        s.delete(s.execute(select(AuditEvent).limit(1)).scalar_one())
    with session_scope(url) as s:  # processing status may still move
        s.execute(select(Report)).scalar_one().attempts += 0


def test_database_refuses_audit_rewrites_on_postgresql(client, sites, worker, settings):
    url = settings.effective_database_url
    if not url.startswith("postgresql"):
        pytest.skip("the trigger exists on PostgreSQL only; the ORM guard covers SQLite")
    _processed(client, sites, worker)
    with pytest.raises(DBAPIError, match="append-only"), get_engine(url).begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'someone else'"))
    with pytest.raises(DBAPIError, match="append-only"), get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))

"""Submitting SAE forms through the API: what a site sees."""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from dataclasses import replace

import pytest
from factories.accounts import site_token
from factories.database import count_rows
from factories.forms import sae_form
from sqlalchemy import select, text

from safety.app import create_app
from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.intake.store import Report


def _count_reports(settings) -> int:  # type: ignore[no-untyped-def]
    return count_rows(settings.effective_database_url, Report)


def test_accepted_report_is_stored_before_the_answer(client, sites, settings):
    token = sites.token()
    r = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    assert r.status_code == 202, r.json
    body = r.json
    assert body["status"] == "received"
    assert body["status_url"] == f"/api/v1/reports/{body['report_id']}"
    assert r.headers["Location"] == body["status_url"]
    with session_scope(settings.effective_database_url) as s:
        report = s.get(Report, __import__("uuid").UUID(body["report_id"]))
        assert report is not None
        assert json.loads(report.raw) == sae_form()
        assert report.received_at.tzinfo is not None
        assert report.sender_case_id == "ONC-301-101-SAE001"


def test_every_bad_field_is_named_and_nothing_is_stored(client, sites, settings):
    token = sites.token()
    form = sae_form(awareness_date="02/11/2026", unknown_field=1)
    form["subject"]["sex"] = "F"
    form["subject"]["birth_date"] = {"nullFlavor": "XYZ"}
    form["events"][0]["onset_date"] = "2026-13-01"
    form["events"][0]["ctcae_grade"] = 7
    form["events"][0]["causality"][0]["drug"] = "nonexistent"
    form["drugs"][0]["dose"] = {"value": -5, "unit": "mg"}
    del form["study"]
    r = client.post("/api/v1/reports", json=form, headers=sites.headers(token))
    assert r.status_code == 422
    errors = r.json["errors"]["json"]
    assert "awareness_date" in errors
    assert "unknown_field" in errors
    assert "study" in errors
    assert set(errors["subject"]) == {"sex", "birth_date"}
    assert "nullFlavor" in errors["subject"]["birth_date"][0]
    ev = errors["events"]["0"]
    assert {"onset_date", "ctcae_grade"} <= set(ev)
    assert "value" in errors["drugs"]["0"]["dose"]
    assert _count_reports(settings) == 0


def test_cross_reference_errors_name_the_path(client, sites, settings):
    token = sites.token()
    form = sae_form()
    form["events"][0]["causality"][0]["drug"] = "nonexistent"
    r = client.post("/api/v1/reports", json=form, headers=sites.headers(token))
    assert r.status_code == 422
    assert "nonexistent" in r.json["errors"]["json"]["events"]["0"]["causality"]["0"]["drug"][0]
    assert _count_reports(settings) == 0


def test_stop_before_onset_and_future_dates_are_rejected(client, sites):
    token = sites.token()
    form = sae_form()
    form["events"][0]["stop_date"] = "2026-10-01"
    form["drugs"][0]["start_date"] = "2099-01-01"
    r = client.post("/api/v1/reports", json=form, headers=sites.headers(token))
    assert r.status_code == 422
    errs = r.json["errors"]["json"]
    assert "stop_date" in errs["events"]["0"]
    assert "future" in errs["drugs"]["0"]["start_date"][0]


def test_auth_missing_unknown_and_revoked(client, sites, settings):
    assert client.post("/api/v1/reports", json=sae_form()).status_code == 401
    r = client.post("/api/v1/reports", json=sae_form(),
                    headers=sites.headers("sdk_not-a-real-token"))
    assert r.status_code == 401
    assert "WWW-Authenticate" in r.headers
    token = sites.token()
    from safety.accounts.store import ApiClient
    from safety.accounts.tokens import hash_token
    from safety.db.base import utcnow

    with session_scope(settings.effective_database_url) as s:
        c = s.execute(select(ApiClient).where(ApiClient.token_hash == hash_token(token))
                      ).scalar_one()
        c.revoked_at = utcnow()
    r = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    assert r.status_code == 401
    assert _count_reports(settings) == 0


def test_token_is_not_stored_in_clear(db_session):
    token = site_token(db_session)
    from safety.accounts.store import ApiClient

    rows = db_session.execute(select(ApiClient.token_hash, ApiClient.token_prefix)).all()
    assert rows  # the client was stored
    assert all(token not in (h, p) for h, p in rows)


def test_body_over_limit_is_413(client, sites, settings):
    token = sites.token()
    form = sae_form(narrative="x" * (settings.max_body_bytes + 10))
    r = client.post("/api/v1/reports", data=json.dumps(form),
                    headers=sites.headers(token, **{"Content-Type": "application/json"}))
    assert r.status_code == 413
    assert _count_reports(settings) == 0


def test_wrong_content_type_and_broken_json(client, sites):
    token = sites.token()
    r = client.post("/api/v1/reports", data="hello",
                    headers=sites.headers(token, **{"Content-Type": "text/plain"}))
    assert r.status_code == 415
    r = client.post("/api/v1/reports", data="{not json",
                    headers=sites.headers(token, **{"Content-Type": "application/json"}))
    assert r.status_code == 400


def test_idempotency_key_returns_first_answer(client, sites, settings):
    token = sites.token()
    h = sites.headers(token, **{"Idempotency-Key": "abc-123"})
    first = client.post("/api/v1/reports", json=sae_form(), headers=h)
    second = client.post("/api/v1/reports", json=sae_form(), headers=h)
    assert first.status_code == second.status_code == 202
    assert first.json["report_id"] == second.json["report_id"]
    assert _count_reports(settings) == 1
    other = client.post("/api/v1/reports", json=sae_form(narrative="changed"), headers=h)
    assert other.status_code == 409
    assert _count_reports(settings) == 1
    # Without the key, a second submission is a second report.
    client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    assert _count_reports(settings) == 2


def test_receipt_is_audited(client, sites, settings):
    token = sites.token()
    r = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    with session_scope(settings.effective_database_url) as s:
        ev = s.execute(select(AuditEvent).where(AuditEvent.entity_id == r.json["report_id"])
                       ).scalars().all()
    assert [e.action for e in ev] == ["report.received"]
    assert ev[0].actor.startswith("api:")
    assert ev[0].at.tzinfo is not None


def _form_bodies() -> list[tuple[str, bytes]]:
    """One form as a client may send it: UTF-8 with its characters as they are or escaped, a
    number written with a trailing zero, and the encodings JSON allows besides."""
    form = sae_form(narrative='Fièvre 39,2 °C, "ANC" 0.3 µl — Übelkeit\ttab')
    plain = json.dumps(form, ensure_ascii=False).replace('"value": 200', '"value": 200.50')
    escaped = json.dumps(form).replace('"value": 200', '"value": 200.50')
    return [("utf-8", plain.encode()), ("utf-8, escaped", escaped.encode()),
            ("utf-8 with a BOM", plain.encode("utf-8-sig")), ("utf-16", plain.encode("utf-16")),
            ("utf-32", plain.encode("utf-32"))]


@pytest.mark.parametrize(("label", "body"), _form_bodies(), ids=[b[0] for b in _form_bodies()])
def test_the_stored_report_is_the_form_as_sent(client, sites, settings, label, body):
    """A form's payload is stored from the body's own text when it is plain UTF-8 (not the
    parsed form serialised again), from the parsed form otherwise (a BOM, UTF-16, UTF-32):
    either way the row is what it was before: the bytes as sent, their digest, the payload
    the same jsonb value as the parsed form serialised, its audit row; the same 202."""
    token = sites.token()
    r = client.post("/api/v1/reports", data=body, headers={
        **sites.headers(token), "Content-Type": "application/json"})
    assert r.status_code == 202, r.json
    assert set(r.json) == {"report_id", "status", "status_url"}
    assert r.json["status"] == "received"
    assert r.headers["Location"] == r.json["status_url"] == f"/api/v1/reports/{r.json['report_id']}"
    sent = json.loads(body)
    with session_scope(settings.effective_database_url) as s:
        report = s.get(Report, uuid.UUID(r.json["report_id"]))
        assert report is not None
        assert report.raw == body
        assert report.payload_sha256 == hashlib.sha256(body).hexdigest()
        assert report.payload == sent
        assert report.payload["drugs"][0]["dose"]["value"] == 200.5
        assert (report.channel, report.content_type, report.sender_case_id, report.status) == (
            "site_form", "application/json", "ONC-301-101-SAE001", "received")
        if settings.effective_database_url.startswith("postgresql"):
            same = s.execute(text("SELECT payload = CAST(:j AS jsonb) FROM reports "
                                  "WHERE id = :id"),
                             {"j": json.dumps(sent), "id": report.id}).scalar_one()
            assert same is True
        events = s.execute(select(AuditEvent).where(AuditEvent.entity_id == str(report.id))
                           ).scalars().all()
    assert [(e.action, e.changes) for e in events] == [
        ("report.received", [{"field": "status", "from": None, "to": "received"}])]


def test_a_refused_form_in_any_encoding_stores_nothing(client, sites, settings):
    """The same validation and 422 whichever way the body is encoded; nothing stored."""
    token = sites.token()
    bad = json.dumps(sae_form(awareness_date="02/11/2026"), ensure_ascii=False)
    answers = []
    for body in (bad.encode(), bad.encode("utf-16")):
        r = client.post("/api/v1/reports", data=body, headers={
            **sites.headers(token), "Content-Type": "application/json"})
        answers.append((r.status_code, r.json["errors"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422 and "awareness_date" in answers[0][1]["json"]
    assert _count_reports(settings) == 0


def test_the_web_app_sets_the_interpreter_switch_interval(settings):
    """A web process's request threads share the interpreter; ``web_switch_interval_us`` is
    how long one may keep it while another waits (0 leaves the interpreter's own)."""
    before = sys.getswitchinterval()
    try:
        create_app(settings=replace(settings, web_switch_interval_us=2500))
        assert sys.getswitchinterval() == pytest.approx(0.0025)
        sys.setswitchinterval(0.004)
        create_app(settings=replace(settings, web_switch_interval_us=0))
        assert sys.getswitchinterval() == pytest.approx(0.004)
    finally:
        sys.setswitchinterval(before)

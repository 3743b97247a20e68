"""Submitting SAE forms through the API: what a site sees."""

from __future__ import annotations

import json

from factories.accounts import site_token
from factories.database import count_rows
from factories.forms import sae_form
from sqlalchemy import select

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

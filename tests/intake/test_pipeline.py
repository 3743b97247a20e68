"""Reports become cases through real rq workers."""

from __future__ import annotations

import json
import uuid

from factories.cases import post_report
from factories.forms import sae_form
from sqlalchemy import func, select

from safety.audit.store import AuditEvent
from safety.cases.store import Case, CaseVersion
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.pipeline import jobs


def _post(client, sites, token, form):  # type: ignore[no-untyped-def]
    return post_report(client, sites.headers(token), form)["report_id"]


def test_report_becomes_a_case(client, sites, worker):
    token = sites.token()
    rid = _post(client, sites, token, sae_form())
    assert worker() >= 1
    r = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json
    assert r["status"] == "processed"
    assert r["findings"] == []
    case = client.get(r["case_url"], headers=sites.headers(token)).json
    assert case["current_version"] == 1
    assert case["worldwide_case_id"].startswith("GB-SAFETYDESK-")
    assert case["serious"] is True
    data = case["data"]
    assert data["reactions"][0]["verbatim"] == "febrile neutropenia"
    assert data["reactions"][0]["seriousness"] == {"hospitalisation": True}
    assert data["patient"]["birth_date"] == "1961-04"  # precision kept
    assert data["admin"]["worldwide_case_id"] == case["worldwide_case_id"]
    link = data["drugs"][0]["reactions"][0]
    assert link["reaction_id"] == data["reactions"][0]["id"]
    assert link["assessments"][0]["source"] == "Investigator"


def test_follow_up_becomes_version_2_of_the_same_case(client, sites, worker, settings):
    token = sites.token()
    _post(client, sites, token, sae_form())
    worker()
    fu = sae_form(report_type="followup", awareness_date="2026-11-10")
    fu["events"][0]["outcome"] = "recovered"
    fu["events"][0]["stop_date"] = "2026-11-08"
    rid2 = _post(client, sites, token, fu)
    worker()
    r2 = client.get(f"/api/v1/reports/{rid2}", headers=sites.headers(token)).json
    case = client.get(r2["case_url"], headers=sites.headers(token)).json
    assert case["current_version"] == 2
    assert [v["kind"] for v in case["versions"]] == ["initial", "followup"]
    assert case["data"]["reactions"][0]["outcome"] == "1"
    # C.1.8.1 stays, C.1.4 is the initial receipt, C.1.5 moves on
    assert case["data"]["admin"]["worldwide_case_id"] == case["worldwide_case_id"]
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(func.count(Case.id))).scalar_one() == 1
        actions = s.execute(select(AuditEvent.action).where(
            AuditEvent.case_id == uuid.UUID(case["case_id"]))).scalars().all()
    assert "case.created" in actions and "case.version_added" in actions


def test_follow_up_received_before_its_initial_is_processed_waits(client, sites, settings):
    """Versions follow receipt order even when the follow-up's job runs first: it waits,
    without failing, and saying for which report."""
    token = sites.token()
    rid1 = _post(client, sites, token, sae_form())
    rid2 = _post(client, sites, token, sae_form(report_type="followup", narrative="more"))
    assert jobs.process_report(rid2) == {"status": "received", "waiting_for": rid1}
    waiting = client.get(f"/api/v1/reports/{rid2}", headers=sites.headers(token)).json
    assert waiting["status"] == "received"
    assert waiting["attempts"] == 0
    assert f"waiting for earlier report {rid1}" in waiting["last_error"]
    jobs.process_report(rid1)
    jobs.process_report(rid2)
    with session_scope(settings.effective_database_url) as s:
        versions = s.execute(select(CaseVersion.version, CaseVersion.report_id)
                             .order_by(CaseVersion.version)).all()
    assert [(v, str(r)) for v, r in versions] == [(1, rid1), (2, rid2)]


def test_a_report_put_to_wait_goes_on_when_the_one_ahead_was_done_meanwhile(
        client, sites, settings, monkeypatch):
    """The report ahead is processed by another worker between the follow-up's "wait" and
    the end of its job (on SQLite a read does not wait for that worker): its hand-over found
    the follow-up's job still running and enqueued nothing, so the follow-up's own job must
    notice and go on, or it waits for a sweep."""
    token = sites.token()
    rid1 = _post(client, sites, token, sae_form())
    rid2 = _post(client, sites, token, sae_form(report_type="followup", narrative="more"))
    real = jobs.process
    calls: list[str] = []

    def process_then_the_other_worker(session, report_id, settings_, **kw):  # type: ignore[no-untyped-def]
        outcome = real(session, report_id, settings_, **kw)
        calls.append(str(report_id))
        if outcome.waiting_for is not None and len(calls) == 1:
            session.commit()  # the wait is recorded; then the other worker does report 1
            monkeypatch.setattr(jobs, "process", real)
            jobs.process_report(rid1)
            monkeypatch.setattr(jobs, "process", process_then_the_other_worker)
        return outcome

    monkeypatch.setattr(jobs, "process", process_then_the_other_worker)
    assert jobs.process_report(rid2)["status"] == "processed"
    assert calls == [rid2, rid2]
    with session_scope(settings.effective_database_url) as s:
        versions = s.execute(select(CaseVersion.version, CaseVersion.report_id)
                             .order_by(CaseVersion.version)).all()
    assert [(v, str(r)) for v, r in versions] == [(1, rid1), (2, rid2)]


def test_invalid_report_is_held_with_findings(client, sites, worker, settings):
    token = sites.token()
    form = sae_form(reporter={}, drugs=[], events=[])
    form["subject"] = {}
    rid = _post(client, sites, token, form)
    worker()
    r = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json
    assert r["status"] == "held"
    codes = {f["code"] for f in r["findings"]}
    assert codes == {"missing_patient", "missing_reporter", "missing_suspect_product",
                     "missing_adverse_event"}
    assert r["case_id"] is None
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(func.count(Case.id))).scalar_one() == 0


def test_masked_patient_still_identifiable(client, sites, worker):
    token = sites.token()
    form = sae_form()
    form["subject"] = {"initials": {"nullFlavor": "MSK"}}
    rid = _post(client, sites, token, form)
    worker()
    r = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json
    assert r["status"] == "processed"
    case = client.get(r["case_url"], headers=sites.headers(token)).json
    assert case["data"]["patient"]["initials"] == {"nullFlavor": "MSK"}


def test_processing_twice_makes_one_case(client, sites, settings):
    token = sites.token()
    rid = _post(client, sites, token, sae_form())
    jobs.process_report(rid)
    jobs.process_report(rid)
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(func.count(Case.id))).scalar_one() == 1
        assert s.execute(select(func.count(CaseVersion.id))).scalar_one() == 1


def test_failure_is_visible_on_the_report(client, sites, settings, monkeypatch):
    token = sites.token()
    rid = _post(client, sites, token, sae_form())

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("database on fire")

    monkeypatch.setattr(jobs, "process", boom)
    import pytest

    with pytest.raises(RuntimeError):
        jobs.process_report(rid)
    r = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json
    assert r["status"] == "failed"
    assert r["attempts"] == 1
    assert "database on fire" in r["last_error"]


def test_sweep_does_not_double_enqueue(client, sites, settings, redis, worker):
    token = sites.token()
    _post(client, sites, token, sae_form())
    from rq import Queue

    from safety.queue.relay import flush_all

    assert flush_all()
    q = Queue(settings.queue_name, connection=redis)
    assert q.count == 1
    jobs.sweep()
    jobs.sweep()
    assert q.count == 1
    worker()
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(func.count(Case.id))).scalar_one() == 1
        assert s.execute(select(Report.status)).scalar_one() == "processed"


def test_identical_resend_does_not_become_a_follow_up(client, sites, settings, worker):
    """A double-clicked form or a retry without Idempotency-Key: one case, one version."""
    token = sites.token()
    form = sae_form(sae_id=f"SAE-{uuid.uuid4().hex[:8]}")
    first = _post(client, sites, token, form)
    again = _post(client, sites, token, form)
    assert first != again
    worker()
    r1 = client.get(f"/api/v1/reports/{first}", headers=sites.headers(token)).json
    r2 = client.get(f"/api/v1/reports/{again}", headers=sites.headers(token)).json
    assert r2["status"] == "processed"
    assert (r2["case_id"], r2["case_version_id"]) == (r1["case_id"], r1["case_version_id"])
    assert [f["code"] for f in r2["findings"]] == ["identical_resend"]
    assert first in r2["findings"][0]["message"]
    case = client.get(r1["case_url"], headers=sites.headers(token)).json
    assert case["current_version"] == 1
    # A real follow-up (new information) still becomes version 2.
    form["narrative"] = (form.get("narrative") or "") + " Patient recovered on day 9."
    _post(client, sites, token, form)
    worker()
    assert client.get(r1["case_url"], headers=sites.headers(token)).json["current_version"] == 2
    with session_scope(settings.effective_database_url) as s:
        reasons = s.execute(select(AuditEvent.reason).where(
            AuditEvent.entity_id == again, AuditEvent.action == "report.processed")).scalars()
        assert any("identical re-send" in (r or "") for r in reasons)


def test_content_going_back_to_an_earlier_report_is_a_follow_up(client, sites, settings,
                                                               worker):
    """A sender whose latest report changed something and who then sends its earlier content
    again is correcting the case: only a copy of its latest report is a re-send."""
    token = sites.token()
    form = sae_form(sae_id=f"SAE-{uuid.uuid4().hex[:8]}")
    original = dict(form)
    first = _post(client, sites, token, original)
    worker()
    form["narrative"] = (form.get("narrative") or "") + " Patient died on day 9."
    _post(client, sites, token, form)
    worker()
    back = _post(client, sites, token, original)  # the death was entered on the wrong SAE
    worker()
    r1 = client.get(f"/api/v1/reports/{first}", headers=sites.headers(token)).json
    r3 = client.get(f"/api/v1/reports/{back}", headers=sites.headers(token)).json
    assert r3["findings"] == []
    case = client.get(r1["case_url"], headers=sites.headers(token)).json
    assert case["current_version"] == 3
    with session_scope(settings.effective_database_url) as s:
        texts = [json.dumps(d) for d in s.execute(
            select(CaseVersion.data).where(CaseVersion.case_id == uuid.UUID(r1["case_id"]))
            .order_by(CaseVersion.version)).scalars()]
    assert ["died" in t for t in texts] == [False, True, False]


def test_follow_up_of_a_closed_case_reopens_it(client, sites, settings, worker):
    """A closed case is out of the working queue: a follow-up must not sit there unseen. An
    open case stays in its state (a signed one shows its signature invalidated)."""
    token = sites.token()
    form = sae_form(sae_id=f"SAE-{uuid.uuid4().hex[:8]}")
    rid = _post(client, sites, token, form)
    worker()
    case_id = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json["case_id"]
    for state in ("closed", "submission", "medical_review"):
        with session_scope(settings.effective_database_url) as s:
            s.get(Case, uuid.UUID(case_id)).state = state
        form["narrative"] = (form.get("narrative") or "") + f" Update while {state}."
        _post(client, sites, token, form)
        worker()
        with session_scope(settings.effective_database_url) as s:
            now = s.get(Case, uuid.UUID(case_id)).state
            reopened = s.execute(select(AuditEvent.reason).where(
                AuditEvent.action == "case.reopened",
                AuditEvent.case_id == uuid.UUID(case_id))).scalars().all()
        if state != "closed":
            assert now == state  # still being worked, or signed and visibly invalidated
        else:
            assert now == "data_entry"
            assert "needs review" in reopened[-1]

"""Issue 13.4: the operations page shows failed reports (with the reports waiting behind
them) and failed stages with their public reason, and retries them, for the sponsors the
person operates for."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories.forms import sae_form
from factories.poison import MARK, Poison
from factories.sponsors import sponsor_id
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.cases.workflow import Stage
from safety.db.session import session_scope


@pytest.fixture()
def poison(monkeypatch: pytest.MonkeyPatch) -> Poison:
    return Poison(monkeypatch)


def _post(client: Any, sites: Any, token: str, **form: Any) -> str:
    r = client.post("/api/v1/reports", json=sae_form(**form), headers=sites.headers(token))
    assert r.status_code == 202, r.json
    return str(r.json["report_id"])


def _status(client: Any, sites: Any, token: str, rid: str) -> str:
    return str(client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json["status"])


def test_operations_page_lists_failures_and_retries_them_with_csrf(
        client, sites, users, worker, poison, browser, settings):  # type: ignore[no-untyped-def]
    site = sites.token()
    poison.stage(Stage.RULES, RuntimeError("rules engine unavailable"))
    bad = _post(client, sites, site, sae_id="S-1", narrative=MARK)
    _post(client, sites, site, sae_id="S-2")
    worker()
    behind = _post(client, sites, site, sae_id="S-1", report_type="followup")
    worker()
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    page = b.get("/operations")
    assert page.status_code == 200
    assert f'data-report="{bad}"' in page.text and "RuntimeError: poisoned payload" in page.text
    assert f"waiting for failed report {bad}" in page.text and behind in page.text
    assert "RuntimeError: rules engine unavailable" in page.text and ">rules<" in page.text

    # Without the form's CSRF token the retry is refused and nothing changes.
    assert b.client.post(f"/operations/reports/{bad}/retry").status_code == 400
    assert _status(client, sites, site, bad) == "failed"

    poison.cure()
    r = b.post(f"/operations/reports/{bad}/retry")
    assert r.status_code == 303 and r.headers["Location"] == "/operations"
    version = page.text.split('data-version="')[1].split('"')[0]
    assert b.post(f"/operations/versions/{version}/retry").status_code == 303
    worker()
    assert _status(client, sites, site, bad) == "processed"
    assert _status(client, sites, site, behind) == "processed"
    after = b.get("/operations").text
    assert "No failed reports." in after and "No failed stages." in after
    with session_scope(settings.effective_database_url) as s:
        actors = set(s.execute(select(AuditEvent.actor).where(AuditEvent.action.in_(
            ["report.received", "version.pipeline_pending"]))).scalars())
    assert any(a.endswith(":proc@example.org") for a in actors)


def test_a_person_sees_only_the_failures_of_sponsors_they_operate_for(
        client, sites, users, worker, poison, browser, settings):  # type: ignore[no-untyped-def]
    other = sponsor_id(settings.effective_database_url, "OTHER")
    bad = _post(client, sites, sites.token("Site O", sponsor=other), narrative=MARK)
    worker()
    users.add("proc@example.org", "case_processor")  # DEFAULT only
    b = browser()
    b.login("proc@example.org")
    assert bad not in b.get("/operations").text
    # another sponsor's report is answered as one that does not exist
    assert b.post(f"/operations/reports/{bad}/retry").status_code == 404
    with session_scope(settings.effective_database_url) as s:
        from safety.intake.store import Report

        report = s.get(Report, bad)
        assert report is not None and report.status == "failed"


def test_discard_needs_a_reason_and_lets_the_stream_go_on(
        client, sites, users, worker, poison, browser):  # type: ignore[no-untyped-def]
    site = sites.token()
    bad = _post(client, sites, site, sae_id="S-1", narrative=MARK)
    worker()
    behind = _post(client, sites, site, sae_id="S-1", report_type="followup")
    worker()
    users.add("admin@example.org", "admin")
    b = browser()
    b.login("admin@example.org")
    b.get("/operations")
    b.post(f"/operations/reports/{bad}/discard", data={"reason": " "})
    assert "a reason is required" in b.get("/operations").text
    b.post(f"/operations/reports/{bad}/discard", data={"reason": "unreadable, re-sent"})
    worker()
    assert _status(client, sites, site, bad) == "held"
    assert _status(client, sites, site, behind) == "processed"


def test_the_site_sees_that_its_report_waits_for_an_earlier_one(
        client, sites, users, worker, poison, browser):  # type: ignore[no-untyped-def]
    site = sites.token("Site A", "GB")
    _post(client, sites, site, sae_id="S-1", narrative=MARK)
    worker()
    behind = _post(client, sites, site, sae_id="S-1", report_type="followup")
    worker()
    users.add("site-a@example.org", "site_submitter", site="Site A")
    b = browser()
    b.login("site-a@example.org")
    page = b.get(f"/portal/reports/{behind}").text
    assert 'id="report-waiting"' in page and "poisoned" not in page


def test_the_operations_page_shows_the_queue_and_stage_timings(settings, users, browser,  # type: ignore[no-untyped-def]
                                                                client, sites, worker):
    client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(sites.token()))
    worker()
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    page = b.get("/operations").text
    assert 'id="queue-depth"' in page and "Jobs queued: 0" in page
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td>", page)
    assert rows == [("coding", "1"), ("dedup", "1"), ("rules", "1"), ("submissions", "1")]
    assert "1 version(s)" in page and "p95" in page

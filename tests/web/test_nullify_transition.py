"""Nullifying a case on its page tells every regulator holding it (C.1.11.1 = 1 with the
reason) and a reason is required."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from factories.forms import sae_form

from safety.db.session import session_scope
from safety.e2b.reader import read_batch
from safety.submissions.store import approve_for_sending, export_outbox
from web.conftest import case_state

DEMO = Path(__file__).resolve().parents[2] / "safety" / "demo"


def test_nullify_on_the_case_page_drafts_the_nullifications(
        client, sites, settings, users, browser, make_case, tmp_path):
    (settings.home / "sender.json").write_text((DEMO / "sender.json").read_text())
    safety = sites.headers(sites.token("Safety team", role="safety"))
    client.post("/api/v1/products", json=json.loads((DEMO / "registry.json").read_text()),
                headers=safety)
    client.post("/api/v1/products/rsi", headers=safety, json={
        "product_id": "PEMBRO", "reference": "IB", "version": "12",
        "effective_from": "2026-01-01", "expected_pts": ["10035742"]})
    form = sae_form()
    form["study"]["ind_number"] = "145678"
    case_id = make_case(form=form)
    subs = client.get(f"/api/v1/cases/{case_id}/submissions", headers=safety).json
    with session_scope(settings.effective_database_url) as s:
        approve_for_sending(s, uuid.UUID(subs[0]["case_version_id"]), "user:physician")
    with session_scope(settings.effective_database_url) as s:
        sent = export_outbox(s, tmp_path / "outbox", "gateway")
    assert sent

    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get(f"/cases/{case_id}")
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "nullify", "reason": ""},
               follow_redirects=True)
    assert "needs a reason" in r.text and case_state(settings, case_id) == "triage"
    reason = "Entered for the wrong subject"
    b.post(f"/cases/{case_id}/transition", data={"transition": "nullify", "reason": reason})
    assert case_state(settings, case_id) == "nullified"

    subs = client.get(f"/api/v1/cases/{case_id}/submissions", headers=safety).json
    nullified = [s for s in subs if s["kind"] == "nullification"]
    assert len(nullified) == len(sent)
    assert {(s["state"], s["reason"]) for s in nullified} == {("ready", reason)}
    assert {s["state"] for s in subs if s["kind"] != "nullification"} <= {"sent", "withdrawn"}
    page = b.get(f"/cases/{case_id}").text
    assert page.count('data-state="ready" data-kind="nullification"') == len(sent)
    assert f"nullification · {reason}" in page
    with session_scope(settings.effective_database_url) as s:
        files = export_outbox(s, tmp_path / "outbox2", "gateway")
    assert [read_batch(f.read_bytes())[0].case.admin.nullification_code for f in files] == \
        ["1"] * len(sent)

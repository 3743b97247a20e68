"""Nullifying a case on its page tells every regulator holding it (C.1.11.1 = 1 with the
reason) and a reason is required."""

from __future__ import annotations

import uuid

from factories.cases import case_state
from factories.forms import sae_form
from factories.products import add_rsi, load_demo_registry, use_demo_sender
from factories.web import advance, sign

from safety.db.session import session_scope
from safety.e2b.reader import read_batch
from safety.submissions.outbox import approve_for_sending, export_outbox


def test_nullify_on_the_case_page_drafts_the_nullifications(
        client, sites, settings, users, browser, make_case, tmp_path):
    use_demo_sender(settings)
    safety = sites.headers(sites.token("Safety team", role="safety"))
    load_demo_registry(client, safety)
    add_rsi(client, safety, "PEMBRO", "12", ["10035742"])
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


def test_an_amendment_goes_out_once_its_version_is_signed_again(
        client, sites, settings, users, browser, make_case, tmp_path):
    use_demo_sender(settings)
    safety = sites.headers(sites.token("Safety team", role="safety"))
    load_demo_registry(client, safety)
    r = add_rsi(client, safety, "SEMA", "3", [])
    assert r.status_code == 201, r.json
    # An EU-only study: its SUSAR is owed to the EMA alone.
    form = sae_form(study={"protocol_number": "DIAB-112", "name": "semaglutide OLE"})
    form["drugs"][0].update(name="semaglutide")
    case_id = make_case(form=form)
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    r = sign(b, case_id)
    assert case_state(settings, case_id) == "submission", b.get(r.headers["Location"]).text
    with session_scope(settings.effective_database_url) as s:
        sent = export_outbox(s, tmp_path / "outbox", "gateway")
    assert sent
    subs = client.get(f"/api/v1/cases/{case_id}/submissions", headers=safety).json
    target = next(s for s in subs if s["state"] == "sent")
    r = client.post(f"/api/v1/submissions/{target['id']}/amendment", headers=safety,
                    json={"reason": "Causality transcribed wrongly"})
    assert r.status_code == 201 and r.json["state"] == "draft", r.json
    page = b.get(f"/cases/{case_id}").text
    assert "the E2B message differs from the one signed" in page
    assert 'data-state="draft" data-kind="amendment"' in page

    b.post(f"/cases/{case_id}/transition", data={"transition": "return_to_medical_review",
                                                  "reason": "amendment to sign"})
    b.post(f"/cases/{case_id}/transition", data={"transition": "medical_review_done"})
    assert case_state(settings, case_id) == "approval"
    sign(b, case_id)
    assert case_state(settings, case_id) == "submission"
    with session_scope(settings.effective_database_url) as s:
        files = export_outbox(s, tmp_path / "outbox", "gateway")
    assert [f.stem for f in files] == [r.json["batch_id"]]
    admin = read_batch(files[0].read_bytes())[0].case.admin
    assert (admin.nullification_code, admin.nullification_reason) == \
        ("2", "Causality transcribed wrongly")

"""A case worked from the queue to a signed approval, through the web pages only."""

from __future__ import annotations

import uuid

from factories.cases import case_state
from factories.forms import sae_form
from factories.web import advance, sign
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.review.signing import APPROVAL_MEANING
from safety.review.store import Signature


def test_physician_works_a_case_to_signed_approval(settings, users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician", name="Dr Ada Lovelace")
    b = browser()
    b.login("doc@example.org")
    assert case_state(settings, case_id) == "triage"
    b.get(f"/cases/{case_id}")
    assert b.post(f"/cases/{case_id}/assign").status_code == 303
    advance(b, case_id)
    assert case_state(settings, case_id) == "approval"
    page = b.get(f"/cases/{case_id}").text
    assert "Approve with electronic signature" in page and APPROVAL_MEANING in page

    r = sign(b, case_id)
    assert r.status_code == 303
    assert case_state(settings, case_id) == "submission"
    page = b.get(f"/cases/{case_id}").text
    assert "VALID" in page and "Dr Ada Lovelace" in page and "Europe/Berlin" in page

    with session_scope(settings.effective_database_url) as s:
        sig = s.execute(select(Signature)).scalar_one()
        assert sig.version == 1 and sig.meaning == APPROVAL_MEANING
        assert sig.printed_name == "Dr Ada Lovelace" and sig.local_zone == "Europe/Berlin"
        assert sig.signed_at.tzinfo is not None and sig.signed_at_local.endswith(("+01:00",
                                                                                  "+02:00"))
        events = s.execute(select(AuditEvent).where(AuditEvent.case_id == uuid.UUID(case_id))
                           .order_by(AuditEvent.id)).scalars().all()
        actions = [e.action for e in events]
    for action in ("case.created", "case.assigned", "case.start_data_entry",
                   "case.send_to_medical_review", "case.medical_review_done", "case.signed",
                   "case.approve"):
        assert action in actions
    moves = {e.action: e for e in events}
    assert moves["case.start_data_entry"].changes == [
        {"field": "state", "from": "triage", "to": "data_entry"}]
    assert moves["case.start_data_entry"].reason == "step start_data_entry"
    assert moves["case.start_data_entry"].actor.endswith("doc@example.org")


def test_a_follow_up_invalidates_the_signature_visibly(settings, users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    sign(b, case_id)
    assert "VALID" in b.get(f"/cases/{case_id}").text
    form = sae_form(report_type="followup")
    form["events"][0]["outcome"] = "recovered"
    again = make_case(form=form)
    assert again == case_id
    page = b.get(f"/cases/{case_id}").text
    assert "INVALIDATED" in page and "signed version 1; the case is now version 2" in page
    # the diff shows the follow-up's change side by side, in words
    assert "Event 1 (febrile neutropenia) › Outcome" in page
    assert "recovering (2)" in page and "recovered (1)" in page
    # what was approved is no longer the case: it cannot be closed, only re-reviewed
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "close"})
    assert "version 2 has no valid electronic signature" in b.get(r.headers["Location"]).text
    b.post(f"/cases/{case_id}/transition", data={"transition": "return_to_medical_review",
                                                  "reason": "follow-up v2: outcome changed"})
    assert case_state(settings, case_id) == "medical_review"


def test_signing_needs_the_password_the_meaning_and_the_version_seen(
        settings, users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    r = sign(b, case_id, password="wrong password!")
    assert "the password is wrong" in b.get(r.headers["Location"]).text
    assert case_state(settings, case_id) == "approval"
    sign(b, case_id, meaning="")
    sign(b, case_id, version=2)
    assert case_state(settings, case_id) == "approval"
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(Signature)).first() is None
        failed = s.execute(select(AuditEvent).where(
            AuditEvent.action == "signature.password_failed")).scalars().all()
        assert len(failed) == 1


def test_approve_is_only_possible_by_signature(settings, users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "approve"})
    assert "needs an electronic signature" in b.get(r.headers["Location"]).text
    assert case_state(settings, case_id) == "approval"


def test_reason_is_required_to_send_work_back(settings, users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    r = b.post(f"/cases/{case_id}/transition",
               data={"transition": "return_to_data_entry", "reason": "  "})
    assert "needs a reason" in b.get(r.headers["Location"]).text
    assert case_state(settings, case_id) == "approval"
    b.post(f"/cases/{case_id}/transition",
           data={"transition": "return_to_data_entry", "reason": "dose unit unclear"})
    assert case_state(settings, case_id) == "data_entry"
    page = b.get(f"/cases/{case_id}").text
    assert "dose unit unclear" in page and "approval → data_entry" in page


def test_processor_cannot_do_medical_steps_orsign(settings, users, browser, make_case):
    case_id = make_case()
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    b.get("/queue")
    b.post(f"/cases/{case_id}/transition", data={"transition": "start_data_entry"})
    b.post(f"/cases/{case_id}/transition", data={"transition": "send_to_medical_review"})
    assert case_state(settings, case_id) == "medical_review"
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "medical_review_done"})
    assert "may not" in b.get(r.headers["Location"]).text
    assert sign(b, case_id).status_code == 403
    assert case_state(settings, case_id) == "medical_review"


def test_case_page_shows_source_patient_events_drugs_causality(settings, users, browser,
                                                                make_case):
    case_id = make_case()
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    page = b.get(f"/cases/{case_id}").text
    for text in ("febrile neutropenia", "pembrolizumab", "101-004", "female (2)",
                 "Investigator judgement", "Related", "Subject admitted with fever",
                 "&#34;sae_id&#34;: &#34;ONC-301-101-SAE001&#34;", "report.received",
                 "case.created"):
        assert text in page, text
    raw = b.get(f"/cases/{case_id}/versions/1/source")
    assert raw.status_code == 200 and raw.json["sae_id"] == "ONC-301-101-SAE001"
    assert "sandbox" in raw.headers["Content-Security-Policy"]
    assert b.get(f"/cases/{case_id}/versions/9/source").status_code == 404
    assert b.get(f"/cases/{uuid.uuid4()}").status_code == 404

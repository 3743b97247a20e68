"""Issue 16, item 5: a portal-submitted IND study case gets an FDA IND safety report carrying
the IND number from the registry, and a case with an invalid message cannot be signed (the
signature panel, the signature itself and the API say why)."""

from __future__ import annotations

import pytest
from factories.cases import case_state
from factories.portal import portal_ind_case
from factories.sponsors import DEFAULT_ID
from factories.web import advance, sign
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.e2b.reader import read_batch
from safety.sponsors.service import configure
from safety.sponsors.store import Sponsor
from safety.submissions.outbox import export_outbox


@pytest.mark.slow
def test_portal_ind_case_gets_an_fda_ind_report_and_an_invalid_message_blocks_signing(
        settings, users, browser, worker, sites, client, tmp_path):
    case_id, team = portal_ind_case(settings, users, browser, worker, sites, client)
    headers = sites.headers(team)
    subs = {s["destination"]: s
            for s in client.get(f"/api/v1/cases/{case_id}/submissions", headers=headers).json}
    obligations = client.get(f"/api/v1/cases/{case_id}/obligations", headers=headers).json
    fda_ob = next(o for o in obligations["obligations"] if o["destination"] == "FDA")
    assert fda_ob["regime"] == "fda-ind" and "IND safety report" in fda_ob["report_type"]

    fda = subs["FDA"]
    assert fda["state"] == "draft", fda["findings"]
    assert fda["e2b_destination"] == "fda-premarket" and fda["profile"] == "fda-premarket"
    assert "FDA.C.5.5a IND 145678 from the registry" in fda["notes"]
    xml = client.get(f"/api/v1/submissions/{fda['id']}/xml", headers=headers).data
    message = read_batch(xml)[0]
    assert message.case.study is not None and message.case.study.fda_ind_number == "145678"
    assert message.header.message_receiver == "CDER_IND"

    # MHRA: the sponsor has no gateway for it, so its message is invalid ...
    mhra = subs["MHRA"]
    assert mhra["state"] == "invalid" and mhra["findings"][0]["element"] == "N.2.r.3"

    users.add("doc@example.org", "safety_physician")
    doc = browser()
    doc.login("doc@example.org")
    doc.get(f"/cases/{case_id}")
    advance(doc, case_id)
    assert case_state(settings, case_id) == "approval"

    # ... and blocks the signature: on the panel, the button disabled, the reason shown ...
    page = doc.get(f"/cases/{case_id}").text
    assert 'id="signing-blockers"' in page
    assert "MHRA: N.2.r.3 sponsor DEFAULT has no E2B gateway identifiers for mhra" in page
    assert "disabled>Sign and approve for submission" in page
    # ... by the server whatever the page offered ...
    r = sign(doc, case_id)
    assert r.status_code == 303
    flashed = doc.get(r.headers["Location"]).text
    assert "Not signed" in flashed and "MHRA: N.2.r.3" in flashed
    assert case_state(settings, case_id) == "approval"
    # ... and through the API.
    approval = client.get(f"/api/v1/cases/{case_id}/approval", headers=headers)
    assert approval.status_code == 200
    assert approval.json["can_approve"] is False and approval.json["state"] == "approval"
    assert any(b.startswith("the E2B messages have 1 error(s) that block approval: MHRA: "
                            "N.2.r.3") for b in approval.json["blockers"]), approval.json

    # Once an administrator sets the MHRA gateway, the physician has the unsent messages drafted
    # again (a reason required), and the case can be signed.
    with session_scope(settings.effective_database_url) as s:
        sponsor = s.get_one(Sponsor, DEFAULT_ID)
        configure(s, sponsor, {"gateways": {**sponsor.gateways, "mhra": {
            "sender_id": "SAFETYDESK-UK", "batch_receiver": "MHRA-TEST",
            "message_receiver": "MHRA-TEST"}}}, actor="test")
    page = doc.get(f"/cases/{case_id}").text
    assert 'id="redraft-form"' in page
    refused = doc.post(f"/cases/{case_id}/messages/redraft", data={"reason": " "})
    assert "give a reason" in doc.get(refused.headers["Location"]).text
    done = doc.post(f"/cases/{case_id}/messages/redraft",
                    data={"reason": "MHRA gateway configured"})
    assert "Messages drafted again: 3 conformant, 0 invalid." in doc.get(
        done.headers["Location"]).text
    again = {s["destination"]: s for s in client.get(
        f"/api/v1/cases/{case_id}/submissions", headers=headers).json}
    assert again["MHRA"]["state"] == "draft" and again["FDA"]["state"] == "draft"
    assert client.get(f"/api/v1/cases/{case_id}/approval", headers=headers
                      ).json == {**approval.json, "can_approve": True, "blockers": []}
    assert sign(doc, case_id).status_code == 303
    assert case_state(settings, case_id) == "submission"
    # sent, then amended: the amendment answers the IND safety report too (IND, pre-market)
    with session_scope(settings.effective_database_url) as s:
        export_outbox(s, tmp_path / "outbox", actor="gateway")
    amended = client.post(f"/api/v1/submissions/{again['FDA']['id']}/amendment",
                          headers=headers, json={"reason": "dose unit corrected"})
    assert amended.status_code == 201, amended.json
    assert amended.json["e2b_destination"] == "fda-premarket", amended.json
    xml = client.get(f"/api/v1/submissions/{amended.json['id']}/xml", headers=headers).data
    assert read_batch(xml)[0].case.study.fda_ind_number == "145678"
    with session_scope(settings.effective_database_url) as s:
        asked = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "case.messages_redrafted")).one()
        assert asked.reason == "MHRA gateway configured" and "doc@example.org" in asked.actor

    # the reporting site sees its case through the API, but not the sponsor's approval
    site = sites.token("Site 101")
    assert client.get(f"/api/v1/cases/{case_id}", headers=sites.headers(site)).status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}/approval",
                      headers=sites.headers(site)).status_code == 403

"""Corrections and sponsor assessments through the API (issue 16): a correction is a new version
of kind ``correction`` audited field by field; the sponsor's causality turns a case the
investigator judged unrelated into an IND safety report (21 CFR 312.32(c)(1)(i): the sponsor's
judgement decides; clock from the sponsor's determination); a regulator holding the case gets
a follow-up."""

from __future__ import annotations

from factories.forms import sae_form
from factories.products import add_rsi, load_demo_registry, use_demo_sender
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.submissions.outbox import approve_for_sending, export_outbox

EMA = "EMA (EudraVigilance CT module)"


def _case(client, sites, worker, settings):  # type: ignore[no-untyped-def]
    use_demo_sender(settings)
    safety = sites.token("Safety team", role="safety")
    load_demo_registry(client, sites.headers(safety))
    # IB v12 lists pneumonitis only: febrile neutropenia is unexpected.
    assert add_rsi(client, sites.headers(safety), "PEMBRO", "12",
                   ["10035742"]).status_code == 201
    site = sites.token("Site 101", "GB")
    form = sae_form()
    form["study"]["ind_number"] = "145678"
    form["events"][0]["causality"] = [{"drug": "IMP", "assessment": "not_related"}]
    rep = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
    worker()
    case_id = client.get(rep["status_url"], headers=sites.headers(site)).json["case_id"]
    return safety, site, case_id


def _version_id(settings, case_id, version):  # type: ignore[no-untyped-def]
    from safety.cases.store import CaseVersion

    with session_scope(settings.effective_database_url) as s:
        return str(s.scalar(select(CaseVersion.id).where(CaseVersion.case_id == case_id,
                                                         CaseVersion.version == version)))


def _obligations(client, sites, safety, case_id):  # type: ignore[no-untyped-def]
    got = client.get(f"/api/v1/cases/{case_id}/obligations", headers=sites.headers(safety))
    return {o["destination"]: o for o in got.json["obligations"] if o["status"] == "open"}


def test_correction_and_sponsor_causality_make_a_susar_and_follow_up_the_holder(
        client, sites, worker, settings):
    safety, site, case_id = _case(client, sites, worker, settings)
    h = sites.headers(safety)
    before = _obligations(client, sites, safety, case_id)
    assert "FDA" not in before and EMA not in before  # the investigator: not related

    # No reason: refused, naming the field; nothing written.
    r = client.patch(f"/api/v1/cases/{case_id}", json={
        "changes": {"drugs[0].dosages[0].dose": {"value": 100, "unit": "mg"}}}, headers=h)
    assert r.status_code == 422 and "reason" in r.json["errors"]["json"]
    r = client.patch(f"/api/v1/cases/{case_id}", json={
        "reason": "  ", "changes": {"drugs[0].dosages[0].dose": {"value": 100}}}, headers=h)
    assert r.status_code == 422 and "reason" in r.json["errors"]["json"]
    r = client.patch(f"/api/v1/cases/{case_id}", json={
        "reason": "typo", "changes": {"reactions[0].start": "2026-13-01"}}, headers=h)
    assert r.status_code == 422 and "changes.reactions[0].start" in r.json["errors"]["json"]
    # A site may not correct.
    r = client.patch(f"/api/v1/cases/{case_id}", json={
        "reason": "x", "changes": {"patient.weight_kg": 70}}, headers=sites.headers(site))
    assert r.status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}", headers=h).json["current_version"] == 1

    r = client.patch(f"/api/v1/cases/{case_id}", json={
        "reason": "dose and onset checked against the site's source documents",
        "version": 1,
        "changes": {"drugs[0].dosages[0].dose": {"value": 100, "unit": "mg"},
                    "reactions[0].start": "2026-10"}}, headers=h)
    assert r.status_code == 200, r.json
    assert r.json["version"] == 2 and r.json["kind"] == "correction"
    assert {c["field"] for c in r.json["changes"]} == {"drugs[0].dosages[0].dose",
                                                        "reactions[0].start"}
    worker()
    case = client.get(f"/api/v1/cases/{case_id}", headers=h).json
    assert case["versions"][-1]["kind"] == "correction"
    assert case["versions"][-1]["pipeline"] == "done"
    assert case["data"]["drugs"][0]["dosages"][0]["dose"] == {"value": 100, "unit": "mg"}
    assert case["data"]["reactions"][0]["start"] == "2026-10"  # precision kept
    assert "FDA" not in _obligations(client, sites, safety, case_id)

    # The sponsor's causality (WHO-UMC probable) makes it a SUSAR under the IND.
    reaction = case["data"]["reactions"][0]["id"]
    drug = case["data"]["drugs"][0]["id"]
    r = client.put(f"/api/v1/cases/{case_id}/assessments", json={
        "reason": "temporal relationship, known class effect",
        "assessments": [{"reaction_id": reaction, "drug_id": drug,
                         "causality": {"method": "WHO-UMC", "result": "Poss"}}]}, headers=h)
    assert r.status_code == 422 and "assessments[0].result" in r.json["errors"]["json"]
    r = client.put(f"/api/v1/cases/{case_id}/assessments", json={
        "reason": "temporal relationship, known class effect",
        "assessments": [{"reaction_id": reaction, "drug_id": drug,
                         "causality": {"method": "WHO-UMC", "result": "Probable/Likely"},
                         "expectedness": {"reference": "IB", "rsi_version": "12"}}]},
        headers=h)
    assert r.status_code == 200, r.json
    assert r.json["version"] == 3
    worker()
    owed = _obligations(client, sites, safety, case_id)
    assert "related per sponsor (upgrade of investigator)" in owed[EMA]["explanation"]
    fda = owed["FDA"]
    assert fda["report_type"] == "IND safety report"
    assert "per sponsor" in fda["explanation"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=h).json
    link = case["data"]["drugs"][0]["reactions"][0]
    assert {"source": "Sponsor", "method": "WHO-UMC", "result": "Probable/Likely"} in \
        link["assessments"]  # G.k.9.i.2.r
    subs = client.get(f"/api/v1/cases/{case_id}/submissions", headers=h).json
    fda_sub = [s for s in subs if s["destination"] == "FDA"
               and s["case_version_id"] == _version_id(settings, case_id, 3)]
    assert fda_sub, subs
    with session_scope(settings.effective_database_url) as s:
        from safety.submissions.store import Submission
        xml = s.get(Submission, fda_sub[0]["id"]).xml.decode()
    assert "Probable/Likely" in xml and "Sponsor" in xml  # G.k.9.i.2.r, source sponsor

    # Expectedness override without a reason is refused, naming the field.
    r = client.put(f"/api/v1/cases/{case_id}/assessments", json={
        "reason": "x", "assessments": [{"reaction_id": reaction, "drug_id": drug,
                                        "expectedness": {"reference": "IB",
                                                         "expected": True}}]}, headers=h)
    assert r.status_code == 422
    assert "assessments[0].expectedness_reason" in r.json["errors"]["json"]

    # The EMA receives it (approval as the signature makes it). Then corrections of a case
    # the EMA holds: an amendment where only the form was wrong, else a follow-up.
    with session_scope(settings.effective_database_url) as s:
        approve_for_sending(s, _version_id(settings, case_id, 3), "user:physician")
        assert export_outbox(s, settings.home / "outbox", actor="gateway")
    # Only the form of what the EMA holds was wrong: it is offered an amendment instead.
    r = client.patch(f"/api/v1/cases/{case_id}", json={
        "reason": "reporter's given name was misspelt", "amendment": True,
        "changes": {"reporters[0].given_name": "Ruth A."}}, headers=h)
    assert r.status_code == 200, r.json
    worker()
    subs = client.get(f"/api/v1/cases/{case_id}/submissions", headers=h).json
    amend = [s for s in subs if s["destination"] == EMA
             and s["case_version_id"] == _version_id(settings, case_id, 4)]
    assert [(s["kind"], s["reason"]) for s in amend] == [
        ("amendment", "reporter's given name was misspelt")], subs

    r = client.patch(f"/api/v1/cases/{case_id}", json={
        "reason": "weight reported by the site",
        "changes": {"patient.weight_kg": 61.5,
                    "narrative.sender_comments": "Consistent with the class effect.",
                    "narrative.sender_diagnosis[0]": {"verbatim": "febrile neutropenia"}}},
        headers=h)
    assert r.status_code == 200, r.json
    worker()
    subs = client.get(f"/api/v1/cases/{case_id}/submissions", headers=h).json
    # (the weight is new information: a follow-up)
    follow = [s for s in subs if s["destination"] == EMA
              and s["case_version_id"] == _version_id(settings, case_id, 5)]
    assert follow and follow[0]["kind"] == "follow-up", subs
    narrative = client.get(f"/api/v1/cases/{case_id}", headers=h).json["data"]["narrative"]
    assert narrative["sender_comments"] == "Consistent with the class effect."  # H.4
    with session_scope(settings.effective_database_url) as s:
        from safety.cases.store import CaseVersion, working_data
        cv = s.get(CaseVersion, _version_id(settings, case_id, 5))
        diagnosis = working_data(s, cv).narrative.sender_diagnosis[0]
    assert (diagnosis.code, diagnosis.term) == ("10016288", "Febrile neutropenia")  # H.3.r

    with session_scope(settings.effective_database_url) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                    AuditEvent.action.in_(
                                                        ("case.corrected", "case.assessed"))))
        fields = {(c["field"], e.reason) for e in events for c in e.changes}
    assert ("drugs[0].dosages[0].dose",
            "dose and onset checked against the site's source documents") in fields
    assert ("reactions[0].start",
            "dose and onset checked against the site's source documents") in fields
    assert ("patient.weight_kg", "weight reported by the site") in fields
    assert any(f.startswith("causality (") for f, _ in fields)


def test_the_sponsors_not_related_ends_the_ind_report_but_not_the_eu_one(
        client, sites, worker, settings):
    """21 CFR 312.32(a): the sponsor's judgement decides the IND report; Reg. (EU) 536/2014
    Annex III 2.1: the sponsor may not downgrade the investigator's causality."""
    use_demo_sender(settings)
    safety = sites.token("Safety team", role="safety")
    h = sites.headers(safety)
    load_demo_registry(client, h)
    assert add_rsi(client, h, "PEMBRO", "12", ["10035742"]).status_code == 201
    site = sites.token("Site 101", "GB")
    form = sae_form()  # the investigator: related
    form["study"]["ind_number"] = "145678"
    rep = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
    worker()
    case_id = client.get(rep["status_url"], headers=sites.headers(site)).json["case_id"]
    assert {"FDA", EMA} <= set(_obligations(client, sites, safety, case_id))
    case = client.get(f"/api/v1/cases/{case_id}", headers=h).json
    body = {"reason": "alternative cause: concurrent sepsis", "version": 1,
            "assessments": [{"reaction_id": case["data"]["reactions"][0]["id"],
                             "drug_id": case["data"]["drugs"][0]["id"],
                             "causality": {"method": "Sponsor binary",
                                           "result": "Not related"}}]}
    r = client.put(f"/api/v1/cases/{case_id}/assessments", json=body, headers=h)
    assert r.status_code == 200, r.json
    r = client.put(f"/api/v1/cases/{case_id}/assessments", json=body, headers=h)
    assert r.status_code == 409 and "version" in r.json["errors"]["json"]  # moved on
    worker()
    owed = _obligations(client, sites, safety, case_id)
    assert "FDA" not in owed and EMA in owed  # the EU report is still owed, unchanged
    got = client.get(f"/api/v1/cases/{case_id}/obligations", headers=h).json["obligations"]
    fda = [o for o in got if o["destination"] == "FDA"]
    assert fda and all(o["status"] == "not_required" and o["version"] == 2 for o in fda)
    assert "no longer required" in fda[0]["explanation"]

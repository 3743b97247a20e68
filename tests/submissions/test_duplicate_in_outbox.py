"""Confirming a duplicate whose messages are approved and waiting in the outbox."""

from __future__ import annotations

from factories.forms import sae_form


def test_confirmed_duplicate_waiting_in_the_outbox_is_not_sent(desk):
    """The duplicate was approved and signed but the export has not run yet: once it is
    confirmed a duplicate (and the master cites it), the regulator must not receive it as a
    case of its own with no nullification to follow."""
    master_id = desk.report()
    again = sae_form(sae_id="ONC-301-101-SAE077")
    again["narrative"] = "Re-entered from paper. " + again["narrative"]
    again["events"][0]["verbatim"] = "Febrile neutropenia"
    del again["events"][0]["outcome"]  # less complete: the first report is the master
    dup_id = desk.report(**again)
    desk.approve(dup_id)
    assert "ready" in {s["state"] for s in desk.submissions(dup_id)}

    r = desk.post(f"/api/v1/cases/{dup_id}/duplicates/{master_id}",
                  {"decision": "confirm", "reason": "same SAE entered twice"})
    assert r.status_code == 200, r.json
    assert r.json["duplicate_case_id"] == dup_id
    files = desk.export()
    dup = desk.case(dup_id)
    assert dup["worldwide_case_id"] not in {c.admin.worldwide_case_id for c in files.values()}
    assert "ready" not in {s["state"] for s in desk.submissions(dup_id)}


def test_confirmed_duplicate_never_sent_is_closed_with_its_drafts_and_obligations(desk):
    """Nobody holds the duplicate: it sends nothing, so it cannot be approved and sent later."""
    master_id = desk.report()
    again = sae_form(sae_id="ONC-301-101-SAE078")
    again["narrative"] = "Re-entered from paper. " + again["narrative"]
    del again["events"][0]["outcome"]
    dup_id = desk.report(**again)
    before = desk.get(f"/api/v1/cases/{dup_id}/obligations").json["obligations"]
    assert [o for o in before if o["status"] == "open"]
    assert {s["state"] for s in desk.submissions(dup_id)} & {"draft", "invalid"}

    r = desk.post(f"/api/v1/cases/{dup_id}/duplicates/{master_id}",
                  {"decision": "confirm", "reason": "same SAE entered twice"})
    assert r.status_code == 200, r.json
    assert r.json["duplicate_case_id"] == dup_id
    assert desk.case(dup_id)["state"] == "closed"
    assert {s["state"] for s in desk.submissions(dup_id)} == {"withdrawn"}
    after = desk.get(f"/api/v1/cases/{dup_id}/obligations").json["obligations"]
    assert {o["status"] for o in after} == {"not_required"}
    assert desk.case(master_id)["state"] != "closed"
    desk.approve(master_id)
    files = desk.export()
    dup = desk.case(dup_id)
    assert dup["worldwide_case_id"] not in {c.admin.worldwide_case_id for c in files.values()}

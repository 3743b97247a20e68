"""A physician's coding decision on a processed case: audited, versioned, validated."""

from __future__ import annotations

from factories.forms import sae_form
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.cases.store import CodedView
from safety.db.session import session_scope


def _case(client, sites, worker, verbatim="felt off and heart racing"):  # type: ignore[no-untyped-def]
    site = sites.token()
    form = sae_form()
    form["events"][0]["verbatim"] = verbatim
    r = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
    worker()
    safety = sites.token("Safety team", role="safety")
    rep = client.get(r["status_url"], headers=sites.headers(safety)).json
    case = client.get(rep["case_url"], headers=sites.headers(safety)).json
    return safety, site, case


def test_physician_codes_an_event_and_it_is_audited(client, sites, worker, settings):
    safety, _, case = _case(client, sites, worker)
    reaction_id = case["data"]["reactions"][0]["id"]
    sugg = client.get("/api/v1/terminology/events?q=palpitations",
                      headers=sites.headers(safety)).json
    code = sugg["code"] or sugg["candidates"][0]["code"]
    url = f"/api/v1/cases/{case['case_id']}/events/{reaction_id}/coding"
    r = client.put(url, json={"code": code, "reason": "narrative describes palpitations"},
                   headers=sites.headers(safety))
    assert r.status_code == 200, r.json
    assert r.json["method"] == "manual" and r.json["confirmed_by"].startswith("api:")
    assert r.json["verbatim"] == "felt off and heart racing"
    with session_scope(settings.effective_database_url) as s:
        views = s.scalars(select(CodedView).order_by(CodedView.revision)).all()
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "coding.decided")).one()
    assert [v.revision for v in views] == [1, 2]
    assert views[0].actor == "system:coding"  # the autocoder's revision stays visible
    assert views[1].data["reactions"][0]["coding"]["code"] == code
    assert ev.reason == "narrative describes palpitations"
    assert ev.changes[0]["to"].startswith(code)


def test_bad_codes_and_wrong_callers_are_refused(client, sites, worker):
    safety, site, case = _case(client, sites, worker)
    reaction_id = case["data"]["reactions"][0]["id"]
    url = f"/api/v1/cases/{case['case_id']}/events/{reaction_id}/coding"
    r = client.put(url, json={"code": "99999999", "reason": "x"}, headers=sites.headers(safety))
    assert r.status_code == 422 and "99999999" in r.json["errors"]["json"]["code"][0]
    r = client.put(url, json={"code": "123", "reason": "x"}, headers=sites.headers(safety))
    assert r.status_code == 422
    r = client.put(url, json={"code": "10033557"}, headers=sites.headers(safety))
    assert "reason" in r.json["errors"]["json"]
    assert client.put(url, json={"code": "10033557", "reason": "x"},
                      headers=sites.headers(site)).status_code == 403
    bad = f"/api/v1/cases/{case['case_id']}/events/nope/coding"
    assert client.put(bad, json={"code": "10033557", "reason": "x"},
                      headers=sites.headers(safety)).status_code == 404

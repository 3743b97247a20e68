"""The questions API: the team asks, the site answers with text or a follow-up it sent."""

from __future__ import annotations

from factories.cases import post_report
from factories.forms import sae_form


def test_team_asks_site_answers_with_its_follow_up_team_closes(client, sites, worker):
    site = sites.headers(sites.token("Site A"))
    team = sites.headers(sites.token("Safety team", role="safety"))
    other_site = sites.headers(sites.token("Site B"))
    first = post_report(client, site, sae_form(sae_id="API-1"))
    worker()
    case_id = client.get(first["status_url"], headers=team).json["case_id"]
    url = f"/api/v1/cases/{case_id}/questions"
    assert client.post(url, headers=site, json={"text": "x"}).status_code == 403
    r = client.post(url, headers=team, json={"text": "Dose at onset?", "fields": ["bad name!"]})
    assert r.status_code == 422 and "fields" in r.json["errors"]["json"]
    r = client.post(url, headers=team, json={"text": "Dose at onset?",
                                             "fields": ["drugs.0.dose.value"]})
    assert r.status_code == 201 and r.json["status"] == "open" and not r.json["overdue"]
    qid = r.json["id"]
    listed = client.get("/api/v1/questions?status=open", headers=site).json
    assert [q["id"] for q in listed] == [qid]
    assert client.get("/api/v1/questions", headers=other_site).json == []
    assert client.get(f"/api/v1/questions/{qid}", headers=other_site).status_code == 404
    follow = post_report(client, site, sae_form(sae_id="API-1", report_type="followup",
                                                narrative="Dose was 200 mg."))
    unrelated = post_report(client, site, sae_form(sae_id="API-2"))
    answer = f"/api/v1/questions/{qid}/answer"
    r = client.post(answer, headers=site, json={"report_id": unrelated["report_id"]})
    assert r.status_code == 422 and "report_id" in r.json["errors"]["json"]
    r = client.post(answer, headers=site, json={"report_id": follow["report_id"],
                                                "text": "See the follow-up."})
    assert r.status_code == 200 and r.json["status"] == "answered"
    assert r.json["answer_report_id"] == follow["report_id"]
    assert client.post(answer, headers=site, json={"text": "again"}).status_code == 422
    r = client.post(f"/api/v1/questions/{qid}/close", headers=team, json={})
    assert r.status_code == 200 and r.json["status"] == "closed"
    assert client.post(f"/api/v1/questions/{qid}/reopen", headers=team,
                       json={"reason": "x"}).status_code == 422

"""The case page's duplicate decision follows the same rule as the API (issue 17): a pair the
page offers only "Not a duplicate" cannot be confirmed by a hand-made form post either."""

from __future__ import annotations

from factories.forms import sae_form
from sqlalchemy import func, select, update

from safety.db.session import session_scope
from safety.dedup.store import DedupCandidate, DedupDecision


def _two_reports_of_one_event(client, sites, worker):  # type: ignore[no-untyped-def]
    site = sites.token()
    first = sae_form()
    again = sae_form(sae_id="ONC-301-101-SAE077",
                     narrative="Re-entered from paper. " + first["narrative"])
    again["events"][0]["verbatim"] = "Febrile neutropenia"
    ids = []
    for form in (first, again):
        r = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
        worker()
        ids.append(r["status_url"])
    safety = sites.token("Safety team", role="safety")
    cases = [client.get(u, headers=sites.headers(safety)).json["case_id"] for u in ids]
    return safety, site, cases


def test_the_page_refuses_a_hand_made_confirmation_at_zero_too(
        client, sites, worker, settings, users, browser):
    _safety, _site, (a, b) = _two_reports_of_one_event(client, sites, worker)
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(DedupCandidate).values(score=0.0, suspected=False))
    users.add("doc@example.org", "safety_physician")
    doc = browser()
    doc.login("doc@example.org")
    page = doc.get(f"/cases/{b}").text
    assert "Not a duplicate" in page and "Confirm duplicate" not in page
    r = doc.post(f"/cases/{b}/duplicates/{a}",
                 data={"decision": "confirm", "reason": "same event"})
    assert r.status_code in (302, 303)
    assert "No decision recorded" in doc.get(f"/cases/{b}").text
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(DedupDecision)) == 0

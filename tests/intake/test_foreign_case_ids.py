"""Issue 13.1: a report's sender is the authenticated client, never the XML alone, and naming
another sender's case (by C.1.8.1 or C.1.1) never makes a version of it."""

from __future__ import annotations

from typing import Any

from factories.cases import post_e2b
from factories.e2b import e2b_message
from factories.forms import sae_form
from sqlalchemy import func, select

from safety.db.session import session_scope
from safety.intake.store import Report


def _report(client: Any, sites: Any, token: str, accepted: Any) -> dict[str, Any]:
    return client.get(accepted.json["status_url"], headers=sites.headers(token)).json


def _case(client: Any, sites: Any, token: str, case_id: str) -> dict[str, Any]:
    return client.get(f"/api/v1/cases/{case_id}", headers=sites.headers(token)).json


def test_site_a_posting_e2b_with_site_b_worldwide_id_leaves_b_case_unchanged(
        client, sites, worker):  # type: ignore[no-untyped-def]
    site_a, site_b = sites.token("Site A", "GB"), sites.token("Site B", "DE")
    team = sites.token("Safety team", role="safety")
    b = client.post("/api/v1/reports", json=sae_form(sae_id="B-0001"),
                    headers=sites.headers(site_b))
    worker()
    b_case_id = _report(client, sites, site_b, b)["case_id"]
    b_case = _case(client, sites, team, b_case_id)
    # Site A names B's case by its worldwide id, and by B's own case id, and says it is B.
    attack = post_e2b(client, sites.headers(site_a), e2b_message(
        "SITE-B", c11="B-0001", c181=b_case["worldwide_case_id"],
        narrative="Written by site A into site B's case."))
    assert attack.status_code == 202, attack.json
    worker()

    after = _case(client, sites, team, b_case_id)
    assert after["current_version"] == 1
    assert after["data"]["narrative"]["narrative"] == b_case["data"]["narrative"]["narrative"]
    mine = _report(client, sites, site_a, attack)
    assert mine["status"] == "processed", mine
    assert mine["case_id"] not in (None, b_case_id)
    assert [f["code"] for f in mine["findings"]] == ["worldwide_id_not_yours"]
    own = _case(client, sites, site_a, mine["case_id"])
    assert own["worldwide_case_id"] != b_case["worldwide_case_id"]
    assert own["data"]["narrative"]["narrative"] == "Written by site A into site B's case."
    # B's case stays out of A's sight.
    assert client.get(f"/api/v1/cases/{b_case_id}",
                      headers=sites.headers(site_a)).status_code == 404


def test_site_e2b_is_stored_as_the_site_whatever_n2r2_says(client, sites, settings):  # type: ignore[no-untyped-def]
    site_a = sites.token("Site A", "GB")
    r = post_e2b(client, sites.headers(site_a), e2b_message("SOMEONE-ELSE", c11="A-7"))
    assert r.status_code == 202, r.json
    with session_scope(settings.effective_database_url) as s:
        report = s.get(Report, r.json["report_id"])
        assert report is not None
        assert report.sender == f"site:{report.site_id}"


def test_partner_message_with_an_unbound_n2r2_is_refused_and_nothing_stored(
        client, sites, settings):  # type: ignore[no-untyped-def]
    partner = sites.partner("Acme", "ACME-PV")
    r = post_e2b(client, sites.headers(partner), e2b_message("RIVAL-PV", c11="R-1"))
    assert r.status_code == 403, r.json
    assert "N.2.r.2" in r.json["errors"]["xml"]["message 1"]
    assert "RIVAL-PV" in r.json["message"]
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(func.count(Report.id))).scalar_one() == 0


def test_partner_follow_up_by_its_case_id_or_worldwide_id_still_makes_versions(
        client, sites, worker):  # type: ignore[no-untyped-def]
    partner = sites.partner("Acme", "ACME-PV")
    first = post_e2b(client, sites.headers(partner),
                     e2b_message("ACME-PV", c11="ACME-1", c181="US-ACME-2026-000001"))
    assert first.status_code == 202, first.json
    worker()
    case_id = _report(client, sites, partner, first)["case_id"]
    by_c11 = post_e2b(client, sites.headers(partner), e2b_message(
        "ACME-PV", c11="ACME-1", c181="US-ACME-2026-000001", narrative="Follow-up one."))
    worker()
    by_wwid = post_e2b(client, sites.headers(partner), e2b_message(
        "ACME-PV", c11="ACME-1-FU", c181="US-ACME-2026-000001", narrative="Follow-up two."))
    worker()
    assert _report(client, sites, partner, by_c11)["case_id"] == case_id
    assert _report(client, sites, partner, by_wwid)["case_id"] == case_id
    case = _case(client, sites, partner, case_id)
    assert case["current_version"] == 3
    assert case["worldwide_case_id"] == "US-ACME-2026-000001"

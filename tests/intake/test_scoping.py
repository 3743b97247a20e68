"""A site sees only its own reports and cases; safety-team clients see all."""

from __future__ import annotations

from factories.forms import sae_form


def test_site_sees_only_its_own(client, sites, worker):
    a = sites.token("Site A", "GB")
    b = sites.token("Site B", "DE")
    ra = client.post("/api/v1/reports", json=sae_form(sae_id="A-1"),
                     headers=sites.headers(a)).json["report_id"]
    rb = client.post("/api/v1/reports", json=sae_form(sae_id="B-1"),
                     headers=sites.headers(b)).json["report_id"]
    worker()
    # Reports: own visible, other's is a 404 (no hint that it exists)
    assert client.get(f"/api/v1/reports/{ra}", headers=sites.headers(a)).status_code == 200
    assert client.get(f"/api/v1/reports/{rb}", headers=sites.headers(a)).status_code == 404
    case_b = client.get(f"/api/v1/reports/{rb}", headers=sites.headers(b)).json["case_id"]
    assert client.get(f"/api/v1/cases/{case_b}", headers=sites.headers(a)).status_code == 404
    listing = client.get("/api/v1/cases", headers=sites.headers(a)).json
    assert listing["total"] == 1
    assert listing["items"][0]["sender_case_id"] == "A-1"
    # The same SAE id at two sites is two different cases.
    safety = sites.token("Safety team", role="safety")
    assert client.get("/api/v1/cases", headers=sites.headers(safety)).json["total"] == 2
    assert client.get(f"/api/v1/cases/{case_b}", headers=sites.headers(safety)).status_code \
        == 200


def test_same_sae_id_at_two_sites_is_two_cases(client, sites, worker):
    a = sites.token("Site A", "GB")
    b = sites.token("Site B", "DE")
    client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(a))
    client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(b))
    worker()
    safety = sites.token("Safety team", role="safety")
    cases = client.get("/api/v1/cases", headers=sites.headers(safety)).json["items"]
    assert len(cases) == 2
    assert all(c["current_version"] == 1 for c in cases)

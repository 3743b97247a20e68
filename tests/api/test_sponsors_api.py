"""``/api/v1/sponsors``: a client reads its own sponsors only; a site's client learns who its
sponsor is, not the sponsor's gateway and sender settings."""

from __future__ import annotations

from factories.sponsors import sponsor_id


def test_a_client_lists_and_reads_only_its_own_sponsors(client, sites, settings):
    other = sponsor_id(settings.effective_database_url, "OTHER", timezone="Asia/Tokyo")
    mine = sites.headers(sites.token("Safety team", role="safety"))
    theirs = sites.headers(sites.token("Their team", role="safety", sponsor=other))

    listed = client.get("/api/v1/sponsors", headers=mine).json
    assert [s["code"] for s in listed] == ["DEFAULT"]
    assert listed[0]["org_code"] == "SAFETYDESK" and "fda" in listed[0]["gateways"]
    assert client.get("/api/v1/sponsors/OTHER", headers=mine).status_code == 404
    assert client.get("/api/v1/sponsors/NOPE", headers=mine).status_code == 404
    assert client.get("/api/v1/sponsors/other", headers=theirs).json["timezone"] == "Asia/Tokyo"
    assert [s["code"] for s in client.get("/api/v1/sponsors", headers=theirs).json] == ["OTHER"]


def test_a_site_client_sees_its_sponsor_but_not_its_settings(client, sites):
    site = sites.headers(sites.token("Site 101"))
    assert client.get("/api/v1/sponsors", headers=site).json == [
        {"code": "DEFAULT", "name": "Default sponsor", "timezone": "UTC"}]
    assert client.get("/api/v1/sponsors").status_code == 401


def test_the_safety_team_sees_the_sponsors_reading_of_ambiguous_provisions(client, sites):
    """The per-sponsor readings (docs/rules.md "Choices per sponsor") are visible, defaults
    included: SI 2004/1031 reg. 33(2) as amended in 2026, ``rules.uk_ct_followup``."""
    mine = sites.headers(sites.token("Safety team", role="safety"))
    shown = client.get("/api/v1/sponsors/DEFAULT", headers=mine).json
    assert shown["rules"] == {"uk_ct_followup": "always"}

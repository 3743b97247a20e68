"""A processed case shows its obligations with explanations (API, CLI); an RSI change through
the API re-evaluates open cases and says which obligations appear or disappear."""

from __future__ import annotations

import json

from click.testing import CliRunner
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.products import add_rsi, load_demo_registry


def _setup(client, sites):  # type: ignore[no-untyped-def]
    safety = sites.token("Safety team", role="safety")
    load_demo_registry(client, sites.headers(safety))
    r = add_rsi(client, sites.headers(safety), "PEMBRO", "12", ["10035742"])
    assert r.status_code == 201 and r.json == {"changes": []}
    return safety


def test_case_obligations_with_explanations_and_rsi_change(client, sites, worker, settings,
                                                            monkeypatch):
    safety = _setup(client, sites)
    site = sites.token("Site 101", "GB")
    form = sae_form()
    form["study"]["ind_number"] = "145678"
    rep = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
    worker()
    case_id = client.get(rep["status_url"], headers=sites.headers(site)).json["case_id"]
    got = client.get(f"/api/v1/cases/{case_id}/obligations", headers=sites.headers(safety)).json
    by_dest = {o["destination"]: o for o in got["obligations"]}
    assert {"FDA", "MHRA"} <= set(by_dest)
    fda = by_dest["FDA"]
    assert fda["report_type"].startswith("IND") or "IND" in fda["report_type"]
    assert fda["citation"].startswith("21 CFR 312.32")
    assert fda["explanation"].startswith(f"Due {fda['due']} = day 0 {fda['day0']}")
    listing = client.get("/api/v1/obligations?status=open", headers=sites.headers(safety)).json
    assert {o["id"] for o in listing} >= {o["id"] for o in got["obligations"]}

    use_settings_env(monkeypatch, settings)
    from safety.cli import main

    res = CliRunner().invoke(main, ["obligations", case_id, "--json"])
    assert res.exit_code == 0, res.output
    assert {o["destination"] for o in json.loads(res.output)} == set(by_dest)

    # IB v13 lists febrile neutropenia as expected: the SUSAR reports are no longer owed.
    r = add_rsi(client, sites.headers(safety), "PEMBRO", "13", ["10035742", "10016288"],
                effective_from="2026-02-01")
    assert r.status_code == 201, r.json
    gone = [c for c in r.json["changes"] if c["change"] == "disappears"]
    assert gone and all(c["case_id"] == case_id for c in gone)
    assert {c["obligation"]["destination"] for c in gone} >= {"FDA"}


def test_products_are_the_safety_teams(client, sites):
    site = sites.token()
    assert client.get("/api/v1/products", headers=sites.headers(site)).status_code == 403
    safety = sites.token("Safety team", role="safety")
    bad = client.post("/api/v1/products/rsi", json={"product_id": "X"},
                      headers=sites.headers(safety))
    assert bad.status_code == 422 and "missing" in bad.json["errors"]["json"]["rsi"][0]


def test_a_second_rsi_version_from_the_same_day_is_refused_naming_the_date(client, sites):
    """One document is in force from a given day: a different version with the same product,
    reference and start is a 422 naming effective_from (it was a 500 on the unique key); the same
    version sent again (a re-run import) changes nothing."""
    safety = _setup(client, sites)
    again = add_rsi(client, sites.headers(safety), "PEMBRO", "12", ["10035742"])
    assert again.status_code == 201 and again.json == {"changes": []}
    other = add_rsi(client, sites.headers(safety), "PEMBRO", "12b", ["10035742", "10016288"])
    assert other.status_code == 422
    message = other.json["errors"]["json"]["effective_from"][0]
    assert "'12'" in message and "2026-01-01" in message

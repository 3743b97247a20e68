"""Each sponsor's messages carry its own identity: the worldwide case id (C.1.8.1) with its
organisation code, its sender block (C.3) and its gateway identifiers (N.1.3, N.1.4, N.2.r.2,
N.2.r.3), never another sponsor's; a regulator it has no gateway for gets no message, and the
refusal names the setting to configure.

Two sponsors are configured differently, each has a case processed end to end (its site's
token, the API, the worker), and the exported XML is read with the XPaths of the FDA's element
table (``schemas/reference/fda-core-and-regional-data-elements.csv``, the copy of
``/work/shared/e2b-r3/reference/fda/`` the checker uses). The expected values below are
written from the configuration, not from an export.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories.accounts import Sites
from factories.forms import sae_form
from factories.products import add_rsi, load_demo_registry
from factories.sponsors import sponsor_id
from flask.testing import FlaskClient
from lxml import etree

from safety.cli import main
from safety.config import Settings
from safety.package_data import BUNDLED_SCHEMAS

HL7 = {"h": "urn:hl7-org:v3"}
EMA = "EMA (EudraVigilance CT module)"

SPONSORS: dict[str, dict[str, Any]] = {
    "ALPHA": {
        "name": "Alpha Pharma AG", "org_code": "ALPHAPH", "case_prefix": "ALP",
        "timezone": "Europe/Zurich",
        "sender": {"organisation": "Alpha Pharma AG", "type": "1",
                   "department": "Arzneimittelsicherheit", "title": "Dr",
                   "given_name": "Jonas", "family_name": "Keller", "street": "Hauptstrasse 1",
                   "city": "Basel", "state": "Basel-Stadt", "postcode": "4051",
                   "country": "CH", "telephone": "+41 61 000 00 01",
                   "fax": "+41 61 000 00 02", "email": "pv@alpha.invalid"},
        # FDA and EMA; nothing for the MHRA
        "gateways": {"fda": {"sender_id": "ALPHA-FDA-7"},
                     "ema": {"sender_id": "ALPHA-EV-7"}},
    },
    "BETA": {
        "name": "Beta Biologics Inc", "org_code": "BETABIO", "case_prefix": "BET",
        "timezone": "America/New_York",
        "sender": {"organisation": "Beta Biologics Inc", "type": "1",
                   "department": "Global Patient Safety", "title": "Ms",
                   "given_name": "Grace", "family_name": "Okoro", "street": "9 Harbor Way",
                   "city": "Boston", "state": "MA", "postcode": "02110", "country": "US",
                   "telephone": "+1 617 000 0001", "fax": "+1 617 000 0002",
                   "email": "safety@beta.invalid"},
        "gateways": {"fda": {"sender_id": "BETA-FDA-3"}, "ema": {"sender_id": "BETA-EV-3"},
                     "mhra": {"sender_id": "BETA-MHRA-3", "batch_receiver": "MHRA-GW-TEST",
                              "message_receiver": "MHRA-ICSR-TEST"}},
    },
}
# The regulators' published receivers for a clinical-trial report (N.1.4, N.2.r.3): the FDA's
# pre-market (IND) and EudraVigilance's clinical-trial module (destinations.json, from the FDA
# and EU implementation guides); the MHRA's come from the sponsor's configuration.
PUBLISHED = {"fda": ("ZZFDA_PREMKT", "CDER_IND"), "ema": ("EVCTMPROD", "EVCTMPROD")}
C3 = {"C.3.1": "type", "C.3.2": "organisation", "C.3.3.1": "department", "C.3.3.2": "title",
      "C.3.3.3": "given_name", "C.3.3.5": "family_name", "C.3.4.1": "street",
      "C.3.4.2": "city", "C.3.4.3": "state", "C.3.4.4": "postcode", "C.3.4.5": "country",
      "C.3.4.6": "telephone", "C.3.4.7": "fax", "C.3.4.8": "email"}


@cache
def xpath_of(element: str) -> etree.XPath:
    """The element's XPath in the FDA table, for the first message of a batch, in the HL7
    namespace (the table's paths have no prefix and ``[r]`` for the repeat)."""
    table = BUNDLED_SCHEMAS / "reference" / "fda-core-and-regional-data-elements.csv"
    with table.open(encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if len(r) > 32 and r[2].strip() == element]
    assert len(rows) == 1, f"{element}: {len(rows)} rows in the FDA table"
    path = rows[0][32].replace("[r]", "[1]")
    path = re.sub(r"(?<=[/\[])([A-Za-z_][\w]*)(?=[\[/\]]|$)", r"h:\1", path)
    return etree.XPath(path, namespaces=HL7)


def value(xml: bytes, element: str) -> str | None:
    found = xpath_of(element)(etree.fromstring(xml))
    if isinstance(found, list):
        assert len(found) <= 1, (element, found)
        return str(found[0]) if found else None
    return str(found) or None


def _setup(client: FlaskClient, sites: Sites, settings: Settings, code: str) -> str:
    """The sponsor configured, its registry and RSI loaded by its own safety team; a case
    reported by its site and processed by the worker. Returns the site's token."""
    url = settings.effective_database_url
    sid = sponsor_id(url, code, **SPONSORS[code])
    team = sites.headers(sites.token(f"{code} team", role="safety", sponsor=sid))
    load_demo_registry(client, team)
    assert add_rsi(client, team, "PEMBRO", "12", ["10035742"]).status_code == 201
    return sites.token(f"{code} site 1", "GB", sponsor=sid)


def _report(client: FlaskClient, sites: Sites, token: str, sae_id: str) -> Any:
    form = sae_form(sae_id=sae_id)
    form["study"]["ind_number"] = "145678"
    r = client.post("/api/v1/reports", json=form, headers=sites.headers(token))
    assert r.status_code == 202, r.json
    return r.json["status_url"]


def _export(code: str, number: str, regulator: str, out: Path) -> Any:
    return CliRunner().invoke(main, ["--sponsor", code, "export", "e2b", number,
                                     "--destination", regulator, "-o", str(out)])


@pytest.fixture()
def processed(client: FlaskClient, sites: Sites, worker: Any,
              settings: Settings) -> dict[str, dict[str, Any]]:
    """Each sponsor's case (number, worldwide id, id) and its site's token."""
    tokens = {code: _setup(client, sites, settings, code) for code in SPONSORS}
    # the same SAE id at both sponsors: each numbers and identifies its own case
    urls = {code: _report(client, sites, tokens[code], "ONC-301-101-SAE001")
            for code in SPONSORS}
    worker()
    out = {}
    for code, url in urls.items():
        report = client.get(url, headers=sites.headers(tokens[code])).json
        assert report["status"] == "processed", report
        case = client.get(report["case_url"], headers=sites.headers(tokens[code])).json
        out[code] = {"token": tokens[code], "case_id": report["case_id"],
                     "number": case["case_number"],
                     "worldwide": case["worldwide_case_id"]}
    return out


def test_each_message_carries_its_own_sponsors_identity(processed, tmp_path):  # type: ignore[no-untyped-def]
    for code, config in SPONSORS.items():
        other = next(c for c in SPONSORS if c != code)
        case = processed[code]
        assert case["number"].startswith(f"{config['case_prefix']}-")
        assert case["worldwide"].startswith(f"GB-{config['org_code']}-")
        for regulator in ("fda", "ema"):
            out = tmp_path / f"{code}-{regulator}.xml"
            res = _export(code, case["number"], regulator, out)
            assert res.exit_code == 0, res.output
            xml = out.read_bytes()
            sender_id = config["gateways"][regulator]["sender_id"]
            assert value(xml, "N.1.3") == sender_id
            assert value(xml, "N.2.r.2") == sender_id
            assert (value(xml, "N.1.4"), value(xml, "N.2.r.3")) == PUBLISHED[regulator]
            assert value(xml, "C.1.8.1") == case["worldwide"]
            assert {e: value(xml, e) for e in C3} == {e: config["sender"][k]
                                                      for e, k in C3.items()}
            theirs = SPONSORS[other]
            for foreign in (theirs["org_code"], theirs["sender"]["organisation"],
                            theirs["sender"]["email"], theirs["sender"]["family_name"],
                            theirs["gateways"][regulator]["sender_id"],
                            processed[other]["worldwide"]):
                assert foreign.encode() not in xml, (code, regulator, foreign)


def test_a_configured_mhra_gateway_is_used(processed, tmp_path):  # type: ignore[no-untyped-def]
    """MHRA identifiers come only from the sponsor: BETA has them, and its MHRA message
    carries them."""
    out = tmp_path / "beta-mhra.xml"
    res = _export("BETA", processed["BETA"]["number"], "mhra", out)
    mhra = SPONSORS["BETA"]["gateways"]["mhra"]
    assert res.exit_code == 0, res.output
    xml = out.read_bytes()
    assert value(xml, "N.1.3") == value(xml, "N.2.r.2") == mhra["sender_id"]
    assert value(xml, "N.1.4") == mhra["batch_receiver"]
    assert value(xml, "N.2.r.3") == mhra["message_receiver"]
    assert value(xml, "C.1.8.1") == processed["BETA"]["worldwide"]
    assert b"ALPHA" not in xml


def test_no_gateway_for_a_regulator_names_the_missing_setting(processed, client, sites,  # type: ignore[no-untyped-def]
                                                              tmp_path):
    """ALPHA has no MHRA gateway: the CLI export fails, and so does the message the pipeline
    drafted for the MHRA obligation, each naming the setting."""
    setting = "safety sponsor configure ALPHA --gateway mhra:"
    out = tmp_path / "alpha-mhra.xml"
    res = _export("ALPHA", processed["ALPHA"]["number"], "mhra", out)
    assert res.exit_code == 1
    assert setting in res.output and "N.1.3" in res.output
    assert not out.exists()

    team = sites.token("ALPHA reader", role="safety",
                       sponsor=sponsor_id(client.application.config["SAFETY"]
                                          .effective_database_url, "ALPHA"))
    drafts = client.get(f"/api/v1/cases/{processed['ALPHA']['case_id']}/submissions",
                        headers=sites.headers(team)).json
    mhra = [s for s in drafts if s["destination"] == "MHRA"]
    assert len(mhra) == 1, [s["destination"] for s in drafts]
    assert mhra[0]["state"] == "invalid"
    assert any(setting in f["message"] for f in mhra[0]["findings"]), mhra[0]["findings"]
    r = client.get(f"/api/v1/submissions/{mhra[0]['id']}/xml", headers=sites.headers(team))
    assert r.status_code == 404  # no message to send


def test_a_sponsor_cannot_export_another_sponsors_case(processed, tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "x.xml"
    res = _export("ALPHA", processed["BETA"]["number"], "fda", out)
    assert res.exit_code != 0 and "no case" in res.output
    assert not out.exists()

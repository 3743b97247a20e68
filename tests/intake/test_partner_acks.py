"""Issue 14: every inbound E2B batch is answered with an ICH ACK (MCCI_IN200101UV01): AA, AE
with the findings as each message's text, or AR for what could not be read; via the API and
into the partner's outbox."""

from __future__ import annotations

import json

from click.testing import CliRunner
from factories.cases import post_e2b
from factories.e2b import example
from factories.env import use_settings_env
from lxml import etree

from safety.e2b.ack import read_ack
from safety.e2b.hl7 import NS


def _odd_message() -> bytes:
    """Scenario 1 with a dangling drug reference, an hours-only offset, an unknown but
    well-formed element and a sex code not in its list (D.5: 1, 2)."""
    root = etree.fromstring(example("FAERS2022Scenario1.xml"))
    ref = root.find(".//h:causalityAssessment/h:subject2/h:productUseReference/h:id", NS)
    ref.set("root", "11111111-2222-3333-4444-555555555555")
    sex = root.find(".//h:player1/h:administrativeGenderCode", NS)
    sex.set("code", "7")
    birth = root.find(".//h:player1/h:birthTime", NS)
    birth.addnext(etree.fromstring('<favouriteColour xmlns="urn:hl7-org:v3" code="blue"/>'))
    return etree.tostring(root).replace(b'value="20140714151617-0500"',
                                        b'value="20140714151617-05"')


def test_a_clean_batch_is_aa(client, sites, worker):
    token = sites.token("Partner", "US", role="safety")
    r = post_e2b(client, sites.headers(token), example("FAERS2022Scenario3.xml"))
    assert r.status_code == 202
    got = client.get(r.json["status_url"] + "/ack", headers=sites.headers(token))
    assert got.status_code == 200 and got.mimetype == "application/xml"
    ack = read_ack(got.data)
    assert ack.code == "AA" and [m.code for m in ack.messages] == ["CA"]
    assert ack.messages[0].local_report_number == r.json["report_id"]
    assert ack.receiver == "4567AB89012"  # the batch sender N.1.3
    again = client.get(r.json["status_url"] + "/ack", headers=sites.headers(token))
    assert again.data == got.data  # made from what was stored: the same every time


def test_an_odd_message_is_stored_processed_with_findings_and_its_ack_is_ae(
        client, sites, worker):
    token = sites.token("Partner", "US", role="safety")
    r = post_e2b(client, sites.headers(token), _odd_message())
    assert r.status_code == 202, r.json
    worker()
    rep = client.get(r.json["status_url"], headers=sites.headers(token)).json
    assert rep["status"] == "processed", rep
    texts = [f"{f['criterion']} {f['code']} {f['message']}" for f in rep["findings"]]
    wanted = {"dangling": "names no drug", "offset": "hours only", "element": "favouriteColour",
              "code": "'7' is not an allowed value for Sex"}
    for what, text in wanted.items():
        assert any(text in t for t in texts), (what, texts)
    case = client.get(rep["case_url"], headers=sites.headers(token)).json
    assert case["data"]["patient"]["sex"] == "7"  # the wrong code is kept as sent
    ack = read_ack(client.get(r.json["status_url"] + "/ack", headers=sites.headers(token)).data)
    assert ack.code == "AE"
    [m] = ack.messages
    assert m.code == "CA" and m.text is not None
    for text in wanted.values():
        assert text in m.text


def test_what_is_not_an_icsr_is_rejected_with_an_ar_ack(client, sites):
    token = sites.token("Partner", "US", role="safety")
    r = post_e2b(client, sites.headers(token), b"<invoice>not an ICSR</invoice>")
    assert r.status_code == 400
    got = client.get(r.headers["Location"] + "/ack", headers=sites.headers(token))
    assert got.status_code == 200
    ack = read_ack(got.data)
    assert ack.code == "AR" and ack.messages == []
    assert ack.text is not None and "MCCI_IN200100UV01" in ack.text


def test_a_form_has_no_ack_and_another_clients_report_is_not_found(client, sites):
    from factories.forms import sae_form

    site = sites.token("Site A", "GB")
    r = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(site))
    assert client.get(r.json["status_url"] + "/ack", headers=sites.headers(site)).status_code \
        == 404
    partner = sites.token("Partner", "US", role="safety")
    e2b = post_e2b(client, sites.headers(partner), example("FAERS2022Scenario3.xml"))
    assert client.get(e2b.json["status_url"] + "/ack",
                      headers=sites.headers(site)).status_code == 404


def test_partner_acks_go_to_the_partners_outbox_once(client, sites, settings, monkeypatch,
                                                     tmp_path):
    from safety.cli import main

    token = sites.token("Partner", "US", role="safety")
    post_e2b(client, sites.headers(token), example("FAERS2022Scenario3.xml"))
    post_e2b(client, sites.headers(token), b"<invoice/>")
    use_settings_env(monkeypatch, settings)
    res = CliRunner().invoke(main, ["partner-acks", "--outbox", str(tmp_path)])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.output.splitlines()]
    assert len(lines) == 2
    codes = sorted(read_ack((tmp_path / line["ack"]).read_bytes()).code for line in lines)
    assert codes == ["AA", "AR"]
    assert any("/DEFAULT/4567AB89012/ack-" in line["ack"] for line in lines)
    again = CliRunner().invoke(main, ["partner-acks", "--outbox", str(tmp_path)])
    assert again.exit_code == 0 and again.output == ""


def test_rejected_reports_are_listed_for_the_team(client, sites):
    partner = sites.token("Partner", "US", role="safety")
    bad = post_e2b(client, sites.headers(partner), b"<invoice/>")
    post_e2b(client, sites.headers(partner), example("FAERS2022Scenario3.xml"))
    listed = client.get("/api/v1/reports?status=rejected", headers=sites.headers(partner))
    assert listed.status_code == 200
    [rejected] = listed.json["reports"]
    assert rejected["status"] == "rejected"
    assert bad.headers["Location"].endswith(rejected["report_id"])
    assert len(client.get("/api/v1/reports", headers=sites.headers(partner)).json["reports"]) \
        == 2
    site = sites.token("Site A", "GB")
    assert client.get("/api/v1/reports?status=rejected",
                      headers=sites.headers(site)).json["reports"] == []
    assert client.get("/api/v1/reports?status=bogus",
                      headers=sites.headers(partner)).status_code == 422


def _written(settings, before=frozenset()) -> list:  # type: ignore[no-untyped-def]
    """The ACK files in the automatic outbox (shared by the session's tests), less
    ``before``."""
    return sorted(set(settings.partner_ack_dir.glob("*/*/ack-*.xml")) - set(before))


def test_the_ack_is_written_when_the_last_message_of_the_batch_is_processed(
        client, sites, settings, worker):
    """Issue 14: no one has to ask. One ACK per batch (ICH: ACK.A for the batch, ACK.B.r per
    ICSR), written once every message is done, into the partner's outbox folder."""
    from factories.batches import batch, valid

    token = sites.token("Partner", "US", role="safety")
    before = _written(settings)
    r = post_e2b(client, sites.headers(token), batch(valid(1), valid(2)))
    assert r.status_code == 202, r.json
    assert _written(settings, before) == []  # nothing processed yet: nothing to acknowledge
    worker()
    [path] = _written(settings, before)
    assert path.parent.name == "PARTNER" and path.parent.parent.name == "DEFAULT"
    ack = read_ack(path.read_bytes())
    assert [m.code for m in ack.messages] == ["CA", "CA"]
    assert {m.local_report_number for m in ack.messages} == {
        item["report_id"] for item in r.json["reports"]}
    # the same ACK as the API gives: made from what was stored
    got = client.get(r.json["reports"][0]["status_url"] + "/ack", headers=sites.headers(token))
    assert got.data == path.read_bytes()


def test_a_rejected_batch_is_answered_ar_by_the_sweep(client, sites, settings):
    from datetime import timedelta

    from safety.db.base import utcnow
    from safety.db.session import session_scope
    from safety.intake.acks import write_pending

    token = sites.token("Partner", "US", role="safety")
    post_e2b(client, sites.headers(token), b"<invoice>not an ICSR</invoice>")
    with session_scope(settings.effective_database_url) as session:
        [path] = write_pending(session, utcnow() - timedelta(days=1), settings.partner_ack_dir)
        assert write_pending(session, utcnow() - timedelta(days=1),
                             settings.partner_ack_dir) == []  # once
    assert read_ack(path.read_bytes()).code == "AR"

"""Partners' E2B(R3) batches go through the same intake and pipeline as site forms."""

from __future__ import annotations

import json
from unittest.mock import ANY

import pytest
from click.testing import CliRunner
from factories.cases import post_e2b
from factories.e2b import DATA, example
from factories.env import use_settings_env
from factories.hostile_xml import HOSTILE


def _post_xml(client, sites, token, body: bytes):  # type: ignore[no-untyped-def]
    return post_e2b(client, sites.headers(token), body)


def test_fda_example_becomes_a_case_with_its_worldwide_id(client, sites, worker):
    token = sites.token("Partner", "US", role="safety")
    body = example("FAERS2022Scenario1.xml")
    r = _post_xml(client, sites, token, body)
    assert r.status_code == 202, r.json
    assert len(r.json["reports"]) == 1
    worker()
    rep = client.get(r.json["status_url"], headers=sites.headers(token)).json
    assert rep["status"] == "processed", rep
    assert rep["channel"] == "e2b"
    case = client.get(rep["case_url"], headers=sites.headers(token)).json
    from safety.e2b.reader import read_batch

    original = read_batch(body)[0].case
    assert case["worldwide_case_id"] == original.admin.worldwide_case_id
    assert len(case["data"]["reactions"]) == len(original.reactions)
    assert len(case["data"]["drugs"]) == len(original.drugs)


def test_same_message_again_is_the_same_case_and_no_new_version(client, sites, worker):
    token = sites.token("Partner", "US", role="safety")
    body = example("FAERS2022Scenario3.xml")
    first = _post_xml(client, sites, token, body).json
    worker()
    second = _post_xml(client, sites, token, body).json
    worker()
    a = client.get(first["status_url"], headers=sites.headers(token)).json
    b = client.get(second["status_url"], headers=sites.headers(token)).json
    assert a["case_id"] == b["case_id"]
    assert [f["code"] for f in b["findings"]] == ["identical_resend"]
    case = client.get(b["case_url"], headers=sites.headers(token)).json
    assert case["current_version"] == 1


def test_malformed_and_hostile_xml_is_stored_rejected_with_the_reason(client, sites, settings,
                                                                      worker):
    """Issue 14: nothing is lost at the door. What cannot be read is answered 400 with the
    reason, and stored as sent, rejected, its report named in Location."""
    token = sites.token("Partner", "US", role="safety")
    bad = b"<MCCI_IN200100UV01><unclosed></MCCI_IN200100UV01>"
    evil = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<MCCI_IN200100UV01 xmlns='urn:hl7-org:v3'>&e;</MCCI_IN200100UV01>")
    expected = {bad: "line 1", evil: "DOCTYPE", b"<other/>": "MCCI_IN200100UV01",
                example("FDA_R3ack-positive.xml"): "MCCI_IN200100UV01"}
    for body, why in expected.items():
        r = _post_xml(client, sites, token, body)
        assert r.status_code == 400, r.json
        assert why in r.json["message"]
        rep = client.get(r.headers["Location"], headers=sites.headers(token)).json
        assert rep["status"] == "rejected"
        assert [f["code"] for f in rep["findings"]] == ["e2b-rejected"]
        assert why in rep["findings"][0]["message"] + rep["findings"][0]["criterion"]
        assert rep["last_error"] is not None and why in rep["last_error"]
    worker()  # nothing to process: a rejected report stays rejected
    from sqlalchemy import select

    from safety.audit.store import AuditEvent
    from safety.db.session import session_scope
    from safety.intake.store import Report

    with session_scope(settings.effective_database_url) as s:
        reports = s.execute(select(Report)).scalars().all()
        assert sorted(r.raw for r in reports) == sorted(expected)
        assert {r.status for r in reports} == {"rejected"}
        actions = s.execute(select(AuditEvent.action).where(
            AuditEvent.entity_id == str(reports[0].id))).scalars().all()
        assert sorted(actions) == ["report.received", "report.rejected"]


def test_a_rejected_batch_retried_with_its_key_is_the_same_report(client, sites):
    token = sites.token("Partner", "US", role="safety")
    headers = {**sites.headers(token), "Idempotency-Key": "k-1"}
    first = post_e2b(client, headers, b"<other/>")
    again = post_e2b(client, headers, b"<other/>")
    assert first.status_code == again.status_code == 400
    assert first.headers["Location"] == again.headers["Location"]
    assert post_e2b(client, headers, b"<another/>").status_code == 409


def test_cli_imports_an_e2b_file(settings, monkeypatch, worker):
    from safety.cli import main

    use_settings_env(monkeypatch, settings)
    res = CliRunner().invoke(main, ["import", str(DATA / "FAERS2022Scenario8.xml")])
    assert res.exit_code == 0, res.output
    line = json.loads(res.output.strip().splitlines()[0])
    assert line["report_id"] and line["message_id"]
    worker()
    from safety.db.session import session_scope
    from safety.intake.store import Report

    with session_scope(settings.effective_database_url) as s:
        assert s.get(Report, __import__("uuid").UUID(line["report_id"])).status == "processed"


def test_a_case_exported_for_fda_imports_and_is_processed(client, sites, worker, settings,
                                                          monkeypatch, tmp_path):
    """`safety export e2b CASE --destination fda` writes FDA.C.5.6.r with nullFlavor NA
    (no other cross-reported IND); importing that file must make a case, not fail forever
    on the null flavour in the study section."""
    from factories.forms import sae_form
    from factories.products import use_demo_sender
    from sqlalchemy import select

    from safety.cases.store import Case
    from safety.cli import main
    from safety.db.session import session_scope

    site = sites.token()
    form = sae_form(study={"protocol_number": "ONC-301", "name": "Phase III NSCLC",
                           "ind_number": "145678"})
    assert client.post("/api/v1/reports", json=form,
                       headers=sites.headers(site)).status_code == 202
    worker()
    use_settings_env(monkeypatch, settings)
    use_demo_sender(settings)
    with session_scope(settings.effective_database_url) as s:
        number = s.scalar(select(Case.case_number))
    for dest in ("fda", "ema"):
        out = tmp_path / f"{dest}.xml"
        res = CliRunner().invoke(main, ["export", "e2b", number, "--destination", dest,
                                        "-o", str(out)])
        assert res.exit_code == 0, res.output
        if dest == "fda":
            assert b'nullFlavor="NA"' in out.read_bytes()  # FDA.C.5.6.r, as FDA R0026 asks
        token = sites.token("Partner", "US", role="safety")
        r = _post_xml(client, sites, token, out.read_bytes())
        assert r.status_code == 202, r.json
        worker()
        rep = client.get(r.json["status_url"], headers=sites.headers(token)).json
        assert rep["status"] == "processed", rep
        assert rep["last_error"] is None


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_doctype_hidden_from_a_byte_scan_is_refused_and_stored_rejected(
        client, sites, settings, name):
    """A DOCTYPE after 4 KiB of comment, or in UTF-16 with an entity, used to be accepted
    (202) with the narrative silently cut to "["; it is a 400 naming the reason, and the file
    is kept as sent, rejected (issue 14), never read."""
    from sqlalchemy import select

    from safety.db.session import session_scope
    from safety.intake.store import Report

    token = sites.token("Partner", "US", role="safety")
    r = _post_xml(client, sites, token, HOSTILE[name])
    assert r.status_code == 400, r.json
    assert "DOCTYPE" in r.json["message"]
    assert r.json["errors"] == {"xml": {"file": [ANY]}}
    with session_scope(settings.effective_database_url) as s:
        [(raw, status)] = s.execute(select(Report.raw, Report.status)).all()
        assert (raw, status) == (HOSTILE[name], "rejected")


def test_a_partner_message_with_a_dangling_reference_and_an_hours_offset_is_processed_with_findings(
        client, sites, worker):
    """Issue 14: both were refused (400, not stored); now stored, processed, findings kept."""
    from lxml import etree

    from safety.e2b.hl7 import NS

    root = etree.fromstring(example("FAERS2022Scenario1.xml"))
    ref = root.find(".//h:causalityAssessment/h:subject2/h:productUseReference/h:id", NS)
    ref.set("root", "11111111-2222-3333-4444-555555555555")
    body = etree.tostring(root).replace(b'value="20140714151617-0500"',
                                        b'value="20140714151617-05"')
    token = sites.token("Partner", "US", role="safety")
    r = _post_xml(client, sites, token, body)
    assert r.status_code == 202, r.json
    worker()
    rep = client.get(r.json["status_url"], headers=sites.headers(token)).json
    assert rep["status"] == "processed", rep
    read = [f for f in rep["findings"] if f["code"] == "e2b-read"]
    assert {"G.k.9.i", "N.2.r.4"} <= {f["criterion"] for f in read}
    # C.1.2 carries the same time: its finding names the element by its XPath
    assert any("controlActProcess/effectiveTime" in f["message"] for f in read)


def test_import_wait_with_no_worker_refuses_at_once_and_imports_nothing(settings, monkeypatch):
    """Issue 14: it waited its whole timeout and exited 0 with status received."""
    from sqlalchemy import func, select

    from safety.cli import main
    from safety.db.session import session_scope
    from safety.intake.store import Report

    use_settings_env(monkeypatch, settings)
    res = CliRunner().invoke(main, ["import", "--wait", "--timeout", "600",
                                    str(DATA / "FAERS2022Scenario8.xml")])
    assert res.exit_code == 2, res.output
    assert "no worker is listening" in res.output and "Nothing was imported" in res.output
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(func.count(Report.id))).scalar_one() == 0


def test_import_wait_whose_timeout_passes_fails(settings, monkeypatch, redis):
    """A worker is registered but processes nothing: the wait ends at its timeout, exit 1."""
    from rq import Worker

    from safety.cli import main
    from safety.queue.enqueue import get_queue

    use_settings_env(monkeypatch, settings)
    queue = get_queue(settings)
    idle = Worker([queue], connection=queue.connection)
    idle.register_birth()
    try:
        res = CliRunner().invoke(main, ["import", "--wait", "--timeout", "0",
                                        str(DATA / "FAERS2022Scenario8.xml")])
    finally:
        idle.register_death()
    assert res.exit_code == 1, res.output
    assert '"status": "received"' in res.output

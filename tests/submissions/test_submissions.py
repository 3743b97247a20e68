"""From a case version to the regulator and back: drafts, outbox, acknowledgements."""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from factories.accounts import bearer
from factories.cases import cases_from_e2b_in_session, post_e2b
from factories.e2b import example
from factories.env import use_settings_env
from factories.products import DEMO, use_demo_sender
from factories.submissions import draft_message
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.cases.store import Case, CaseVersion
from safety.db.session import session_scope
from safety.e2b.ack import read_ack, write_ack
from safety.e2b.conformance import check
from safety.e2b.reader import read_batch
from safety.sponsors.service import configure
from safety.sponsors.store import Sponsor
from safety.submissions.acks import apply_ack
from safety.submissions.drafting import build_message
from safety.submissions.outbox import approve_for_sending, export_outbox
from safety.submissions.store import Submission


def _imported_case(client, sites, worker, name="FAERS2022Scenario1.xml"):  # type: ignore[no-untyped-def]
    token = sites.token("Partner", "US", role="safety")
    r = post_e2b(client, bearer(token), example(name))
    worker()
    rep = client.get(r.json["status_url"], headers=sites.headers(token)).json
    return token, uuid.UUID(rep["case_id"])


def _imported_in_session(session, settings, name="FAERS2022Scenario1.xml"):  # type: ignore[no-untyped-def]
    return uuid.UUID(cases_from_e2b_in_session(session, settings, example(name))[0])


def test_imported_fda_case_re_exports_as_a_conformant_draft(db_session, base_settings):
    case_id = _imported_in_session(db_session, base_settings)
    _, cols = draft_message(db_session, base_settings, case_id)
    errors = [f for f in cols["findings"] if f["severity"] == "error"]
    assert errors == [], errors
    assert cols["state"] == "draft"
    assert [f for f in check(cols["xml"], cols["profile"]) if f.severity == "error"] == []
    msg = read_batch(cols["xml"])[0]
    assert msg.header.message_receiver == cols["receiver"]
    # C.1.8.1 travels unchanged; C.1.1 is ours now
    case = db_session.get(Case, case_id)
    assert msg.case.admin.worldwide_case_id == case.worldwide_case_id


def test_unknown_gateway_is_never_ready(db_session, base_settings):
    case_id = _imported_in_session(db_session, base_settings)
    _, cols = draft_message(db_session, base_settings, case_id, region="mhra")
    assert cols["state"] == "invalid" and cols["xml"] is None
    assert cols["findings"][0]["element"] == "N.2.r.3"


def test_outbox_and_negative_then_positive_ack(client, sites, worker, settings, tmp_path):
    token, case_id = _imported_case(client, sites, worker)
    url = settings.effective_database_url
    with session_scope(url) as s:
        sub_id, cols = draft_message(s, settings, case_id)
    with session_scope(url) as s:
        cv_id = s.get(Submission, sub_id).case_version_id
        assert approve_for_sending(s, cv_id, actor="user:physician") == 1
    with session_scope(url) as s:
        paths = export_outbox(s, tmp_path / "outbox", actor="test")
    assert paths == [tmp_path / "outbox" / "DEFAULT" / "fda" / f"{cols['batch_id']}.xml"]
    assert paths[0].read_bytes() == cols["xml"]
    with session_scope(url) as s:
        assert s.get(Submission, sub_id).state == "sent"

    received = read_batch(cols["xml"])
    nack = write_ack(received, our_id="ZZFDA", verdicts={cols["message_id"]: "CR"},
                     reasons={cols["message_id"]: "R0010: invalid MedDRA code"})
    with session_scope(url) as s:
        changed = apply_ack(s, read_ack(nack), actor="test")
        assert [c.state for c in changed] == ["rejected"]
    got = client.get(f"/api/v1/submissions/{sub_id}", headers=sites.headers(token)).json
    assert got["state"] == "rejected" and "R0010" in (got["ack_text"] or "")

    ok = write_ack(received, our_id="ZZFDA")
    r = client.post("/api/v1/acks", data=ok,
                    headers=sites.headers(token, **{"Content-Type": "application/xml"}))
    assert r.status_code == 200, r.json
    assert r.json[0]["state"] == "acknowledged"
    xml = client.get(f"/api/v1/submissions/{sub_id}/xml", headers=sites.headers(token))
    assert xml.status_code == 200 and xml.data == cols["xml"]
    with session_scope(url) as s:
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.entity_id == str(sub_id)).order_by(AuditEvent.id)).all()
    assert actions == ["submission.ready", "submission.sent", "submission.rejected",
                       "submission.acknowledged"]


def test_fda_positive_ack_example_acknowledges_its_submission(db_session, base_settings):
    case_id = _imported_in_session(db_session, base_settings)
    sub_id, _ = draft_message(db_session, base_settings, case_id)
    ack = read_ack(example("FDA_R3ack-positive.xml"))
    sub = db_session.get(Submission, sub_id)
    sub.batch_id = ack.target_batch_id
    sub.message_id = (ack.messages[0].target_message_id or "").split(" ")[0]
    sub.state = "sent"
    db_session.flush()
    assert [c.state for c in apply_ack(db_session, ack, actor="test")] == ["acknowledged"]


def test_site_case_is_coded_and_exports_for_fda_and_ema(client, sites, worker, settings,
                                                         monkeypatch, tmp_path):
    """A site form goes through coding, so its message passes the checker for the FDA and
    the EMA; a regulator with no known gateway fails naming the element."""
    from factories.forms import sae_form

    from safety.cases.store import working_data
    from safety.cli import main

    token = sites.token()
    client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    worker()
    use_settings_env(monkeypatch, settings)
    use_demo_sender(settings)
    with session_scope(settings.effective_database_url) as s:
        number = s.scalar(select(Case.case_number))
        cv = s.scalar(select(CaseVersion))
        coded = working_data(s, cv)
        assert cv.data["reactions"][0].get("coding") is None  # the snapshot is untouched
    assert coded.reactions[0].coding.pt_term == "Febrile neutropenia"
    assert coded.reactions[0].coding.verbatim == "febrile neutropenia"
    from safety.cli.e2b import infer_profile

    for dest in ("fda", "ema"):
        out = tmp_path / f"{dest}.xml"
        res = CliRunner().invoke(main, ["export", "e2b", number, "--destination", dest,
                                        "-o", str(out)])
        assert res.exit_code == 0, res.output
        xml = out.read_bytes()
        assert infer_profile(xml).startswith(dest)
        assert [f for f in check(xml, infer_profile(xml)) if f.severity == "error"] == []
    res = CliRunner().invoke(main, ["export", "e2b", number, "--destination", "mhra"])
    assert res.exit_code == 1
    assert "N.2.r.3" in res.output


def test_the_sender_block_is_the_sponsors_own(client, sites, worker, settings):  # type: ignore[no-untyped-def]
    """C.3 is the configured sponsor's sender block; until it is configured the message says
    so and carries none."""
    _, case_id = _imported_case(client, sites, worker)
    with session_scope(settings.effective_database_url) as s:
        case = s.get(Case, case_id)
        cv = s.scalar(select(CaseVersion).where(CaseVersion.case_id == case_id))
        without = build_message(s, cv, case, "fda", 15, settings)
        sponsor = s.get_one(Sponsor, case.sponsor_id)
        configure(s, sponsor, {"sender": json.loads((DEMO / "sender.json").read_text())},
                  actor="test")
        mine = build_message(s, cv, case, "fda", 15, settings)
    assert any(n.startswith("the sponsor has no sender block") for n in without["notes"])
    assert not any(n.startswith("the sponsor has no sender block") for n in mine["notes"])
    assert b"SafetyDesk Demo Pharma Ltd" in mine["xml"]
    assert b"SafetyDesk Demo Pharma Ltd" not in without["xml"]

"""Issue #15 item 7, from intake: a report carries who received it first. Day 0 is the earliest
receipt by the sponsor or anyone acting for it — ICH E2D 4.1 (day zero includes receipt by
contractual partners), GVP Module VI.B.7 ("where the marketing authorisation holder has set up
contractual arrangements with a person or an organisation ... the clock starts from the date
of receipt by that person or organisation"). A partner's E2B message carries its receipt as
C.1.4 (first received from the source) and, for a follow-up, C.1.5 (most recent information);
only a sender the sponsor has configured as acting for it (``safety sponsor configure
--partner``) starts the sponsor's clock."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner
from factories.cases import post_e2b
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.products import load_demo_registry
from sqlalchemy import select

from safety.cases.model import CaseVersionData, CodedTerm
from safety.cases.values import NullFlavor, PartialDate
from safety.cli import main
from safety.db.session import session_scope
from safety.e2b.export import export_case
from safety.e2b.writer import ExportHeader
from safety.intake.channels import payload_to_case
from safety.intake.receipts import report_receipts
from safety.intake.store import Report
from safety.rules.store import ObligationRow
from safety.sponsors.profile import Partner, ProfileError, SponsorProfile, partners_from_json


def _case(c11: str, c14: date, c15: date | None = None) -> CaseVersionData:
    form = sae_form(sae_id=c11)
    form["study"]["ind_number"] = "145678"
    case = payload_to_case("site_form", form)
    case.admin.sender_safety_report_id = c11
    case.admin.worldwide_case_id = f"JP-KUMO-{c11}"
    case.admin.first_received = PartialDate.from_date(c14)
    case.admin.most_recent_received = PartialDate.from_date(c15 or c14)
    # As a partner's message carries it: the event coded (E.i.2.1b) and its own C.1/C.3 items.
    case.reactions[0].verbatim = "febrile neutropenia"
    case.reactions[0].coding = CodedTerm(verbatim="febrile neutropenia", code="10016288",
                                         version="27.1")
    case.admin.additional_documents = False
    case.admin.fulfils_expedited = True
    case.admin.first_sender = "2"
    case.admin.other_case_ids_exist = NullFlavor.NI
    case.sender.type = "1"
    case.sender.organisation = "Kumo Pharma"
    return case


def _message(sender: str, case: CaseVersionData) -> bytes:
    xml = export_case(case, ExportHeader(sender_id=sender, destination="ich")).xml
    assert xml is not None
    return xml


def _obligations(url: str, report_id: str) -> tuple[list[ObligationRow], Report]:
    with session_scope(url) as s:
        report = s.get_one(Report, uuid.UUID(report_id))
        rows = list(s.scalars(select(ObligationRow).where(
            ObligationRow.case_id == report.case_id)))
        s.expunge_all()
    return rows, report


def test_a_configured_partners_c14_sets_day_0_end_to_end(client, sites, worker, settings,
                                                         monkeypatch):
    safety = sites.headers(sites.token("Safety team", role="safety"))
    load_demo_registry(client, safety)
    use_settings_env(monkeypatch, settings)
    res = CliRunner().invoke(main, ["sponsor", "configure", "DEFAULT",
                                    "--partner", "KUMO01:licence_partner:Kumo Pharma"])
    assert res.exit_code == 0, res.output
    token = sites.partner("Kumo Pharma", "KUMO01")
    today = datetime.now(UTC).date()
    c14 = today - timedelta(days=5)
    r = post_e2b(client, sites.headers(token), _message("KUMO01", _case("K-1", c14)))
    assert r.status_code == 202, r.json
    worker()
    rep = client.get(r.json["status_url"], headers=sites.headers(token)).json
    assert rep["status"] == "processed", rep.get("findings")
    rows, report = _obligations(settings.effective_database_url, rep["report_id"])
    assert {"party": "Kumo Pharma", "role": "licence_partner",
            "at": c14.isoformat()} in report.receipts
    assert any(x["role"] == "sponsor" for x in report.receipts)
    initial = [o for o in rows if o.grp == "initial"]
    assert initial, "the case owes reports"
    # Every clock counts from the partner's C.1.4, 5 days before our own receipt.
    assert {o.day0 for o in initial} == {c14}
    assert all(o.due == c14 + timedelta(days=o.days) for o in initial)
    assert all("Kumo Pharma (licence partner)" in o.explanation for o in initial)


def test_a_sender_not_configured_as_a_partner_does_not_start_the_clock(
        client, sites, worker, settings):
    """Its C.1.4 is the date it received the case, not anyone acting for the sponsor: day 0 is
    our own receipt (and a safety-team client may relay any sender's message)."""
    safety = sites.headers(sites.token("Safety team", role="safety"))
    load_demo_registry(client, safety)
    today = datetime.now(UTC).date()
    r = post_e2b(client, safety, _message("STRANGER01", _case(
        "S-1", today - timedelta(days=5))))
    assert r.status_code == 202, r.json
    worker()
    rep = client.get(r.json["status_url"], headers=safety).json
    assert rep["status"] == "processed", rep.get("findings")
    rows, report = _obligations(settings.effective_database_url, rep["report_id"])
    assert [x["role"] for x in report.receipts] == ["sponsor"]
    received = report.received_at.astimezone(SponsorProfile(
        "DEFAULT", "x", "XX", "X", timezone=settings.timezone).zone).date()
    assert {o.day0 for o in rows if o.grp == "initial"} == {received}


def test_report_receipts_by_channel_and_version():
    """The receipts a report carries: the sponsor's own always; a configured partner's C.1.4
    on an initial report, C.1.5 on a follow-up (a time with its offset kept, a date without a
    day is no receipt); a site form's awareness date is not a receipt by the sponsor."""
    sponsor = SponsorProfile("ACME", "Acme", "ACME", "AC", timezone="Asia/Tokyo",
                             partners=(Partner("VEND1", "CallCo", "vendor"),))
    at = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    case = _case("V-1", date(2026, 3, 28), date(2026, 3, 30))
    own = {"party": "ACME", "role": "sponsor", "at": "2026-04-01T05:00:00+09:00"}
    assert report_receipts(sponsor, channel="e2b", sender="e2b:VEND1", received_at=at,
                           data=case, follow_up=False) == [
        own, {"party": "CallCo", "role": "vendor", "at": "2026-03-28"}]
    assert report_receipts(sponsor, channel="e2b", sender="e2b:VEND1", received_at=at,
                           data=case, follow_up=True)[1]["at"] == "2026-03-30"
    case.admin.first_received = PartialDate(2026, 3, 27, 22, 15, 0, -420)
    assert report_receipts(sponsor, channel="e2b", sender="e2b:VEND1", received_at=at,
                           data=case, follow_up=False)[1]["at"] == "2026-03-27T22:15:00-07:00"
    case.admin.first_received = PartialDate(2026, 3)
    assert report_receipts(sponsor, channel="e2b", sender="e2b:VEND1", received_at=at,
                           data=case, follow_up=False) == [own]
    assert report_receipts(sponsor, channel="e2b", sender="e2b:OTHER", received_at=at,
                           data=case, follow_up=False) == [own]
    assert report_receipts(sponsor, channel="site_form", sender="site:1", received_at=at,
                           data=case, follow_up=False) == [own]


def test_partner_settings_name_the_field_of_a_bad_value():
    assert partners_from_json([{"sender": "K1", "role": "affiliate"}])[0].name == "K1"
    for bad, field in (([{"sender": "K1", "role": "investigator"}], r"partners[0].role"),
                       ([{"sender": "bad id", "role": "vendor"}], r"partners[0].sender"),
                       ([{"sender": "K1", "role": "vendor"}] * 2, r"partners[1].sender"),
                       ({"sender": "K1"}, "partners"),
                       ([{"sender": "K1", "role": "vendor", "x": 1}], "partners[0]")):
        try:
            partners_from_json(bad)
        except ProfileError as exc:
            assert str(exc).startswith(field), exc
        else:
            raise AssertionError(f"accepted {bad!r}")

"""Issue 21, migration-grade import: ``safety import --manifest`` keeps each report's original
receipt (E2B C.1.4/C.1.5, a site's date from the manifest) and sender, imports in the
manifest's order, records a historical case's obligations as already submitted, and ends with
a reconciliation that accounts for every report (exit 1 when it does not close)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories.e2b import DATA
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.products import load_demo_registry
from factories.servers import SafetyProcess, wait_for
from sqlalchemy import select

from safety.cases.codec import case_from_json
from safety.cases.store import Case, CaseVersion
from safety.db.session import session_scope
from safety.intake.store import MigratedReport, Report
from safety.rules.obligations import ObligationStatus
from safety.rules.store import CaseReceiptRow, ObligationRow
from safety.submissions.store import Submission


def _copy(tmp: Path, name: str, as_name: str) -> None:
    shutil.copy(DATA / name, tmp / as_name)


def _forms(tmp: Path, name: str, *forms: dict[str, Any]) -> None:
    for form in forms:
        form["study"]["ind_number"] = "145678"  # the IND: FDA is owed a report too
    (tmp / name).write_text(json.dumps(list(forms)))


MANIFEST = """path,site,sender,received,historical,submitted
faers1.xml,,,,,
lyon-1.json,Hopital Lyon,,2021-03-04,yes,FDA=2021-03-10;EMA=2021-03-12
faers3.xml,,,,,
hc-followup.xml,,,,no,
leeds-1.json,Site Leeds,,2021-05-02,,
lyon-2.json,Hopital Lyon,,2021-04-01,,
"""


@pytest.fixture()
def migration(tmp_path: Path, client: Any, sites: Any) -> Path:
    """Official FDA and ICH example messages and site forms, as a legacy export would list
    them: the E2B files take their dates from their own C.1.4/C.1.5, the forms from the
    manifest; one case is historical (already sent to FDA and EMA)."""
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    _copy(tmp_path, "FAERS2022Scenario1.xml", "faers1.xml")
    _copy(tmp_path, "FAERS2022Scenario3.xml", "faers3.xml")  # its follow-up (C.1.5 06-15)
    _copy(tmp_path, "ICH-ref-like_HC-B7890123_followup.xml", "hc-followup.xml")
    _forms(tmp_path, "lyon-1.json", sae_form(sae_id="LYON-SAE-7", awareness_date="2021-03-02"))
    _forms(tmp_path, "leeds-1.json",
           sae_form(sae_id="LEEDS-SAE-1", awareness_date="2021-04-30",
                    site={"number": "205", "country": "GB"},
                    subject={"id": "205-011", "initials": "KM", "sex": "male",
                             "birth_date": "1950-02"}))
    _forms(tmp_path, "lyon-2.json",
           sae_form(sae_id="LYON-SAE-7", report_type="followup", awareness_date="2021-03-30",
                    narrative="Subject recovered; discharged on day 6."))
    (tmp_path / "manifest.csv").write_text(MANIFEST)
    return tmp_path / "manifest.csv"


def _run(settings: Any, monkeypatch: Any, tmp_path: Path, *args: str) -> Any:
    from safety.cli import main

    use_settings_env(monkeypatch, settings)
    from safety.pipeline.worker import listening_workers

    worker = SafetyProcess(settings, ["worker"], tmp_path / "worker.log")
    try:
        wait_for(lambda: listening_workers(settings), timeout=120)
        return CliRunner().invoke(main, ["import", *args])
    finally:
        worker.stop()


def _reconciliation(output: str) -> dict[str, Any]:
    found = [json.loads(line)["reconciliation"] for line in output.splitlines()
             if line.startswith('{"reconciliation"')]
    assert len(found) == 1, output
    rec: dict[str, Any] = found[0]
    return rec


@pytest.mark.slow
def test_a_migration_keeps_original_dates_senders_order_and_reconciles(
        settings, monkeypatch, migration, tmp_path):
    res = _run(settings, monkeypatch, tmp_path, "--manifest", str(migration),
               "--timeout", "300")
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith('{"report_id"')]
    # the manifest's order, JSON and XML interleaved as listed
    assert [Path(x["file"]).name for x in lines] == [
        "faers1.xml", "lyon-1.json", "faers3.xml", "hc-followup.xml", "leeds-1.json",
        "lyon-2.json"]
    rec = _reconciliation(res.stdout)
    assert rec["reconciled"] is True and rec["unaccounted"] == 0, rec
    assert rec["reports_in"] == len(lines) == rec["accounted"]
    assert rec["files"] == 6
    assert rec["dates_changed"] == 0
    with session_scope(settings.effective_database_url) as s:
        reports = {r.id: r for r in s.scalars(select(Report))}
        by_file = {}
        for x in lines:
            by_file.setdefault(Path(x["file"]).name, []).append(reports[_id(x)])
        # receipt order is the manifest's order within a day, and every report is migrated
        assert s.scalar(select(MigratedReport).limit(1)) is not None
        assert len(list(s.scalars(select(MigratedReport)))) == len(lines)
        # E2B: received at its own C.1.5 (an instant with its offset), sender kept (N.2.r.2)
        faers1 = by_file["faers1.xml"][0]
        assert faers1.received_at.isoformat() .startswith("2022-06-14T15:10:10")
        assert faers1.sender == "e2b:4567AB89012"
        # the ICH follow-up example: C.1.4 2012-06-30 and C.1.5 2012-07-15 both kept
        hc = by_file["hc-followup.xml"][0]
        hc_case = s.get_one(Case, hc.case_id)
        admin = _admin(s, hc.case_version_id)
        assert (str(admin.first_received), str(admin.most_recent_received)) == (
            "2012-06-30", "2012-07-15")
        assert "-2012-" in hc_case.case_number
        # day 0 is the earliest receipt: C.1.4, recorded with the version's own receipt
        assert {(r.role, r.day) for r in s.scalars(select(CaseReceiptRow).where(
            CaseReceiptRow.case_version_id == hc.case_version_id))} == {
            ("sponsor", date(2012, 6, 30)), ("sponsor", None)}
        # site forms: the manifest's site and date, the site's awareness date as sent
        lyon1, lyon2 = by_file["lyon-1.json"][0], by_file["lyon-2.json"][0]
        leeds = by_file["leeds-1.json"][0]
        assert lyon1.site_id == lyon2.site_id != leeds.site_id
        assert str(_admin(s, lyon1.case_version_id).first_received) == "2021-03-04"
        assert lyon2.case_id == lyon1.case_id  # the follow-up, on its case
        follow = _admin(s, lyon2.case_version_id)
        assert (str(follow.first_received), str(follow.most_recent_received)) == (
            "2021-03-04", "2021-04-01")
        data = s.scalar(select(CaseVersion.data).where(CaseVersion.id == lyon1.case_version_id))
        assert str(case_from_json(data).awareness_date) == "2021-03-02"
        # historical: what it owed FDA and EMA is recorded as submitted then; nothing drafted
        lyon_obligations = list(s.scalars(select(ObligationRow).where(
            ObligationRow.case_version_id == lyon1.case_version_id)))
        for o in lyon_obligations:
            if o.destination.startswith(("FDA", "EMA")):
                assert o.status == ObligationStatus.SUBMITTED, o.regime
                assert o.submitted_on == (date(2021, 3, 10) if o.destination == "FDA"
                                          else date(2021, 3, 12))
        drafted = set(s.scalars(select(Submission.destination).where(
            Submission.case_version_id == lyon1.case_version_id)))
        assert drafted == {"MHRA"}  # the one regulator the manifest does not name
        assert {o.destination for o in lyon_obligations
                if o.status == ObligationStatus.OPEN} == {"MHRA"}
        # not historical: its clocks count from its original receipt, so it is overdue now
        leeds_obligations = list(s.scalars(select(ObligationRow).where(
            ObligationRow.case_version_id == leeds.case_version_id)))
        assert {o.destination for o in leeds_obligations} == {
            "FDA", "MHRA", "EMA (EudraVigilance CT module)"}
        assert all(o.day0 == date(2021, 5, 2) and o.due == date(2021, 5, 17)
                   and o.status == ObligationStatus.OPEN for o in leeds_obligations)
        assert rec["overdue_obligations"] >= len(leeds_obligations)
        assert rec["historical_obligations_submitted"] == 2
    assert any(o.destination.startswith(("FDA", "EMA")) for o in lyon_obligations)


def _id(line: dict[str, Any]) -> Any:
    import uuid

    return uuid.UUID(line["report_id"])


def _admin(s: Any, version_id: Any) -> Any:
    data = s.scalar(select(CaseVersion.data).where(CaseVersion.id == version_id))
    return case_from_json(data).admin


@pytest.mark.slow
def test_rejected_reports_are_accounted_for_with_their_reasons(
        settings, monkeypatch, tmp_path):
    """An unreadable batch (stored, rejected), an invalid form next to a valid one, and an E2B
    message with no date at all: each is counted, with its reason; the rest is processed."""
    (tmp_path / "broken.xml").write_text("<not-an-icsr/>")
    good = sae_form(sae_id="BAD-FILE-OK")
    bad = sae_form(sae_id="BAD-FILE-KO", awareness_date="yesterday")
    (tmp_path / "mixed.json").write_text(json.dumps([good, bad]))
    undated = (DATA / "FAERS2022Scenario8.xml").read_text()
    for c1 in ("C.1.4", "C.1.5"):
        assert c1 in undated
    undated = undated.replace('value="20220614"', 'nullFlavor="UNK"')
    (tmp_path / "undated.xml").write_text(undated)
    (tmp_path / "m.json").write_text(json.dumps([
        {"path": "broken.xml"}, {"path": "mixed.json", "received": "2020-02-02"},
        {"path": "undated.xml"}]))
    res = _run(settings, monkeypatch, tmp_path, "--manifest", str(tmp_path / "m.json"),
               "--timeout", "300")
    rec = _reconciliation(res.stdout)
    assert res.exit_code == 0, res.output
    assert rec["reports_in"] == 4 and rec["accounted"] == 4 and rec["unaccounted"] == 0
    assert rec["cases_out"]["new_case"] == 1 and rec["cases_out"]["rejected"] == 3
    reasons = {Path(r["file"]).name: r["reason"] for r in rec["rejected"]}
    assert "not a readable E2B(R3) batch" in reasons["broken.xml"]
    assert "invalid form" in reasons["mixed.json"] and "awareness_date" in reasons["mixed.json"]
    assert "no original receipt date" in reasons["undated.xml"]


def test_reports_not_processed_are_unaccounted_and_the_import_fails(
        settings, monkeypatch, migration, redis):
    """A worker is registered but processes nothing: when the wait ends, every report still
    waiting is unaccounted for, the reconciliation says so and the command exits 1."""
    from rq import Worker

    from safety.cli import main
    from safety.queue.enqueue import get_queue

    use_settings_env(monkeypatch, settings)
    queue = get_queue(settings)
    idle = Worker([queue], connection=queue.connection)
    idle.register_birth()
    try:
        res = CliRunner().invoke(main, ["import", "--manifest", str(migration),
                                        "--timeout", "0"])
    finally:
        idle.register_death()
    assert res.exit_code == 1, res.output
    rec = _reconciliation(res.stdout)
    assert rec["reconciled"] is False and rec["unaccounted"] == rec["reports_in"] == 6
    assert all("not processed" in r["reason"] for r in rec["unaccounted_reports"])
    assert "DOES NOT RECONCILE" in res.output


def test_without_a_manifest_files_keep_the_order_given_and_forms_their_own_site(
        settings, monkeypatch, tmp_path, worker):
    """Before: every XML file went before every JSON file, and every form under one site."""
    from safety.accounts.store import Site
    from safety.cli import main

    use_settings_env(monkeypatch, settings)
    _forms(tmp_path, "f1.json", sae_form(sae_id="S-1"))
    _forms(tmp_path, "f2.json", sae_form(sae_id="S-2", site={"number": "205",
                                                              "country": "GB"}))
    _copy(tmp_path, "FAERS2022Scenario8.xml", "e.xml")
    res = CliRunner().invoke(main, ["import", str(tmp_path / "f1.json"),
                                    str(tmp_path / "e.xml"), str(tmp_path / "f2.json")])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [Path(x["file"]).name for x in lines] == ["f1.json", "e.xml", "f2.json"]
    with session_scope(settings.effective_database_url) as s:
        reports = [s.get_one(Report, _id(x)) for x in lines]
        assert reports[0].received_at < reports[1].received_at < reports[2].received_at
        names = {s.get_one(Site, r.site_id).name for r in reports if r.site_id}
        assert names == {"Site 101", "Site 205"}
        assert s.scalar(select(MigratedReport).limit(1)) is None  # received now, not migrated

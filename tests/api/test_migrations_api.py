"""Issue 21: the migration API (``/api/v1/migrations``), the same use case as ``safety import
--manifest``: a migration client posts each file of a legacy export with its manifest fields;
each report keeps its original receipt and sender, a historical case's obligations are
recorded as submitted, and the run's reconciliation accounts for every report. Bad input is a
422 naming the field (nothing stored); only a migration client may; another sponsor's run is
not found."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from factories.e2b import DATA
from factories.forms import sae_form
from factories.products import load_demo_registry
from factories.sponsors import sponsor_id
from sqlalchemy import func, select

from safety.db.session import session_scope
from safety.intake.store import MigratedReport, MigrationRun, Report
from safety.rules.obligations import ObligationStatus
from safety.rules.store import ObligationRow


def _headers(sites: Any, token: str) -> dict[str, str]:
    return dict(sites.headers(token))


def _run(client: Any, headers: dict[str, str], label: str = "Argus export") -> dict[str, Any]:
    r = client.post("/api/v1/migrations", json={"label": label}, headers=headers)
    assert r.status_code == 201, r.json
    return dict(r.json)


def _form(**kw: Any) -> dict[str, Any]:
    form = sae_form(**kw)
    form["study"]["ind_number"] = "145678"  # FDA is owed a report too
    return form


def _count(settings: Any, model: Any) -> int:
    with session_scope(settings.effective_database_url) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_migration_client_migrates_with_original_dates_and_reconciles(
        settings, client, sites, worker):
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    h = _headers(sites, sites.token("Argus", role="migration"))
    run = _run(client, h)
    form = client.post(run["reports_url"], headers=h, json={
        "name": "forms/lyon-SAE7.json",
        "manifest": {"received": "2021-03-04", "site": "Hopital Lyon", "historical": True,
                     "submitted": {"FDA": "2021-03-10", "EMA": "2021-03-12"}},
        "form": _form(sae_id="LYON-SAE-7", awareness_date="2021-03-02")})
    assert form.status_code == 202, form.json
    assert form.json["submission"] == 1 and len(form.json["reports"]) == 1
    e2b = client.post(run["reports_url"], headers=h, json={
        "name": "e2b/faers1.xml", "manifest": {},
        "e2b": (DATA / "FAERS2022Scenario1.xml").read_text(encoding="utf-8")})
    assert e2b.status_code == 202, e2b.json
    assert e2b.json["submission"] == 2

    pending = client.get(run["reconciliation_url"], headers=h).json
    assert pending["settled"] == 0 and pending["reconciliation"]["unaccounted"] == 2
    worker()
    rec = client.get(run["reconciliation_url"], headers=h)
    assert rec.status_code == 200, rec.json
    body = rec.json["reconciliation"]
    assert rec.json["settled"] == 2
    assert body["reconciled"] is True and body["unaccounted"] == 0, body
    assert body["files"] == 2 and body["reports_in"] == 2 == body["accounted"]
    assert body["cases_out"]["new_case"] == 2 and body["dates_changed"] == 0
    assert body["historical_obligations_submitted"] == 2

    form_id = uuid.UUID(form.json["reports"][0]["report_id"])
    e2b_id = uuid.UUID(e2b.json["reports"][0]["report_id"])
    with session_scope(settings.effective_database_url) as s:
        lyon, faers = s.get_one(Report, form_id), s.get_one(Report, e2b_id)
        assert lyon.received_at.date() == date(2021, 3, 4)  # the manifest's date, not now
        assert faers.received_at.isoformat().startswith("2022-06-14T15:10:10")  # its C.1.5
        assert faers.sender == "e2b:4567AB89012"  # its own N.2.r.2
        rows = {m.report_id: m for m in s.scalars(select(MigratedReport))}
        assert {rows[form_id].run_item, rows[e2b_id].run_item} == {1, 2}
        assert {m.run_id for m in rows.values()} == {uuid.UUID(run["id"])}
        assert "forms/lyon-SAE7.json" in rows[form_id].source
        for o in s.scalars(select(ObligationRow).where(
                ObligationRow.case_version_id == lyon.case_version_id)):
            if o.destination.startswith(("FDA", "EMA")):
                assert o.status == ObligationStatus.SUBMITTED
                assert o.submitted_on == (date(2021, 3, 10) if o.destination == "FDA"
                                          else date(2021, 3, 12))


def test_bad_input_names_the_field_and_stores_nothing(settings, client, sites):
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    h = _headers(sites, sites.token("Argus", role="migration"))
    run = _run(client, h)
    form = _form(sae_id="LYON-SAE-8")

    def post(body: dict[str, Any]) -> Any:
        return client.post(run["reports_url"], headers=h, json=body)

    bad = post({"manifest": {"received": "2021-13-04"}, "form": form})
    assert bad.status_code == 422
    assert "received" in bad.json["errors"]["json"]["manifest"], bad.json
    no_date = post({"manifest": {"site": "Hopital Lyon"}, "form": form})
    assert no_date.status_code == 422
    assert "required for SAE forms" in str(no_date.json["errors"]["json"]["manifest"]["received"])
    not_historical = post({"manifest": {"received": "2021-03-04",
                                        "submitted": {"FDA": "2021-03-10"}}, "form": form})
    assert not_historical.status_code == 422
    assert "submitted" in not_historical.json["errors"]["json"]["manifest"]
    bad_day = post({"manifest": {"received": "2021-03-04", "historical": True,
                                 "submitted": {"FDA": "10/03/2021"}}, "form": form})
    assert bad_day.status_code == 422
    assert "FDA" in str(bad_day.json["errors"]["json"]["manifest"]["submitted"])
    both = post({"manifest": {"received": "2021-03-04"}, "form": form, "e2b": "<x/>"})
    assert both.status_code == 422 and "_schema" in both.json["errors"]["json"]
    invalid_form = dict(form, report_type="maybe")
    refused = post({"manifest": {"received": "2021-03-04"}, "forms": [form, invalid_form]})
    assert refused.status_code == 422
    assert "report_type" in refused.json["errors"]["json"]["forms"]["1"], refused.json
    assert _count(settings, Report) == 0
    assert _count(settings, MigratedReport) == 0
    # not an E2B batch at all: kept as sent, rejected, and counted in the reconciliation
    junk = post({"name": "e2b/broken.xml", "manifest": {}, "e2b": "<not-e2b/>"})
    assert junk.status_code == 400 and "e2b" in junk.json["errors"]["json"]
    assert junk.headers["Location"].startswith("/api/v1/reports/")
    rec = client.get(run["reconciliation_url"], headers=h).json["reconciliation"]
    assert rec["reports_in"] == 1 and rec["cases_out"]["rejected"] == 1
    assert rec["reconciled"] is True


def test_only_a_migration_client_may_migrate(settings, client, sites):
    safety = _headers(sites, sites.token("Safety team", role="safety"))
    site = _headers(sites, sites.token("Site 101"))
    for h in (safety, site):
        r = client.post("/api/v1/migrations", json={"label": "x"}, headers=h)
        assert r.status_code == 403, r.json
    run = _run(client, _headers(sites, sites.token("Argus", role="migration")))
    for h in (safety, site):
        assert client.get(run["reconciliation_url"], headers=h).status_code == 403
        assert client.post(run["reports_url"], headers=h, json={
            "manifest": {"received": "2021-03-04"}, "form": _form()}).status_code == 403
    assert client.post("/api/v1/migrations", json={"label": ""},
                       headers=_headers(sites, sites.token("Argus", role="migration"))
                       ).status_code == 422
    assert _count(settings, MigrationRun) == 1


def test_another_sponsors_run_is_not_found(settings, client, sites):
    """ALDER's (the DEFAULT sponsor's) migration client and BIRCH's run: 404, the same answer
    as for a run that does not exist; nothing of BIRCH's changes or is named."""
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    birch = sponsor_id(settings.effective_database_url, "BIRCH")
    theirs = _run(client, _headers(sites, sites.token("Birch mig", role="migration",
                                                      sponsor=birch)), label="Birch legacy")
    mine = _headers(sites, sites.token("Alder mig", role="migration"))
    nowhere = str(uuid.uuid4())
    answers = []
    for run_id in (theirs["id"], nowhere):
        got = client.post(f"/api/v1/migrations/{run_id}/reports", headers=mine, json={
            "manifest": {"received": "2021-03-04"}, "form": _form()})
        read = client.get(f"/api/v1/migrations/{run_id}/reconciliation", headers=mine)
        assert got.status_code == read.status_code == 404, (got.json, read.json)
        assert "Birch legacy" not in got.text + read.text
        answers.append((got.json, read.json))
    assert answers[0] == answers[1]
    assert _count(settings, Report) == 0
    with session_scope(settings.effective_database_url) as s:
        run = s.get_one(MigrationRun, uuid.UUID(theirs["id"]))
        assert (run.items, run.next_position) == (0, 0)

"""Issue 13.4: a report that exhausted its retries is visible and can be retried; a poison
report never blocks other senders' reports, and holds up its own stream visibly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.poison import MARK, Poison
from factories.sponsors import sponsor_id
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.cases.workflow import Stage
from safety.db.session import session_scope
from safety.pipeline import jobs


@pytest.fixture()
def poison(monkeypatch: pytest.MonkeyPatch) -> Poison:
    return Poison(monkeypatch)


@pytest.fixture()
def cli(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_settings_env(monkeypatch, settings)
    from safety.cli import main

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, list(args))
    return run


def _post(client: Any, sites: Any, token: str, **form: Any) -> str:
    r = client.post("/api/v1/reports", json=sae_form(**form), headers=sites.headers(token))
    assert r.status_code == 202, r.json
    return str(r.json["report_id"])


def _report(client: Any, sites: Any, token: str, rid: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json)


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_poison_report_blocks_only_its_own_stream_visibly_until_retried(
        client, sites, worker, poison, cli):  # type: ignore[no-untyped-def]
    site_a, site_b = sites.token("Site A", "GB"), sites.token("Site B", "DE")
    bad = _post(client, sites, site_a, sae_id="S-1", narrative=MARK)
    worker()
    assert _report(client, sites, site_a, bad)["status"] == "failed"
    behind = _post(client, sites, site_a, sae_id="S-1", report_type="followup",
                   narrative="Later information.")
    other_case = _post(client, sites, site_a, sae_id="S-2")
    other_sender = _post(client, sites, site_b, sae_id="S-1")
    worker()

    waiting = _report(client, sites, site_a, behind)
    assert waiting["status"] == "received" and waiting["attempts"] == 0
    assert waiting["last_error"] == (f"WaitingForEarlierReport: waiting for failed report "
                                     f"{bad}: RuntimeError: poisoned payload")
    assert _report(client, sites, site_a, other_case)["status"] == "processed"
    assert _report(client, sites, site_b, other_sender)["status"] == "processed"
    assert jobs.sweep()["reports"] == 0  # a stream behind a failed report is not swept

    listed = _lines(cli("reports", "failed").output)
    assert [(x["kind"], x["report_id"]) for x in listed] == [("report", bad),
                                                              ("waiting", behind)]
    assert listed[0]["reason"] == "RuntimeError: poisoned payload"
    assert listed[0]["held_back"] == 1 and listed[1]["waiting_for"] == bad

    poison.cure()
    res = cli("reports", "retry", bad)
    assert res.exit_code == 0, res.output
    assert _lines(res.output) == [{"kind": "report", "report_id": bad, "status": "received",
                                   "queued": True}]
    worker()
    first = _report(client, sites, site_a, bad)
    then = _report(client, sites, site_a, behind)
    assert (first["status"], then["status"]) == ("processed", "processed")
    case = client.get(f"/api/v1/cases/{first['case_id']}", headers=sites.headers(site_a)).json
    assert then["case_id"] == first["case_id"] and case["current_version"] == 2
    assert _lines(cli("reports", "failed").output) == []


def test_retry_is_audited_with_who_and_the_error(client, sites, worker, poison, cli,
                                                 settings):  # type: ignore[no-untyped-def]
    site = sites.token()
    bad = _post(client, sites, site, narrative=MARK)
    worker()
    assert cli("reports", "retry", bad).exit_code == 0
    with session_scope(settings.effective_database_url) as s:
        event = s.execute(select(AuditEvent).where(
            AuditEvent.entity_id == bad, AuditEvent.action == "report.received",
            AuditEvent.actor == "cli:reports")).scalar_one()
    assert event.changes == [{"field": "status", "from": "failed", "to": "received"}]
    assert event.reason == ("retried by cli:reports after 1 attempt(s): "
                            "RuntimeError: poisoned payload")
    again = cli("reports", "retry", bad)
    assert again.exit_code == 1 and "is received, not failed" in again.output


def test_discarding_a_poison_report_lets_its_stream_go_on(client, sites, worker, poison,
                                                         cli):  # type: ignore[no-untyped-def]
    site = sites.token()
    bad = _post(client, sites, site, sae_id="S-9", narrative=MARK)
    worker()
    behind = _post(client, sites, site, sae_id="S-9", report_type="followup")
    worker()
    assert _report(client, sites, site, behind)["status"] == "received"
    assert cli("reports", "discard", bad).exit_code == 2  # --reason is required
    res = cli("reports", "discard", bad, "--reason", "garbled; the site re-sent it")
    assert res.exit_code == 0, res.output
    assert _lines(res.output)[0]["next_in_stream"] == behind
    worker()
    gone = _report(client, sites, site, bad)
    assert gone["status"] == "held"
    assert gone["findings"][0]["code"] == "discarded"
    assert "garbled; the site re-sent it" in gone["findings"][0]["message"]
    assert _report(client, sites, site, behind)["status"] == "processed"


def test_retry_all_retries_failed_reports_and_stages_within_the_sponsor(
        client, sites, worker, poison, cli, settings):  # type: ignore[no-untyped-def]
    sponsor_id(settings.effective_database_url, "OTHER")
    site = sites.token()
    poison.stage(Stage.DEDUP, RuntimeError(
        "(psycopg.errors.QueryCanceled) canceling statement [SQL: SELECT secret FROM x]"))
    bad = _post(client, sites, site, sae_id="S-1", narrative=MARK)
    staged = _post(client, sites, site, sae_id="S-2")
    worker()
    listed = _lines(cli("reports", "failed").output)
    assert [x["kind"] for x in listed] == ["report", "stage"]
    stage = listed[1]
    assert stage["stage"] == "dedup" and "SELECT" not in stage["reason"]
    assert stage["reason"] == "RuntimeError: a database error (the details are in the " \
                              "worker's log)"
    assert _lines(cli("--sponsor", "OTHER", "reports", "failed").output) == []
    assert _lines(cli("--sponsor", "OTHER", "reports", "retry", "--all").output) == []
    elsewhere = cli("--sponsor", "OTHER", "reports", "retry", bad)
    assert elsewhere.exit_code == 1 and f"no report or case version {bad}" in elsewhere.output
    assert _report(client, sites, site, bad)["status"] == "failed"

    poison.cure()
    res = cli("--sponsor", "DEFAULT", "reports", "retry", "--all")
    assert res.exit_code == 0, res.output
    assert sorted(x["kind"] for x in _lines(res.output)) == ["report", "stage"]
    worker()
    assert _report(client, sites, site, bad)["status"] == "processed"
    version = _report(client, sites, site, staged)["case_version_id"]
    assert _lines(cli("reports", "failed").output) == []
    from safety.cases.store import CaseVersion

    with session_scope(settings.effective_database_url) as s:
        cv = s.get(CaseVersion, version)
        assert cv is not None and cv.pipeline == "done"
        assert cv.stages["dedup"]["status"] == "done"


def test_retry_needs_an_id_or_all(cli, settings):  # type: ignore[no-untyped-def]
    assert cli("reports", "retry").exit_code == 2
    assert cli("reports", "retry", "not-an-id").exit_code == 2
    missing = cli("reports", "retry", "00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1 and "no report or case version" in missing.output


def test_a_report_waiting_for_one_that_then_fails_says_so(client, sites, poison, settings):  # type: ignore[no-untyped-def]
    site = sites.token()
    bad = _post(client, sites, site, sae_id="S-1", narrative=MARK)
    behind = _post(client, sites, site, sae_id="S-1", report_type="followup")
    assert jobs.process_report(behind) == {"status": "received", "waiting_for": bad}
    assert "not processed yet" in _report(client, sites, site, behind)["last_error"]
    with pytest.raises(RuntimeError):
        jobs.process_report(bad)
    assert _report(client, sites, site, behind)["last_error"] == (
        f"WaitingForEarlierReport: waiting for failed report {bad}: "
        "RuntimeError: poisoned payload")


def test_a_report_behind_one_being_processed_waits_for_it_instead_of_missing_the_handover(
        client, sites, settings):  # type: ignore[no-untyped-def]
    """The worker on the later report waits for the one processing the earlier report to
    commit, then goes on: the earlier one's hand-over cannot be lost in between."""
    import threading
    import time

    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("row locks (SQLite serialises its writers)")

    from sqlalchemy import text

    from safety.db.session import get_engine
    from safety.intake.processing import process_report

    site = sites.token()
    first = _post(client, sites, site, sae_id="S-1")
    then = _post(client, sites, site, sae_id="S-1", report_type="followup", narrative="more")
    url = settings.effective_database_url
    result: dict[str, Any] = {}
    with session_scope(url) as s:
        import uuid

        process_report(s, uuid.UUID(first), settings)  # holds the first report's row lock
        def work() -> None:
            try:
                result.update(jobs.process_report(then))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                result["error"] = repr(exc)

        worker = threading.Thread(target=work)
        worker.start()
        with get_engine(url).connect() as watch:
            for _ in range(600):  # until the other worker waits on the lock (bounded)
                waiting = watch.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar_one()
                watch.rollback()  # the activity view is a snapshot per transaction
                if waiting:
                    break
                time.sleep(0.05)
        assert waiting == 1, result
    worker.join(timeout=60)
    assert result.get("status") == "processed", result
    assert _report(client, sites, site, then)["status"] == "processed"

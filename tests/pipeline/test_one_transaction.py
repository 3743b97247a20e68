"""Issue 20: a report and its version's stages commit in ONE transaction (the short way);
when the stages fail in it, everything is rolled back and the job goes the long way (the
report committed on its own, then the stages), so the outcome is what it was with two
transactions. What the short way memoises is its own: the next job reads afresh."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from factories.forms import sae_form
from rq.timeouts import JobTimeoutException
from sqlalchemy import event, select, update

from safety.audit.store import AuditEvent
from safety.cases.store import Case, CaseVersion
from safety.cases.workflow import Stage
from safety.db.session import get_engine, session_scope
from safety.intake.store import Report
from safety.pipeline import jobs
from safety.pipeline.stages import STAGE_FUNCTIONS
from safety.queue.enqueue import get_queue
from safety.review.store import QueueEntry
from safety.sponsors.store import Sponsor


def _post(client, sites, **form: Any) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/reports", json=sae_form(**form),
                    headers=sites.headers(sites.token()))
    assert r.status_code == 202, r.json
    return str(r.json["report_id"])


def test_a_report_and_its_stages_commit_once(settings, client, sites) -> None:  # type: ignore[no-untyped-def]
    rid = _post(client, sites)
    commits: list[int] = []
    engine = get_engine(settings.effective_database_url)

    def committed(_conn: Any) -> None:
        commits.append(1)

    event.listen(engine, "commit", committed)
    try:
        assert jobs.process_report(rid)["status"] == "processed"
    finally:
        event.remove(engine, "commit", committed)
    assert len(commits) == 1
    with session_scope(settings.effective_database_url) as s:
        report = s.execute(select(Report).where(Report.id == uuid.UUID(rid))).scalar_one()
        version = s.get(CaseVersion, report.case_version_id)
        assert version is not None and version.pipeline == "done"
        assert set(version.stages) == {st.value for st in Stage}
        assert s.get(QueueEntry, report.case_id) is not None
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.case_id == report.case_id).order_by(AuditEvent.id)).all()
    # The report's events first, then each stage's, in order (one transaction, as two were).
    assert actions.index("case.created") < actions.index("version.created") \
        < actions.index("version.stage_done")
    assert actions.count("version.stage_done") == len(Stage)


def test_a_timeout_in_the_stages_keeps_the_report_and_hands_them_to_their_job(  # type: ignore[no-untyped-def]
        settings, client, sites, monkeypatch) -> None:
    """As with two transactions: the report is processed, the stages (rolled back) go to
    their own job after the first delay, and the job fails with the timeout."""
    def out_of_time(session, cv, settings):  # type: ignore[no-untyped-def]
        raise JobTimeoutException("Task exceeded maximum timeout value (1 seconds)")

    monkeypatch.setitem(STAGE_FUNCTIONS, Stage.DEDUP, out_of_time)
    rid = _post(client, sites)
    with pytest.raises(JobTimeoutException):
        jobs.process_report(rid)
    with session_scope(settings.effective_database_url) as s:
        report = s.execute(select(Report).where(Report.id == uuid.UUID(rid))).scalar_one()
        assert report.status == "processed"
        version = s.get(CaseVersion, report.case_version_id)
        assert version is not None and version.stages == {}  # coding rolled back with dedup
        assert s.get(QueueEntry, report.case_id) is not None  # the row written all the same
    queue = get_queue(settings)
    handed = jobs.stage_job_id(Stage.CODING.value, report.case_version_id)
    assert handed in queue.scheduled_job_registry.get_job_ids()


def test_a_failing_stage_does_not_undo_the_report_or_the_stages_before_it(  # type: ignore[no-untyped-def]
        settings, client, sites, monkeypatch) -> None:
    calls: list[str] = []

    def broken(session, cv, settings):  # type: ignore[no-untyped-def]
        calls.append("rules")
        raise RuntimeError("rules unavailable")

    monkeypatch.setitem(STAGE_FUNCTIONS, Stage.RULES, broken)
    rid = _post(client, sites)
    assert jobs.process_report(rid)["status"] == "processed"  # the job itself does not fail
    # Tried with the report (rolled back), then on its own: two attempts, as before.
    assert calls == ["rules", "rules"]
    with session_scope(settings.effective_database_url) as s:
        report = s.execute(select(Report).where(Report.id == uuid.UUID(rid))).scalar_one()
        version = s.get(CaseVersion, report.case_version_id)
        assert version is not None
        assert version.stages["coding"]["status"] == version.stages["dedup"]["status"] == "done"
        assert version.stages["rules"]["status"] == "failed"  # no retries in the tests
        assert "submissions" not in version.stages


def test_the_next_job_reads_what_changed_since_the_last(settings, client, sites) -> None:  # type: ignore[no-untyped-def]
    """The sponsor (memoised within a job) changed between two jobs: the second job's case
    is numbered with the new prefix, and its stages see the change too."""
    first = _post(client, sites, sae_id="SAE-1")
    second = _post(client, sites, sae_id="SAE-2")
    jobs.process_report(first)
    url = settings.effective_database_url
    with session_scope(url) as s:
        prefix = s.scalar(select(Sponsor.case_prefix).where(Sponsor.code == "DEFAULT"))
        s.execute(update(Sponsor).where(Sponsor.code == "DEFAULT")
                  .values(case_prefix=f"{prefix}X"))
    jobs.process_report(second)
    with session_scope(url) as s:
        numbers = dict(s.execute(select(Report.id, Case.case_number)
                                 .join(Case, Case.id == Report.case_id)).all())
    assert numbers[uuid.UUID(first)].startswith(f"{prefix}-")
    assert numbers[uuid.UUID(second)].startswith(f"{prefix}X-")

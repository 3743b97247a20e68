"""Issue 20: workers run jobs in their own process, so one bad job must not wedge one. A job
that runs past its timeout fails visibly (failed registry, its exception named) and the
same worker goes on with the next job; a worker that has grown past its memory guard stops
after the job, to start afresh."""

from __future__ import annotations

import time

from factories.forms import sae_form
from rq import Queue
from rq.job import JobStatus
from sqlalchemy import select

from safety.cases.store import Case, CaseVersion
from safety.cases.workflow import Stage
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.pipeline import jobs
from safety.pipeline.stages import STAGE_FUNCTIONS
from safety.pipeline.worker import SafetyWorker
from safety.queue.relay import flush_all


def hang(seconds: float) -> str:
    """A job that takes far longer than it is allowed (rq imports it by this name)."""
    time.sleep(seconds)
    return "finished"


def test_a_job_past_its_timeout_fails_visibly_and_the_worker_takes_the_next(  # type: ignore[no-untyped-def]
        settings, client, sites, redis) -> None:
    queue = Queue(settings.queue_name, connection=redis)
    stuck = queue.enqueue(hang, 30, job_timeout=1, job_id="hangs")
    rid = client.post("/api/v1/reports", json=sae_form(),
                      headers=sites.headers(sites.token())).json["report_id"]
    assert flush_all()
    assert queue.job_ids == ["hangs", jobs.report_job_id(rid)]  # the bad job comes first

    worker = SafetyWorker([queue], connection=redis)
    worker.work(burst=True, with_scheduler=False)

    stuck.refresh()
    assert stuck.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in (stuck.latest_result().exc_string or "")
    assert "hangs" in queue.failed_job_registry.get_job_ids()
    # The same worker went on: the report after it became a case and went through every stage.
    after = queue.fetch_job(jobs.report_job_id(rid))
    assert after is not None and after.get_status() == JobStatus.FINISHED
    assert after.worker_name == stuck.worker_name == worker.name
    with session_scope(settings.effective_database_url) as session:
        report = session.execute(select(Report).where(Report.id == rid)).scalar_one()
        assert report.status == "processed"
        version = session.get(CaseVersion, report.case_version_id)
        assert version is not None and version.pipeline == "done"


def test_a_worker_grown_past_its_memory_guard_stops_after_the_job(  # type: ignore[no-untyped-def]
        settings, redis) -> None:
    queue = Queue(settings.queue_name, connection=redis)
    queue.enqueue(hang, 0, job_id="first")
    queue.enqueue(hang, 0, job_id="second")
    worker = SafetyWorker([queue], connection=redis, recycle_above_mb=1)  # any process is
    worker.work(burst=True, with_scheduler=False)
    assert worker.recycle
    # The job it had ran; the next waits for a fresh worker.
    assert queue.fetch_job("first").get_status() == JobStatus.FINISHED  # type: ignore[union-attr]
    assert queue.job_ids == ["second"]


def test_a_stage_that_fails_among_the_others_is_handed_to_its_own_job(  # type: ignore[no-untyped-def]
        settings, client, sites, redis, worker, monkeypatch) -> None:
    """A version's stages run together in its report's job; when one raises, the stages
    before it are still done, each with its own status and timing, and the failing one goes
    to its own job (with the usual retries, after the first backoff), not failing the
    report's job."""
    def broken(session, cv, settings):  # type: ignore[no-untyped-def]
        raise RuntimeError("rules unavailable")

    monkeypatch.setitem(STAGE_FUNCTIONS, Stage.RULES, broken)
    monkeypatch.setenv("SAFETY_JOB_RETRIES", "2")  # the jobs' settings, from the environment
    rid = client.post("/api/v1/reports", json=sae_form(),
                      headers=sites.headers(sites.token())).json["report_id"]
    worker()
    queue = Queue(settings.queue_name, connection=redis)
    assert queue.fetch_job(jobs.report_job_id(rid)).get_status() == JobStatus.FINISHED  # type: ignore[union-attr]
    with session_scope(settings.effective_database_url) as session:
        report = session.execute(select(Report).where(Report.id == rid)).scalar_one()
        version = session.get(CaseVersion, report.case_version_id)
        assert version is not None and version.pipeline == "pending"
        stages = version.stages
    assert stages["coding"]["status"] == stages["dedup"]["status"] == "done"
    assert stages["coding"]["ms"] >= 0 and stages["coding"]["started"] <= stages["coding"]["at"]
    assert "rules" not in stages and "submissions" not in stages
    handed = jobs.stage_job_id("rules", version.id)
    assert handed in queue.scheduled_job_registry.get_job_ids()
    # The attempt in the report's job was its first: one retry is left of two.
    assert queue.fetch_job(handed).retries_left == 1  # type: ignore[union-attr]


def test_the_queue_shows_the_case_when_its_first_stage_fails(  # type: ignore[no-untyped-def]
        settings, client, sites, redis, worker, monkeypatch) -> None:
    """A report's commit hands its case's queue row to the stages' transaction; when no
    stage commits (the first one fails), the row is still written, by a transaction of its
    own, before the job ends."""
    from safety.review.store import QueueEntry

    def broken(session, cv, settings):  # type: ignore[no-untyped-def]
        raise RuntimeError("coding unavailable")

    monkeypatch.setitem(STAGE_FUNCTIONS, Stage.CODING, broken)
    monkeypatch.setenv("SAFETY_JOB_RETRIES", "2")
    rid = client.post("/api/v1/reports", json=sae_form(),
                      headers=sites.headers(sites.token())).json["report_id"]
    worker()
    with session_scope(settings.effective_database_url) as session:
        report = session.execute(select(Report).where(Report.id == rid)).scalar_one()
        version = session.get(CaseVersion, report.case_version_id)
        assert version is not None and version.stages == {}
        entry = session.get(QueueEntry, report.case_id)
        case = session.get(Case, report.case_id)
        assert case is not None and entry is not None
        assert (entry.case_number, entry.case_state) == (case.case_number, case.state)


def test_a_reports_stages_record_their_events_in_order(  # type: ignore[no-untyped-def]
        settings, client, sites, worker) -> None:
    """The stages' statuses go on the version once and their audit events in one statement
    at the commit: each stage still has its own status, timing and event, in stage order."""
    from safety.audit.store import AuditEvent
    from safety.review.store import QueueEntry

    rid = client.post("/api/v1/reports", json=sae_form(),
                      headers=sites.headers(sites.token())).json["report_id"]
    worker()
    with session_scope(settings.effective_database_url) as session:
        report = session.execute(select(Report).where(Report.id == rid)).scalar_one()
        version = session.get(CaseVersion, report.case_version_id)
        assert version is not None and version.pipeline == "done"
        assert set(version.stages) == {s.value for s in Stage}
        assert all(version.stages[s.value]["ms"] >= 0 for s in Stage)
        events = session.execute(
            select(AuditEvent.action, AuditEvent.changes)
            .where(AuditEvent.entity_type == "case_versions",
                   AuditEvent.entity_id == str(version.id),
                   AuditEvent.action == "version.stage_done")
            .order_by(AuditEvent.id)).all()
        assert [c[0]["field"] for _, c in events] == [f"stages.{s.value}" for s in Stage]
        assert events[-1][1][1] == {"field": "pipeline", "from": "pending", "to": "done"}
        assert session.get(QueueEntry, report.case_id) is not None

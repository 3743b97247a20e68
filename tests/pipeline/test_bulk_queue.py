"""Issue 21: a migration's reports go on a low-priority queue of their own, so a live report
submitted while a migration's backlog waits is processed before that backlog drains, and a
migrated report's own stages still run in its job, right after its intake. The sweep, the
retries and ``/metrics`` know both queues."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from factories.cases import post_report
from factories.forms import sae_form
from factories.products import load_demo_registry
from factories.sponsors import DEFAULT_ID
from rq import Queue
from sqlalchemy import select

from safety.cases.store import CaseVersion
from safety.config import Settings
from safety.db.session import session_scope
from safety.demo.service import submit_forms
from safety.intake.processing import waiting_reports
from safety.intake.service import migrated
from safety.intake.store import MigratedReport, Report
from safety.pipeline import jobs
from safety.pipeline.dispatch import QueueDispatch
from safety.queue.connection import get_redis
from safety.queue.relay import flush_all

BACKLOG = 12


def _backlog(settings: Settings, count: int = BACKLOG) -> list[uuid.UUID]:
    """``count`` migrated site forms (distinct SAEs), dispatched as ``safety import
    --manifest`` dispatches them."""
    from zoneinfo import ZoneInfo

    forms = [sae_form(sae_id=f"MIG-SAE-{n}", awareness_date="2021-03-02")
             for n in range(count)]

    def stamp(i: int, incoming: Any) -> Any:
        return migrated(incoming, date(2021, 3, 4), ZoneInfo("UTC"), i + 1,
                        source=f"test row {i + 1}")

    ids = submit_forms(settings, forms, QueueDispatch(settings, relay=True, bulk=True),
                       sponsor_id=DEFAULT_ID, stamp=stamp)
    flush_all()
    return ids


def test_a_live_report_overtakes_a_queued_migration(settings, client, sites, worker):
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    backlog = _backlog(settings)
    conn = get_redis(settings)
    assert Queue(settings.effective_bulk_queue, connection=conn).count == BACKLOG
    assert Queue(settings.queue_name, connection=conn).count == 0
    live = post_report(client, sites.headers(sites.token()),
                       sae_form(sae_id="LIVE-1"))["report_id"]
    flush_all()
    assert Queue(settings.queue_name, connection=conn).count == 1

    assert worker() == BACKLOG + 1  # one real worker, burst: both queues drained
    with session_scope(settings.effective_database_url) as s:
        rows = {r.id: r for r in s.scalars(select(Report))}
        versions = {v.id: v for v in s.scalars(select(CaseVersion))}
    live_row = rows[uuid.UUID(live)]
    assert live_row.status == "processed"
    migrated_done = sorted(rows[i].processed_at for i in backlog)
    assert all(rows[i].status == "processed" for i in backlog)
    # queued last, processed first: before every report of the backlog
    assert live_row.processed_at < migrated_done[0]
    # each migrated report's chain completed in its own job: every stage done
    for i in backlog:
        cv = versions[rows[i].case_version_id]
        assert cv.pipeline == "done", (cv.pipeline, cv.stages)


def test_the_sweep_puts_a_migrated_report_back_on_the_bulk_queue(settings, client, sites,
                                                                  monkeypatch):
    """Redis lost the migration's jobs (or it was down when they were stored): the sweep
    finds the reports and enqueues them again on the low-priority queue, live ones on the
    live queue."""
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    backlog = _backlog(settings, 3)
    live = post_report(client, sites.headers(sites.token()),
                       sae_form(sae_id="LIVE-2"))["report_id"]
    flush_all()
    conn = get_redis(settings)
    conn.flushdb()
    result = jobs.sweep()
    assert result["reports"] == 4
    bulk = Queue(settings.effective_bulk_queue, connection=conn)
    assert sorted(bulk.job_ids) == sorted(jobs.report_job_id(i) for i in backlog)
    assert Queue(settings.queue_name, connection=conn).job_ids == [jobs.report_job_id(live)]
    # a second sweep sees them pending on their own queue: nothing enqueued twice
    assert jobs.sweep()["reports"] == 0


def test_the_sweeps_grace_counts_from_a_migrated_reports_import(settings, client, sites):
    """A migrated report was received years ago but stored just now: its job is on the
    queue, so the sweep leaves it alone for the grace period after the import, as it
    does a live report after its receipt; after that it is swept like any other."""
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    backlog = _backlog(settings, 2)
    live = uuid.UUID(post_report(client, sites.headers(sites.token()),
                                 sae_form(sae_id="LIVE-3"))["report_id"])
    with session_scope(settings.effective_database_url) as s:
        received = {r.id: r.received_at for r in s.scalars(select(Report))}
        assert all(received[i].year == 2021 for i in backlog)
        grace_started = max(received[live], *(
            m.imported_at for m in s.scalars(select(MigratedReport))))
        assert waiting_reports(s, grace_started - timedelta(seconds=10)) == []
        after = waiting_reports(s, grace_started + timedelta(seconds=1))
    assert set(after) == {*backlog, live}
    assert after[:2] == sorted(backlog, key=received.__getitem__)  # oldest receipt first


def test_a_retried_migrated_report_goes_back_on_the_queue_it_came_from(settings, client,
                                                                        sites):
    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    (rid,) = _backlog(settings, 1)
    conn = get_redis(settings)
    bulk = Queue(settings.effective_bulk_queue, connection=conn)
    job = bulk.fetch_job(jobs.report_job_id(rid))
    assert job is not None
    job.cancel()  # ended without running: a person's retry makes a new attempt
    assert jobs.requeue_report(settings, rid)
    assert bulk.job_ids == [jobs.report_job_id(rid)]
    assert Queue(settings.queue_name, connection=conn).count == 0


def test_metrics_show_both_queues(settings, client, sites):
    from safety.queue.metrics import prometheus_text, queue_depth

    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    _backlog(settings, 2)
    text = prometheus_text(settings)
    assert (f'safety_queue_jobs{{queue="{settings.effective_bulk_queue}",state="queued"}} 2'
            in text)
    assert f'safety_queue_jobs{{queue="{settings.queue_name}",state="queued"}} 0' in text
    depth = queue_depth(settings)
    assert depth is not None and depth["queued"] == 2 and depth["bulk_queued"] == 2

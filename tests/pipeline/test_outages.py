"""Issue #13: processing survives Redis and PostgreSQL outages, and nothing stalls.

Each test starts what it breaks on its own port and data directory (``factories.servers``):
a redis-server, a PostgreSQL cluster, the ``safety`` processes. Waits are for conditions,
with generous timeouts; nothing asserts how long anything took.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from factories.accounts import Sites
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.servers import (
    PostgresServer,
    RedisServer,
    SafetyProcess,
    wait_for,
)
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import select

from safety.app import create_app
from safety.config import Settings
from safety.db.migrate import upgrade
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.pipeline import jobs
from safety.queue.relay import flush_all


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    upgrade(server.url)
    yield server
    server.remove()


def _status(settings: Settings, report_id: str) -> str | None:
    with session_scope(settings.effective_database_url) as s:
        return s.execute(select(Report.status)
                         .where(Report.id == uuid.UUID(report_id))).scalar_one_or_none()


def _submit(settings: Settings, sites: Sites) -> str:
    client = create_app(settings=settings).test_client()
    token = sites.token()
    r = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    assert r.status_code == 202, r.json
    assert flush_all()
    return str(r.json["report_id"])


@pytest.mark.slow
def test_worker_and_scheduler_survive_a_redis_outage_and_resume(settings, sites, own_redis,
                                                                 tmp_path, monkeypatch):
    """Both ``safety worker`` processes exited within 0.3 s of Redis going away, the scheduler
    15 s later, and none came back when Redis returned."""
    local = settings.with_overrides({"redis_url": own_redis.url})
    use_settings_env(monkeypatch, local)
    conn = Redis.from_url(own_redis.url)
    queue = Queue(local.queue_name, connection=conn)
    # The scheduler's sweeps go to a queue of their own, not ahead of the worker's jobs.
    periodic = local.with_overrides({"queue_name": "safety-test-cron",
                                     "sweep_interval_seconds": 1})
    cron_queue = Queue(periodic.queue_name, connection=conn)
    scheduler = SafetyProcess(periodic, ["scheduler"], tmp_path / "scheduler.log")
    worker = SafetyProcess(local, ["worker"], tmp_path / "worker.log")
    try:
        wait_for(lambda: Worker.count(connection=conn) > 0 or not worker.alive(),
                 what="the worker to register")
        assert worker.alive(), worker.output()
        # A job running when Redis goes away: its end (the result, the worker's state) cannot
        # be written, which is what ended rq's work loop and the process.
        job = queue.enqueue("time.sleep", 2)
        wait_for(lambda: job.get_status() == "started", what="the job to start")
        own_redis.stop()
        wait_for(lambda: "worker.redis_unavailable" in worker.output() or not worker.alive(),
                 what="the worker to notice")
        wait_for(lambda: "scheduler.redis_unavailable" in scheduler.output()
                 or not scheduler.alive(), what="the scheduler to notice")
        assert worker.alive(), worker.output()
        assert scheduler.alive(), scheduler.output()

        own_redis.start()  # empty, as after a crash: whatever was queued is gone
        report_id = _submit(local, sites)
        wait_for(lambda: _status(local, report_id) == "processed" or not worker.alive(),
                 what="the report to be processed")
        assert worker.alive(), worker.output()
        assert _status(local, report_id) == "processed"
        assert "worker.restarting" in worker.output()
        wait_for(lambda: (cron_queue.count > 0 and "scheduler.redis_back" in scheduler.output())
                 or not scheduler.alive(), what="the scheduler to enqueue a sweep again")
        assert scheduler.alive(), scheduler.output()
        assert "scheduler.redis_back" in scheduler.output()
    finally:
        worker.stop()
        scheduler.stop()
    assert worker.proc.returncode == 0, worker.output()  # and a stop still stops them
    assert scheduler.proc.returncode == 0, scheduler.output()


def test_serve_restarts_a_child_that_dies(tmp_path):
    """``safety serve`` stopped everything when one of its processes died."""
    from safety.cli.processes import Child, Supervisor  # what ``serve`` runs its children with

    marker = tmp_path / "starts"
    child = Child("worker", [sys.executable, "-c",
                             f"open({str(marker)!r}, 'a').write('x'); "
                             "import time; time.sleep(600)"])
    supervisor = Supervisor([child], dict(os.environ))
    supervisor.start()
    try:
        first = child.proc
        assert first is not None
        wait_for(marker.exists, what="the child to run")
        first.kill()
        first.wait()
        wait_for(lambda: supervisor.check() or child.proc is not first,
                 what="the child to be started again")
        assert child.proc is not None and child.proc.poll() is None
        assert child.proc.pid != first.pid
        wait_for(lambda: marker.exists() and len(marker.read_text()) == 2,
                 what="the new child to run")
    finally:
        supervisor.stop()
    assert child.proc.poll() is not None  # and stopping stops it


def test_sweep_requeues_a_started_job_whose_worker_died(client, sites, settings, redis, worker):
    """The sweep counted a ``started`` job as pending for ever, even with its worker dead."""
    token = sites.token()
    rid = client.post("/api/v1/reports", json=sae_form(),
                      headers=sites.headers(token)).json["report_id"]
    assert flush_all()
    queue = Queue(settings.queue_name, connection=redis)
    dead = Worker([queue], connection=redis, name="killed-worker")
    dead.register_birth()
    taken = Queue.dequeue_any([queue], None, connection=redis)
    assert taken is not None
    dead.prepare_execution(taken[0])  # what a worker does before forking its job's process
    dead.prepare_job_execution(taken[0])  # and that process, before running the job
    redis.delete(dead.key)  # SIGKILLed: its key expired, it never registered its death
    assert taken[0].get_status() == "started"

    jobs.sweep()
    worker()
    got = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json
    assert got["status"] == "processed"


def test_sweep_moves_a_due_retry_to_the_queue_when_no_scheduler_runs(client, sites, settings,
                                                                     redis, worker):
    """A retry waited 10.6 minutes: the worker running rq's scheduler died, and the others
    take its lock over only at their maintenance."""
    token = sites.token()
    rid = client.post("/api/v1/reports", json=sae_form(),
                      headers=sites.headers(token)).json["report_id"]
    assert flush_all()
    queue = Queue(settings.queue_name, connection=redis)
    job = queue.fetch_job(jobs.report_job_id(rid))
    assert job is not None
    queue.remove(job)
    queue.schedule_job(job, datetime.now(UTC) - timedelta(seconds=1))  # a retry, due now
    assert job.get_status() == "scheduled"

    jobs.sweep()
    worker()
    got = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json
    assert got["status"] == "processed"


def test_database_restart_answers_503_with_retry_after_and_heals(base_settings, own_postgres):
    """A PostgreSQL restart gave 26-35 % 500s for a few seconds."""
    local = base_settings.with_overrides({"database_url": own_postgres.url})
    client = create_app(settings=local).test_client()
    api = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/v1/cases", headers=api).status_code == 401
    with client.session_transaction() as session:
        # A signed-in person: their account is loaded from the database on every request.
        session["_user_id"] = "1"
        session["last_seen"] = session["login_at"] = datetime.now(UTC).timestamp()

    own_postgres.stop()
    try:
        r = client.get("/api/v1/cases", headers=api)
        assert r.status_code == 503, r.data
        assert r.headers["Retry-After"].isdigit()
        assert r.json["code"] == 503
        page = client.get("/dashboard")
        assert page.status_code == 503, page.data
        assert page.headers["Retry-After"].isdigit()
        assert page.mimetype == "text/html"
    finally:
        own_postgres.start()
    # The pool's connections died with the server; the pre-ping replaces them.
    assert client.get("/api/v1/cases", headers=api).status_code == 401


def test_job_waits_for_the_database_instead_of_failing(base_settings, own_postgres,
                                                       monkeypatch, redis):
    """A job that met a dropped connection was marked failed instead of trying again."""
    local = base_settings.with_overrides({"database_url": own_postgres.url})
    use_settings_env(monkeypatch, local)
    rid = _submit(local, Sites(own_postgres.url))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            jobs.process_report(rid)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    own_postgres.stop()
    restarted = False
    try:
        with structlog.testing.capture_logs() as logs:
            thread = threading.Thread(target=run)
            thread.start()
            wait_for(lambda: any(e["event"] == "database.unavailable" for e in logs)
                     or not thread.is_alive(), what="the job to meet the database down")
            own_postgres.start()
            restarted = True
            thread.join(120)
    finally:
        if not restarted:
            own_postgres.start()
    assert not errors, errors
    assert _status(local, rid) == "processed"

"""The rq jobs: every stage resolves to its feature's function by reference, jobs are enqueued
by reference with deterministic ids, and each job logs with its ids bound."""

from __future__ import annotations

import json

import structlog
from factories.forms import sae_form
from rq import Queue
from rq.job import Job

from safety.cases.workflow import Stage
from safety.pipeline import jobs
from safety.pipeline.stages import FIRST_STAGE, STAGE_FUNCTIONS


def test_every_stage_has_a_function_and_imports() -> None:
    assert set(STAGE_FUNCTIONS) == set(Stage) and FIRST_STAGE is Stage.CODING
    for stage, fn in STAGE_FUNCTIONS.items():
        assert callable(fn), stage
        module = __import__(fn.__module__, fromlist=[fn.__name__])
        assert getattr(module, fn.__name__) is fn  # importable by the name rq stores


def test_jobs_are_enqueued_by_reference_with_deterministic_ids(settings, redis) -> None:  # type: ignore[no-untyped-def]
    assert jobs.enqueue_stage(settings, Stage.RULES, "6f1c0d1e-0000-4000-8000-000000000001")
    job = Job.fetch("stage-rules-6f1c0d1e-0000-4000-8000-000000000001", connection=redis)
    assert job.func is jobs.run_stage
    assert job.args == ("rules", "6f1c0d1e-0000-4000-8000-000000000001")
    assert jobs.enqueue_stage(settings, Stage.RULES, "6f1c0d1e-0000-4000-8000-000000000001")
    assert Queue(settings.queue_name, connection=redis).count == 1  # not twice


def test_each_job_logs_with_its_ids_bound(client, sites, worker, capsys) -> None:  # type: ignore[no-untyped-def]
    token = sites.token()
    rid = client.post("/api/v1/reports", json=sae_form(),
                      headers=sites.headers(token)).json["report_id"]
    structlog.reset_defaults()
    structlog.configure(processors=[structlog.processors.JSONRenderer()])
    try:
        worker()
    finally:
        structlog.reset_defaults()
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()
              if line.startswith("{")]
    done = next(e for e in events if e["event"] == "report.done")
    assert done["report_id"] == rid and done["job_id"] == f"report-{rid}"
    assert done["status"] == "processed"
    stages = [e for e in events if e["event"] == "stage.done"]
    assert [e["stage"] for e in stages] == [s.value for s in Stage]
    assert all(e["case_version_id"] == done["case_version_id"] for e in stages)
    # A version's stages run in its report's job, one after the other (issue 20).
    assert all(e["job_id"] == f"report-{rid}" for e in stages)

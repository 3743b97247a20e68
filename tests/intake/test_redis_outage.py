"""Redis stopped while a report arrives: still stored, answered 202, processed afterwards."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.servers import RedisServer
from factories.worker import run_worker
from sqlalchemy import func, select

from safety.app import create_app
from safety.cases.store import Case, CaseVersion
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.pipeline import jobs
from safety.queue.relay import flush_all


@pytest.fixture()
def own_redis(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_report_survives_redis_outage(settings, sites, own_redis, monkeypatch):
    local = settings.with_overrides({"redis_url": own_redis.url})
    use_settings_env(monkeypatch, local)
    app = create_app(settings=local)
    client = app.test_client()
    token = sites.token()

    own_redis.stop()
    t0 = time.monotonic()
    r = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    assert r.status_code == 202
    assert time.monotonic() - t0 < 10  # answered promptly, not after long retries
    rid = r.json["report_id"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["checks"]["redis"] != "ok"
    with session_scope(local.effective_database_url) as s:
        assert s.execute(select(Report.status)).scalar_one() == "received"

    assert flush_all()  # the relay tried while Redis was down, and left it to the sweep
    own_redis.start()  # an empty Redis: the job was never enqueued
    assert jobs.sweep()["reports"] == 1
    assert jobs.sweep()["reports"] == 0  # already pending: not enqueued twice
    run_worker(local)
    jobs.sweep()
    run_worker(local)
    got = client.get(f"/api/v1/reports/{rid}", headers=sites.headers(token)).json
    assert got["status"] == "processed"
    with session_scope(local.effective_database_url) as s:
        assert s.execute(select(func.count(Case.id))).scalar_one() == 1
        assert s.execute(select(func.count(CaseVersion.id))).scalar_one() == 1

"""The intake path's two shortcuts: the enqueue relay and the token cache."""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from factories.cases import post_report
from factories.env import use_settings_env
from factories.forms import sae_form
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.job import Job

from safety.api.auth import Principal, TokenCache
from safety.app import create_app
from safety.cli import main
from safety.pipeline import jobs
from safety.pipeline.jobs import report_job_id
from safety.queue import relay


def _post(client, sites, token):  # type: ignore[no-untyped-def]
    """A new report (its own SAE id) from the site."""
    form = sae_form(sae_id=f"SAE-{uuid.uuid4().hex[:12]}")
    return post_report(client, sites.headers(token), form)["report_id"]


def test_relay_enqueues_each_report_once_with_its_deterministic_id(sites, settings, redis):
    from dataclasses import replace

    client = create_app(settings=replace(settings, job_retries=3)).test_client()
    token = sites.token()
    ids = [_post(client, sites, token) for _ in range(25)]
    assert relay.flush_all()
    q = Queue(settings.queue_name, connection=redis)
    assert sorted(q.job_ids) == sorted(report_job_id(i) for i in ids)
    job = Job.fetch(report_job_id(ids[0]), connection=redis)
    assert job.func_name == "safety.pipeline.jobs.process_report"
    assert job.args == (ids[0],)
    assert job.retries_left == 3 and job.retry_intervals == [5, 30, 120]


def test_relay_enqueues_concurrent_reports_in_one_batch_and_a_flush_cuts_its_linger(
        settings, redis, monkeypatch):
    """Woken by an id, the relay waits for more before enqueueing (one batch for the reports of
    concurrent requests); a flush does not wait out that linger."""
    batches: list[list[str]] = []
    real = relay.enqueue_batch

    def recording(settings_, func, batch, **kwargs):  # type: ignore[no-untyped-def]
        batches.append([job_id for job_id, _ in batch])
        real(settings_, func, batch, **kwargs)

    monkeypatch.setattr(relay, "enqueue_batch", recording)
    monkeypatch.setattr(relay, "LINGER", 600.0)  # a flush that waited it out would time out
    r = relay.EnqueueRelay(settings, jobs.process_report, report_job_id)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for rid in ids:
        r.submit(rid)
    assert r.flush(timeout=30)
    assert batches == [[report_job_id(i) for i in ids]]
    assert sorted(Queue(settings.queue_name, connection=redis).job_ids) == sorted(batches[0])


def test_relay_failure_leaves_the_report_to_the_sweep(client, sites, settings, redis,
                                                      worker, monkeypatch):
    def down(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RedisConnectionError("Redis went away")

    token = sites.token()
    with monkeypatch.context() as m:
        m.setattr(relay, "enqueue_batch", down)
        rid = _post(client, sites, token)
        assert relay.flush_all()
        assert Queue(settings.queue_name, connection=redis).count == 0
    # The relay thread survived the failure and goes on with later reports.
    rid2 = _post(client, sites, token)
    assert relay.flush_all()
    assert Queue(settings.queue_name, connection=redis).job_ids == [report_job_id(rid2)]
    assert jobs.sweep()["reports"] == 1
    worker()
    for i in (rid, rid2):
        r = client.get(f"/api/v1/reports/{i}", headers=sites.headers(token))
        assert r.json["status"] == "processed", r.json


def test_token_cache_forgets_after_its_deadline():
    now = [100.0]
    cache = TokenCache(clock=lambda: now[0])
    p = Principal(1, "site", "site", 3)
    cache.put("h", p, ttl=10)
    assert cache.get("h") == p
    now[0] = 109.9
    assert cache.get("h") == p
    now[0] = 110.0
    assert cache.get("h") is None
    cache.put("h", p, ttl=0)  # caching switched off
    assert cache.get("h") is None


def test_token_cache_is_bounded():
    cache = TokenCache(max_entries=3)
    p = Principal(1, "a", "site", 1)
    for i in range(3):
        cache.put(str(i), p, ttl=60)
    cache.put("3", p, ttl=60)
    assert cache.get("0") is None and cache.get("3") == p


def test_revoked_token_is_refused_after_the_cache_period(sites, settings, monkeypatch):
    """`safety client revoke` refuses the token at once when caching is off, and within
    ``token_cache_seconds`` otherwise (that window is the documented trade-off)."""
    from dataclasses import replace

    uncached = create_app(settings=replace(settings, token_cache_seconds=0)).test_client()
    cached_app = create_app(settings=settings)
    cached = cached_app.test_client()
    token = sites.token()
    assert uncached.post("/api/v1/reports", json=sae_form(),
                         headers=sites.headers(token)).status_code == 202
    assert cached.post("/api/v1/reports", json=sae_form(),
                       headers=sites.headers(token)).status_code == 202
    runner = CliRunner()
    use_settings_env(monkeypatch, settings)
    out = runner.invoke(main, ["client", "revoke", token[:12]])
    assert out.exit_code == 0, (out.output, out.exception)
    assert json.loads(out.stdout.splitlines()[0])["revoked_at"]
    r = uncached.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    assert r.status_code == 401
    # Within the cache period the web process still trusts what it checked.
    assert cached.post("/api/v1/reports", json=sae_form(),
                       headers=sites.headers(token)).status_code == 202
    # what the passing of token_cache_seconds does
    cached_app.extensions["safety.accounts.tokens"].clear()
    assert cached.post("/api/v1/reports", json=sae_form(),
                       headers=sites.headers(token)).status_code == 401
    listed = runner.invoke(main, ["client", "list"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert any(row["revoked_at"] and row["token_prefix"] == token[:12] for row in rows)
    assert all(token not in line for line in listed.stdout.splitlines())


def test_revoke_unknown_client_is_a_clear_error(settings, monkeypatch):
    use_settings_env(monkeypatch, settings)
    out = CliRunner().invoke(main, ["client", "revoke", "no-such-client"])
    assert out.exit_code == 1
    assert "no API client" in out.output


def test_intake_replaces_a_connection_the_database_dropped(client, sites, settings):
    """The intake writes skip the pool's pre-ping; a pooled connection killed by a database
    restart is found broken on use, replaced, and the report stored once."""
    import psycopg
    import pytest
    from sqlalchemy import func, select

    from safety.db.session import normalise_url, session_scope
    from safety.intake.store import Report

    url = settings.effective_database_url
    if not normalise_url(url).startswith("postgresql"):
        pytest.skip("PostgreSQL connection handling")
    token = sites.token()
    _post(client, sites, token)
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()
    assert killed and killed[0] >= 1
    _post(client, sites, token)
    with session_scope(url) as s:
        assert s.execute(select(func.count(Report.id))).scalar_one() == 2


def test_intake_retry_after_a_lost_reply_stores_the_report_once(client, sites, settings,
                                                                monkeypatch):
    """The write committed but the connection died before its reply: the retry on a fresh
    connection must not store the report a second time (no Idempotency-Key to catch it)."""
    import psycopg
    import pytest
    from sqlalchemy import func, select

    from safety.db.session import normalise_url, session_scope
    from safety.intake import store
    from safety.intake.store import Report

    url = settings.effective_database_url
    if not normalise_url(url).startswith("postgresql"):
        pytest.skip("PostgreSQL connection handling")
    real = store._pg_receive
    calls = []

    def reply_lost(pg, *args):  # type: ignore[no-untyped-def]
        out = real(pg, *args)
        calls.append(out)
        if len(calls) == 1:
            pid = pg.info.backend_pid
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            pg.execute("SELECT 1")  # the connection is found broken after the commit
        return out

    monkeypatch.setattr(store, "_pg_receive", reply_lost)
    rid = _post(client, sites, sites.token())
    assert len(calls) == 2
    with session_scope(url) as s:
        assert s.execute(select(func.count(Report.id))).scalar_one() == 1
        assert str(s.execute(select(Report.id)).scalar_one()) == rid


def test_intake_after_a_database_restart_with_several_pooled_connections(client, sites,
                                                                         settings):
    """A restart kills every pooled connection, not just one: the retry must not take the
    next dead one from the pool."""
    import psycopg
    import pytest

    from safety.db.session import get_intake_engine, normalise_url

    url = settings.effective_database_url
    if not normalise_url(url).startswith("postgresql"):
        pytest.skip("PostgreSQL connection handling")
    token = sites.token()
    _post(client, sites, token)
    engine = get_intake_engine(url)
    held = [engine.raw_connection() for _ in range(3)]  # busy moments leave several pooled
    for c in held:
        c.close()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    _post(client, sites, token)

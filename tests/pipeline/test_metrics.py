"""Issue 20: the pipeline's metrics in Prometheus' text format at ``/metrics`` (a configured
bearer token, or an administrator's login), and its timings on the operations page."""

from __future__ import annotations

import re

from factories.forms import sae_form

from safety.app import create_app
from safety.queue.relay import flush_all


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if wanted else "") + r" (\S+)$"
    found = [float(m.group(1)) for line in text.splitlines() if (m := re.match(pattern, line))]
    assert len(found) == 1, (name, labels, text)
    return found[0]


def test_metrics_count_each_stage_and_the_queue_for_a_token(settings, sites, worker):  # type: ignore[no-untyped-def]
    local = settings.with_overrides({"metrics_token": "s3cret-scrape-token"})
    app = create_app(settings=local)
    http = app.test_client()
    token = sites.token()
    for n in range(2):
        assert http.post("/api/v1/reports", json=sae_form(sae_id=f"M-{n}"),
                         headers=sites.headers(token)).status_code == 202
    assert flush_all()  # the intake relay has enqueued both
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": "Bearer s3cret-scrape-token"}

    before = http.get("/metrics", headers=auth)
    assert before.status_code == 200 and before.content_type.startswith("text/plain")
    assert _sample(before.text, "safety_up") == 1
    assert _sample(before.text, "safety_queue_jobs", queue=local.queue_name, state="queued") == 2

    worker()
    text = http.get("/metrics", headers=auth).text
    assert _sample(text, "safety_queue_jobs", queue=local.queue_name, state="queued") == 0
    for stage in ("intake", "coding", "dedup", "rules", "submissions"):
        assert _sample(text, "safety_stage_seconds_count", stage=stage) == 2
        assert _sample(text, "safety_stage_seconds_bucket", stage=stage, le="+Inf") == 2
        assert _sample(text, "safety_stage_failures_total", stage=stage) == 0
        buckets = [float(m.group(1)) for m in re.finditer(
            rf'safety_stage_seconds_bucket\{{stage="{stage}",le="[^"]+"\}} (\S+)', text)]
        assert buckets == sorted(buckets)  # cumulative, as Prometheus reads them
    assert "# TYPE safety_stage_seconds histogram" in text


def test_no_token_configured_accepts_none(settings):  # type: ignore[no-untyped-def]
    http = create_app(settings=settings).test_client()
    assert settings.metrics_token is None
    assert http.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 401


"""The pipeline's metrics, kept in Redis and written out in Prometheus' text format.

Workers are separate processes (and there may be several machines), so a counter kept in a
process would show one worker's share and vanish with it. Each stage a worker runs adds to
Redis hashes instead (one pipelined round trip): its count, its summed seconds, failures, and
the cumulative histogram buckets, as Prometheus expects them. ``/metrics`` reads them back
with the queue's depth and the registered workers. Rates (jobs/s) are Prometheus' to derive
from the counters (``rate(safety_stage_seconds_count[1m])``).

Metrics are best effort: Redis being away must never fail the work they describe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from redis.exceptions import RedisError
from rq import Queue, Worker

from safety.config import Settings
from safety.queue.connection import get_redis

log = logging.getLogger(__name__)

# Seconds: stage bodies take tens of milliseconds; a stage waiting for a restarting database
# or a lock lands in the upper buckets.
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                              30.0, 60.0, 300.0)


def _key(settings: Settings, stage: str) -> str:
    return f"{settings.queue_name}:metrics:stage:{stage}"


def _index_key(settings: Settings) -> str:
    return f"{settings.queue_name}:metrics:stages"


def observe_stage(settings: Settings, stage: str, seconds: float, *, ok: bool) -> None:
    """Count one run of ``stage`` (``intake`` for a report becoming a version) that took
    ``seconds``, failed or not."""
    observe_stages(settings, [(stage, seconds, ok)])


def observe_stages(settings: Settings, runs: Iterable[tuple[str, float, bool]]) -> None:
    """Count several runs (stage, seconds, ok) in one round trip: a report's job runs every
    stage of its version. Each run adds to its count, sum and failures and to the one
    histogram bucket it falls in (``in:<bound>``, or none past the last bound); the page
    adds the buckets up into Prometheus' cumulative ones (``_stage_lines``)."""
    runs = list(runs)
    if not runs:
        return
    try:
        with get_redis(settings).pipeline(transaction=False) as pipe:
            pipe.sadd(_index_key(settings), *{stage for stage, _, _ in runs})
            for stage, seconds, ok in runs:
                key = _key(settings, stage)
                pipe.hincrby(key, "count", 1)
                pipe.hincrbyfloat(key, "sum", seconds)
                if not ok:
                    pipe.hincrby(key, "failed", 1)
                bound = next((b for b in BUCKETS if seconds <= b), None)
                if bound is not None:
                    pipe.hincrby(key, f"in:{bound}", 1)
            pipe.execute()
    except RedisError as exc:
        log.debug("metrics not recorded for %s: %s", [r[0] for r in runs], exc)


def _decoded(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes)
                                                         else v) for k, v in raw.items()}


def _stage_lines(stage: str, fields: Mapping[str, str]) -> Iterable[str]:
    count = int(fields.get("count", 0))
    label = f'stage="{stage}"'
    below = 0  # runs counted in the buckets so far (``in:``, one bucket per run)
    for bound in BUCKETS:
        below += int(fields.get(f"in:{bound}", 0))
        # ``le:`` fields: cumulative counts as releases before one bucket per run kept them.
        n = below + int(fields.get(f"le:{bound}", 0))
        yield f'safety_stage_seconds_bucket{{{label},le="{bound}"}} {n}'
    yield f'safety_stage_seconds_bucket{{{label},le="+Inf"}} {count}'
    yield f"safety_stage_seconds_sum{{{label}}} {float(fields.get('sum', 0.0)):.6f}"
    yield f"safety_stage_seconds_count{{{label}}} {count}"
    yield f"safety_stage_failures_total{{{label}}} {int(fields.get('failed', 0))}"


def prometheus_text(settings: Settings) -> str:
    """The metrics page: queue depth by state, workers listening, and per stage a latency
    histogram with its failures. ``safety_up`` is 0 (and nothing else is said) when Redis
    cannot be reached."""
    lines = ["# HELP safety_up Whether the queue's Redis answered.", "# TYPE safety_up gauge"]
    try:
        conn = get_redis(settings)
        depths = {name: _depth(Queue(name, connection=conn)) for name in settings.queue_names}
        workers = Worker.count(connection=conn, queue=Queue(settings.queue_name,
                                                            connection=conn))
        stages = sorted(s.decode() if isinstance(s, bytes) else str(s)
                        for s in conn.smembers(_index_key(settings)))
        with conn.pipeline(transaction=False) as pipe:
            for stage in stages:
                pipe.hgetall(_key(settings, stage))
            hashes = pipe.execute()
    except RedisError as exc:
        log.warning("metrics unavailable: %s", exc)
        return "\n".join([*lines, "safety_up 0", ""])
    lines.append("safety_up 1")
    lines += ["# HELP safety_queue_jobs Jobs of the pipeline queues (live, and the "
              "migrations' low-priority one) by state.", "# TYPE safety_queue_jobs gauge"]
    lines += [f'safety_queue_jobs{{queue="{name}",state="{state}"}} {n}'
              for name, depth in depths.items() for state, n in depth.items()]
    lines += ["# HELP safety_workers Workers registered on the queue.",
              "# TYPE safety_workers gauge", f"safety_workers {workers}"]
    lines += ["# HELP safety_stage_seconds Time each pipeline stage took (intake: a report "
              "becoming a version).", "# TYPE safety_stage_seconds histogram"]
    failures: list[str] = []
    for stage, raw in zip(stages, hashes, strict=True):
        for line in _stage_lines(stage, _decoded(raw)):
            (failures if line.startswith("safety_stage_failures") else lines).append(line)
    lines += ["# HELP safety_stage_failures_total Stage attempts that failed.",
              "# TYPE safety_stage_failures_total counter", *failures]
    return "\n".join(lines) + "\n"


def _depth(queue: Queue) -> dict[str, int]:
    return {"queued": queue.count, "scheduled": queue.scheduled_job_registry.count,
            "started": queue.started_job_registry.count,
            "failed": queue.failed_job_registry.count}


def queue_depth(settings: Settings) -> dict[str, int] | None:
    """Jobs waiting, scheduled (retries), running and failed, over both queues, and of them
    the migrations' (``bulk_queued`` …); None when Redis is away."""
    try:
        conn = get_redis(settings)
        live = _depth(Queue(settings.queue_name, connection=conn))
        bulk = _depth(Queue(settings.effective_bulk_queue, connection=conn))
    except RedisError:
        return None
    return {**{k: live[k] + bulk[k] for k in live}, **{f"bulk_{k}": v for k, v in bulk.items()}}

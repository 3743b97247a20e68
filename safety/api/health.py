"""``/healthz``: is the database reachable, is Redis reachable."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from safety.queue.connection import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    checks: dict[str, str] = {}
    try:
        g.db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        get_redis(current_app.config["SAFETY"]).ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ok else "degraded", "checks": checks}, 200 if ok else 503


@bp.get("/ping")
def ping() -> Any:
    """The trivial endpoint: the benchmark's ceiling for this server."""
    return {"pong": True}

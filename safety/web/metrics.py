"""``GET /metrics``: the pipeline's metrics in Prometheus' text format (queue depth, workers,
per-stage latency histograms and failures; ``safety.queue.metrics``).

The figures are the queue's, across sponsors, and name none of them; still, volumes are not
for everyone. A scraper sends ``Authorization: Bearer <SAFETY_METRICS_TOKEN>`` (compared in
constant time; no token configured, none is accepted); a person logged in to the pages must
be an administrator (a global role: accounts and sponsors are the CRO's). A case processor
sees its sponsors' stage timings on the operations page instead.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user

from safety.accounts.roles import Permission, Role, can
from safety.queue.metrics import prometheus_text

bp = Blueprint("web_metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _token_ok(header: str | None, token: str | None) -> bool:
    if not token or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].encode(), token.encode())


@bp.get("/metrics")
def metrics() -> Any:
    settings = current_app.config["SAFETY"]
    if not _token_ok(request.headers.get("Authorization"), settings.metrics_token):
        if not current_user.is_authenticated:
            return Response("metrics need a bearer token or an administrator's login\n",
                            401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                            mimetype="text/plain")
        role = Role(current_user.row.role)
        if not can(role, Permission.MANAGE_SPONSORS):
            abort(404 if role is Role.SITE_SUBMITTER else 403)
    return Response(prometheus_text(settings), 200, content_type=CONTENT_TYPE)

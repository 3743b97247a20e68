"""The operations page: reports and case-version stages that failed after their retries,
the reports of their streams waiting behind them, and retrying or discarding them; the
queue's depth and how long each stage took over the last hour. For case processors and
administrators, each within the sponsors they hold that role for (the timings are of their
sponsors' versions; the queue is one for all).

Each action commits, then enqueues the retried work under its usual job id, as the jobs do.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from safety.accounts.grants import sponsors_with
from safety.accounts.roles import Permission
from safety.intake.dead_letters import (
    DeadLetterError,
    NoSuchLetter,
    dead_letters,
    discard_report,
    retry_report,
    retry_stage,
    stage_timings,
)
from safety.pipeline.jobs import enqueue_report, requeue_report, requeue_stage
from safety.queue.metrics import queue_depth
from safety.web.security import require, user

bp = Blueprint("web_operations", __name__, url_prefix="/operations")

# The stage timings shown are those of the versions made in this window.
TIMINGS_WINDOW = timedelta(hours=1)


def _sponsors() -> frozenset[int]:
    return frozenset(sponsors_with(g.db, user(), Permission.OPERATE))


def _back() -> Any:
    return redirect(url_for("web_operations.index"), code=303)


@bp.get("")
@require(Permission.OPERATE)
def index() -> Any:
    settings = current_app.config["SAFETY"]
    since = datetime.now(UTC) - TIMINGS_WINDOW
    return render_template("web/operations.html", letters=dead_letters(g.db, _sponsors()),
                           timings=stage_timings(g.db, _sponsors(), since),
                           window_hours=int(TIMINGS_WINDOW.total_seconds() // 3600),
                           depth=queue_depth(settings))


@bp.post("/reports/<uuid:report_id>/retry")
@require(Permission.OPERATE)
def retry_failed_report(report_id: uuid.UUID) -> Any:
    try:
        retry_report(g.db, report_id, actor=user().actor, sponsor_ids=_sponsors())
    except NoSuchLetter:
        abort(404)
    except DeadLetterError as exc:
        flash(f"Not retried: {exc}.", "error")
        return _back()
    g.db.commit()
    queued = requeue_report(current_app.config["SAFETY"], report_id)
    flash(f"Report {report_id} is queued again." if queued else
          f"Report {report_id} will be queued again when the queue is reachable.")
    return _back()


@bp.post("/reports/<uuid:report_id>/discard")
@require(Permission.OPERATE)
def discard_failed_report(report_id: uuid.UUID) -> Any:
    try:
        nxt = discard_report(g.db, report_id, actor=user().actor,
                             reason=request.form.get("reason", ""), sponsor_ids=_sponsors())
    except NoSuchLetter:
        abort(404)
    except (DeadLetterError, ValueError) as exc:
        flash(f"Not discarded: {exc}.", "error")
        return _back()
    g.db.commit()
    if nxt is not None:
        enqueue_report(current_app.config["SAFETY"], nxt)
    flash(f"Report {report_id} is discarded; its stream goes on.")
    return _back()


@bp.post("/versions/<uuid:case_version_id>/retry")
@require(Permission.OPERATE)
def retry_failed_stage(case_version_id: uuid.UUID) -> Any:
    try:
        stage = retry_stage(g.db, case_version_id, actor=user().actor, sponsor_ids=_sponsors())
    except NoSuchLetter:
        abort(404)
    except DeadLetterError as exc:
        flash(f"Not retried: {exc}.", "error")
        return _back()
    g.db.commit()
    requeue_stage(current_app.config["SAFETY"], stage, case_version_id)
    flash(f"Stage {stage.value} is queued again.")
    return _back()

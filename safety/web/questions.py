"""The safety team's side of questions to sites: ask on a case, accept (close) or reopen an
answer, and the list of questions across cases with the overdue ones first."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
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

from safety.accounts.roles import Permission, can
from safety.questions.service import ask, close, questions_for, reopen, visible_question
from safety.questions.status import QuestionError, QuestionStatus
from safety.web.cases import case_to_work, today
from safety.web.security import current_scope, require, role_for_case, user

bp = Blueprint("web_questions", __name__)


def _due(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise QuestionError("due", f"{raw!r} is not a date (YYYY-MM-DD)") from None


@bp.post("/cases/<uuid:case_id>/questions")
@require(Permission.WORK_CASES)
def ask_site(case_id: uuid.UUID) -> Any:
    case = case_to_work(case_id, Permission.WORK_CASES, lock=True)
    try:
        q = ask(g.db, case, actor=user().actor, text=request.form.get("text"),
                fields=request.form.get("fields"), due=_due(request.form.get("due")),
                today=today(), default_days=current_app.config["SAFETY"].question_due_days)
    except QuestionError as exc:
        flash(f"Question not sent: {exc}.", "error")
    else:
        flash(f"Question sent to the site; due {q.due.isoformat()}.")
    return redirect(url_for("web_cases.case_page", case_id=case.id, _anchor="questions"),
                    code=303)


def _question_to_work(question_id: uuid.UUID) -> Any:
    q = visible_question(g.db, question_id, current_scope(), lock=True)
    if q is None:
        abort(404)
    role = role_for_case(q.sponsor_id)
    if role is None or not can(role, Permission.WORK_CASES):
        abort(403)
    return q


def _back(q: Any) -> Any:
    target = url_for("web_cases.case_page", case_id=q.case_id, _anchor="questions") \
        if q.case_id else url_for("web_questions.overview")
    return redirect(target, code=303)


def _worked(question_id: uuid.UUID, step: Callable[..., object], done: str,
            refused: str) -> Any:
    """Close or reopen with the form's reason, say how it went, and go back."""
    q = _question_to_work(question_id)
    try:
        step(g.db, q, actor=user().actor, reason=request.form.get("reason"))
    except QuestionError as exc:
        flash(f"{refused}: {exc}.", "error")
    else:
        flash(done)
    return _back(q)


@bp.post("/questions/<uuid:question_id>/close")
@require(Permission.WORK_CASES)
def close_question(question_id: uuid.UUID) -> Any:
    return _worked(question_id, close, "Question closed.", "Not closed")


@bp.post("/questions/<uuid:question_id>/reopen")
@require(Permission.WORK_CASES)
def reopen_question(question_id: uuid.UUID) -> Any:
    return _worked(question_id, reopen, "Question open again; the site sees why.",
                   "Not reopened")


@bp.get("/questions")
@require(Permission.VIEW_CASES)
def overview() -> Any:
    """Open and answered questions across the user's sponsors, most urgent first; overdue
    ones marked (``?overdue=1``: only those)."""
    day = today()
    overdue_only = request.args.get("overdue") == "1"
    rows = questions_for(g.db, current_scope(), overdue_on=day if overdue_only else None,
                         statuses=(QuestionStatus.OPEN, QuestionStatus.ANSWERED))
    overdue = sum(1 for q in rows if q.status == QuestionStatus.OPEN and q.due < day)
    return render_template("web/questions.html", questions=rows, today=day,
                           overdue=overdue, overdue_only=overdue_only)

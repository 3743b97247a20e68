"""Case-page parts for the pipeline's conclusions: coding to confirm, suspected duplicates to
decide, and the E2B messages with their conformance findings and state."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.roles import Permission
from safety.cases.store import Case, CaseVersion, current_version, latest_view, working_data
from safety.coding.store import active_autocoder
from safety.dedup.store import decided_with, open_candidates, other_case
from safety.review.coding import CodingDecisionFailed, decide_event_coding
from safety.review.duplicates import decide_duplicate
from safety.submissions.store import Submission, submission_view
from safety.web.sections import CaseSection, register_case_section
from safety.web.security import require, user

bp = Blueprint("web_review", __name__)


def _coding(session: Session, case: Case, version: CaseVersion) -> Any:
    view = latest_view(session, version.id)
    if view is None:
        return []
    data = working_data(session, version)
    review = set(view.review or [])
    coder = active_autocoder(session, "events")
    rows = []
    for i, r in enumerate(data.reactions):
        c = r.coding
        suggestions = coder.code(r.verbatim).candidates[:5] if isinstance(r.verbatim, str) else []
        rows.append({
            "id": r.id, "verbatim": r.verbatim, "code": c.code if c else None,
            "term": c.term if c else None, "pt": c.pt_term if c else None,
            "method": c.method if c else None, "confirmed_by": c.confirmed_by if c else None,
            "needs_review": f"reactions[{i}]" in review,
            "suggestions": suggestions,
        })
    return rows


def _suspected(session: Session, case: Case, version: CaseVersion) -> Any:
    decided = decided_with(session, case.id, ("rejected", "confirmed"))
    out = []
    for c in open_candidates(session, case.id, decided):
        other = session.get(Case, other_case(c, case.id))
        out.append({"other_id": other_case(c, case.id),
                    "other": other.case_number if other else "?",
                    "score": c.score, "suspected": c.suspected, "rule": c.rule,
                    "explanation": c.explanation or []})
    return out


def _submissions(session: Session, case: Case, version: CaseVersion) -> Any:
    """Each message with its kind (initial, follow-up, amendment, nullification) and reason."""
    subs = session.scalars(select(Submission).where(Submission.case_id == case.id)
                           .order_by(Submission.created_at.desc(), Submission.destination))
    return [{**submission_view(session, s), "xml": bool(s.xml)} for s in subs]


register_case_section(CaseSection("coding", "Coding", "web/sections/coding.html", _coding,
                                  order=10))
register_case_section(CaseSection("suspected", "Suspected duplicates",
                                  "web/sections/suspected.html", _suspected, order=15))
register_case_section(CaseSection("submissions", "E2B messages and submissions",
                                  "web/sections/submissions.html", _submissions, order=40))


def _case(case_id: uuid.UUID) -> Case:
    case = g.db.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def _back(case: Case, anchor: str) -> Any:
    return redirect(url_for("web_cases.case_page", case_id=case.id) + f"#{anchor}", code=303)


@bp.post("/cases/<uuid:case_id>/events/<reaction_id>/coding")
@require(Permission.WORK_CASES)
def code_event(case_id: uuid.UUID, reaction_id: str) -> Any:
    case = _case(case_id)
    code = (request.form.get("code") or "").strip()
    reason = (request.form.get("reason") or "").strip()
    if not code or not reason:
        flash("Coding not changed: give the code and a reason.", "error")
        return _back(case, "section-coding")
    try:
        term = decide_event_coding(g.db, current_version(g.db, case), reaction_id, code,
                                   user().actor, reason)
    except (LookupError, CodingDecisionFailed) as exc:
        flash(f"Coding not changed: {exc}", "error")
        return _back(case, "section-coding")
    flash(f"Coded as {term['code']} {term['term']} (PT {term['pt_term']}).")
    return _back(case, "section-coding")


@bp.post("/cases/<uuid:case_id>/duplicates/<uuid:other_id>")
@require(Permission.WORK_CASES)
def decide(case_id: uuid.UUID, other_id: uuid.UUID) -> Any:
    case = _case(case_id)
    other = _case(other_id)
    decision = request.form.get("decision")
    reason = (request.form.get("reason") or "").strip()
    if decision not in ("confirm", "reject") or not reason:
        flash("No decision recorded: choose confirm or reject and give a reason.", "error")
        return _back(case, "section-suspected")
    result = decide_duplicate(g.db, case, other, decision, user().actor, reason)
    if result.master_case_id:
        master = g.db.get(Case, uuid.UUID(result.master_case_id))
        flash(f"Confirmed duplicate of {other.case_number}; master case {master.case_number}.")
    else:
        flash(f"Rejected: {other.case_number} is not a duplicate; it will not be offered again.")
    return _back(case, "section-suspected")


@bp.get("/cases/<uuid:case_id>/submissions/<uuid:submission_id>.xml")
@require(Permission.VIEW_CASES)
def message_xml(case_id: uuid.UUID, submission_id: uuid.UUID) -> Any:
    sub = g.db.get(Submission, submission_id)
    if sub is None or sub.case_id != case_id or not sub.xml:
        abort(404)
    return sub.xml, 200, {"Content-Type": "application/xml; charset=utf-8",
                          "X-Content-Type-Options": "nosniff"}

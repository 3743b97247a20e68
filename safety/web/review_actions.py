"""Case-page actions on the pipeline's conclusions: confirm or change an event's code, decide
a suspected duplicate, read an E2B message."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for

from safety.accounts.roles import Permission, can
from safety.cases.service import find_case
from safety.review.coding import CodingDecisionFailed, decide_event_coding
from safety.review.duplicates import DuplicateRefused, decide_duplicate
from safety.review.unblinding import regulator_message_refused
from safety.submissions.service import ExportRefused, case_submission, redraft_messages
from safety.web.security import require, role_for_case, user

if TYPE_CHECKING:
    from safety.cases.store import Case

bp = Blueprint("web_review", __name__)


def _case(case_id: uuid.UUID) -> Case:
    """A case of a sponsor the user works cases for (404 otherwise, 403 without the right)."""
    case = find_case(g.db, case_id)
    if case is None:
        abort(404)
    role = role_for_case(case.sponsor_id)
    if role is None or not can(role, Permission.WORK_CASES):
        abort(403)
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
        term = decide_event_coding(g.db, case, reaction_id, code, user().actor, reason,
                                   add_synonym=request.form.get("add_synonym") == "1",
                                   settings=current_app.config["SAFETY"])
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
    try:
        result = decide_duplicate(g.db, case, other, decision, user().actor, reason,
                                  current_app.config["SAFETY"])
    except DuplicateRefused as exc:
        flash(f"No decision recorded: {exc.message}.", "error")
        return _back(case, "section-suspected")
    if result.master_case_id:
        master = _case(uuid.UUID(result.master_case_id))
        flash(f"Confirmed duplicate of {other.case_number}; master case {master.case_number}.")
    else:
        flash(f"Rejected: {other.case_number} is not a duplicate; it will not be offered again.")
    return _back(case, "section-suspected")


@bp.post("/cases/<uuid:case_id>/messages/redraft")
@require(Permission.WORK_CASES)
def redraft(case_id: uuid.UUID) -> Any:
    """Draft the unsent messages again (after a gateway or the registry changed)."""
    case = _case(case_id)
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash("Messages not drafted again: give a reason.", "error")
        return _back(case, "section-submissions")
    try:
        made = redraft_messages(g.db, case, user().actor, reason,
                                current_app.config["SAFETY"])
    except ExportRefused as exc:
        flash(f"Messages not drafted again: {exc}.", "error")
        return _back(case, "section-submissions")
    flash(f"Messages drafted again: {made.get('draft', 0)} conformant, "
          f"{made.get('invalid', 0)} invalid.")
    return _back(case, "section-submissions")


@bp.get("/cases/<uuid:case_id>/submissions/<uuid:submission_id>.xml")
@require(Permission.VIEW_CASES)
def message_xml(case_id: uuid.UUID, submission_id: uuid.UUID) -> Any:
    sub = case_submission(g.db, case_id, submission_id)
    if sub is None or not sub.xml:
        abort(404)
    case = find_case(g.db, case_id)
    refused = (regulator_message_refused(g.db, case, user()) if case is not None
               else None)
    if refused is not None:
        abort(403, description=f"Not shown: {refused}.")
    return sub.xml, 200, {"Content-Type": "application/xml; charset=utf-8",
                          "X-Content-Type-Options": "nosniff"}

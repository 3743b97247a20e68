"""Case-page actions of data entry and medical review: correct fields, record the sponsor's
assessments, write the narrative, browse the terminology.

Each save is a new case version (a correction) made in the request's transaction; it is
committed here and only then handed to the processing stages, which find it committed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

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
from safety.cases.service import find_case
from safety.coding.service import browse
from safety.pipeline.jobs import enqueue_stage
from safety.pipeline.stages import FIRST_STAGE
from safety.review.assessing import NARANJO_QUESTIONS, PairInput, SeriousnessInput
from safety.review.assessments import record_assessments
from safety.review.corrections import (
    Correction,
    CorrectionRefused,
    correct_from_form,
    narrative_draft,
    save_narrative,
)
from safety.review.narrative import CASE_TYPE_LABELS
from safety.web.security import require, role_for_case, user

if TYPE_CHECKING:
    from safety.cases.store import Case

bp = Blueprint("web_medical", __name__)


def _case(case_id: uuid.UUID, permission: Permission, *, lock: bool = False) -> Case:
    """A case of a sponsor the user holds ``permission`` for (404 when not one of the user's
    sponsors' cases, 403 without the right)."""
    case = find_case(g.db, case_id, lock=lock)
    if case is None:
        abort(404)
    role = role_for_case(case.sponsor_id)
    if role is None:
        abort(404)
    if not can(role, permission):
        abort(403)
    return case


def _saved(case: Case, result: Correction, what: str, anchor: str) -> Any:
    g.db.commit()
    enqueue_stage(current_app.config["SAFETY"], FIRST_STAGE, result.version.id)
    fields = ", ".join(c.field for c in result.changes)
    note = (f" The signature of version {', '.join(map(str, result.invalidated))} no longer "
            "holds." if result.invalidated else "")
    note += " The case is back in medical review." if result.returned else ""
    flash(f"{what} saved as version {result.version.version} ({fields}).{note}")
    return redirect(url_for("web_cases.case_page", case_id=case.id) + f"#{anchor}", code=303)


def _refused(case: Case, exc: CorrectionRefused, what: str, anchor: str) -> Any:
    g.db.rollback()
    flash(f"{what} not saved: {exc.field}: {exc.message}.", "error")
    return redirect(url_for("web_cases.case_page", case_id=case.id) + f"#{anchor}", code=303)


def _version() -> int | None:
    value = request.form.get("version", "")
    return int(value) if value.isdigit() else None


@bp.post("/cases/<uuid:case_id>/edit")
@require(Permission.WORK_CASES)
def edit(case_id: uuid.UUID) -> Any:
    case = _case(case_id, Permission.WORK_CASES, lock=True)
    try:
        result = correct_from_form(g.db, case, request.form, actor=user().actor,
                                   now=datetime.now(UTC))
    except CorrectionRefused as exc:
        return _refused(case, exc, "Correction", "section-edit")
    return _saved(case, result, "Correction", "section-edit")


@bp.post("/cases/<uuid:case_id>/assessments")
@require(Permission.MEDICAL_REVIEW)
def assessments(case_id: uuid.UUID) -> Any:
    case = _case(case_id, Permission.MEDICAL_REVIEW, lock=True)
    form = request.form
    pairs = []
    for k in range(int(form.get("pairs", "0") or 0)):
        pre = f"pair-{k}-"
        method = form.get(pre + "method") or None
        reference, _, version = (form.get(pre + "rsi") or "").partition("|")
        expected = {"yes": True, "no": False}.get(form.get(pre + "expected", ""))
        if not method and not reference:
            continue
        pairs.append(PairInput(
            reaction_id=form.get(pre + "reaction", ""), drug_id=form.get(pre + "drug", ""),
            method=method, result=form.get(pre + "result") or None,
            naranjo_answers=tuple(form.get(f"{pre}naranjo-{q}", "")
                                  for q in range(1, len(NARANJO_QUESTIONS) + 1))
            if method == "Naranjo" else (),
            reference=reference or None, rsi_version=version or None, expected=expected,
            expectedness_reason=form.get(pre + "expectedness-reason") or None))
    serious = [SeriousnessInput(form.get(f"ser-{i}-reaction", ""),
                                tuple(form.getlist(f"ser-{i}-criteria")),
                                form.get(f"ser-{i}-reason") or None)
               for i in range(int(form.get("events", "0") or 0))]
    try:
        result = record_assessments(g.db, case, pairs, serious, actor=user().actor,
                                    reason=form.get("reason"), now=datetime.now(UTC),
                                    seen_version=_version())
    except CorrectionRefused as exc:
        return _refused(case, exc, "Assessment", "section-assessments")
    return _saved(case, result, "Assessment", "section-assessments")


@bp.post("/cases/<uuid:case_id>/narrative")
@require(Permission.WORK_CASES)
def narrative(case_id: uuid.UUID) -> Any:
    case = _case(case_id, Permission.WORK_CASES, lock=True)
    form = request.form
    try:
        result = save_narrative(g.db, case, narrative=form.get("narrative", ""),
                                sender_comments=form.get("sender_comments", ""),
                                diagnosis=form.get("sender_diagnosis", ""),
                                actor=user().actor, reason=form.get("reason"),
                                now=datetime.now(UTC), seen_version=_version())
    except CorrectionRefused as exc:
        return _refused(case, exc, "Narrative", "section-narrative")
    return _saved(case, result, "Narrative", "section-narrative")


@bp.get("/cases/<uuid:case_id>/narrative/draft")
@require(Permission.WORK_CASES)
def narrative_template(case_id: uuid.UUID) -> Any:
    """The narrative drafted from the structured data (htmx swaps it into the text area)."""
    case = _case(case_id, Permission.WORK_CASES)
    kind = request.args.get("type")
    return render_template("web/_narrative_text.html",
                           text=narrative_draft(g.db, case, kind), types=CASE_TYPE_LABELS)


@bp.get("/cases/<uuid:case_id>/terminology")
@require(Permission.VIEW_CASES)
def terminology(case_id: uuid.UUID) -> Any:
    """The terminology browser: LLT/PT search with the hierarchy above each term."""
    case = _case(case_id, Permission.VIEW_CASES)
    found = browse(g.db, request.args.get("q", ""), current_app.config["SAFETY"],
                   sponsor_id=case.sponsor_id)
    return render_template("web/_terminology.html", found=found)

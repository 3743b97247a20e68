"""The safety team's pages: the queue, the case page, assignment, workflow and signature."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
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

from safety.accounts.grants import sponsors_with
from safety.accounts.roles import Permission, can
from safety.blinding.audience import BlindingError
from safety.cases.service import find_case
from safety.cases.workflow import (
    FINAL_STATES,
    STATE_LABELS,
    CaseState,
    TransitionError,
    options,
)
from safety.review import diff, signing
from safety.review.assignment import assign
from safety.review.case_view import CaseView, case_view, source_of_version
from safety.review.facts import QUEUE_FLAGS
from safety.review.queue import (
    QUESTION_FILTERS,
    REPORT_TABS,
    SEARCH_FIELDS,
    SORTS,
    QueueFilters,
    queue_rows,
    report_counts,
    report_rows,
)
from safety.review.signatures import SigningRefused, approval_blockers, sign_and_approve
from safety.review.transitions import move
from safety.review.unblinding import (
    REVEAL_MEANING,
    UnblindingRefused,
    blind_page_view,
    case_data,
    check_page,
    reveal_for_case,
    unmasked_refused,
)
from safety.sponsors.service import sponsors
from safety.web.security import current_scope, require, role_for_case, user

if TYPE_CHECKING:
    from safety.cases.store import Case

bp = Blueprint("web_cases", __name__)


def today() -> date:
    return datetime.now(current_app.config["SAFETY"].zone).date()


def _number(args: Any, name: str) -> int | None:
    value = (args.get(name) or "").strip()
    return int(value) if value.isdigit() else None


def _filters(args: Any, me: int) -> QueueFilters:
    states = tuple(s for s in args.getlist("state") if s in {x.value for x in CaseState})
    if not states and args.get("all") != "1":
        states = tuple(s.value for s in CaseState if s not in FINAL_STATES)
    serious = {"yes": True, "no": False}.get(args.get("serious", ""))
    search_in = args.get("in", "any")
    sort = args.get("sort", "urgency")
    return QueueFilters(
        states=states, product=args.get("product") or None, study=args.get("study") or None,
        serious=serious, assignee_id=me if args.get("mine") == "1" else None,
        unassigned=args.get("unassigned") == "1", overdue=args.get("overdue") == "1",
        due_within_days=_number(args, "due_within"), due_from_days=_number(args, "due_from"),
        flag=args.get("flag") if args.get("flag") in QUEUE_FLAGS else None,
        sponsor=(args.get("sponsor") or "").strip().upper() or None,
        question=args.get("question") if args.get("question") in QUESTION_FILTERS else None,
        q=(args.get("q") or "").strip()[:200] or None,
        search_in=search_in if search_in in SEARCH_FIELDS else "any",
        sort=sort if sort in SORTS else "urgency", descending=args.get("dir") == "desc",
        page=_number(args, "page") or 1,
    )


def _with(args: Any, **changes: Any) -> str:
    """This page's address with some query arguments changed (``None`` removes one)."""
    params: dict[str, Any] = {k: args.getlist(k) for k in args}
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = [str(value)]
    return url_for(request.endpoint or "web_cases.queue", **(request.view_args or {}), **params)


@bp.get("/queue")
@require(Permission.VIEW_CASES)
def queue() -> Any:
    me = user()
    filters = _filters(request.args, me.id)
    page = queue_rows(g.db, filters, today=today())
    ctx = {"flag_labels": QUEUE_FLAGS, "question_filters": QUESTION_FILTERS,
           "page": page, "filters": filters, "counts": page.state_counts, "args": request.args,
           "states": list(CaseState), "state_labels": STATE_LABELS,
           "search_fields": SEARCH_FIELDS, "sorts": SORTS, "with_args": _with,
           "report_tabs": REPORT_TABS, "report_counts": report_counts(g.db),
           "sponsors": sponsors(g.db, current_scope().sponsor_ids),
           "can_work": bool(sponsors_with(g.db, me, Permission.WORK_CASES))}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "queue-table":
        return render_template("web/_queue_table.html", **ctx)
    return render_template("web/queue.html", **ctx)


@bp.get("/queue/reports/<status>")
@require(Permission.VIEW_CASES)
def reports(status: str) -> Any:
    """Reports that are not a case version: held, rejected or failed."""
    if status not in REPORT_TABS:
        abort(404)
    listing = report_rows(g.db, status, q=(request.args.get("q") or "").strip()[:200] or None,
                          page=_number(request.args, "page") or 1)
    return render_template(
        "web/queue_reports.html", listing=listing, args=request.args, with_args=_with,
        report_tabs=REPORT_TABS, report_counts=report_counts(g.db),
        can_operate=bool(sponsors_with(g.db, user(), Permission.OPERATE)))


def _case_or_404(case_id: uuid.UUID, *, lock: bool = False) -> Case:
    """The case; ``lock`` holds its row until commit so two people changing the same case
    serialise (PostgreSQL ``FOR UPDATE``; SQLite serialises writers anyway)."""
    case = find_case(g.db, case_id, lock=lock)
    if case is None:
        abort(404)
    return case


@bp.post("/cases/<uuid:case_id>/assign")
@require(Permission.WORK_CASES)
def assign_to_me(case_id: uuid.UUID) -> Any:
    case = case_to_work(case_id, Permission.WORK_CASES, lock=True)
    me = user()
    assign(g.db, case, me, actor=me.actor)
    flash(f"{case.case_number} is assigned to you.")
    return redirect(_back(url_for("web_cases.case_page", case_id=case.id)), code=303)


def case_to_work(case_id: uuid.UUID, permission: Permission, *, lock: bool = False) -> Case:
    """The case, when the user holds ``permission`` for its sponsor (403 otherwise; 404 when
    it is not a case of a sponsor the user works for)."""
    case = _case_or_404(case_id, lock=lock)
    role = role_for_case(case.sponsor_id)
    if role is None or not can(role, permission):
        abort(403)
    return case


def _back(default: str) -> str:
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@bp.get("/cases/<uuid:case_id>")
@require(Permission.VIEW_CASES)
def case_page(case_id: uuid.UUID) -> Any:
    view = case_view(g.db, _case_or_404(case_id), current_app.config["SAFETY"])
    role = role_for_case(view.case.sponsor_id)
    if role is None:
        abort(404)
    view, secrets = blind_page_view(g.db, view, user())
    html = render_template(
        "web/case.html", case=view.case, current=view.current, data=view.data,
        history=view.history, facts=view.facts, options=options(view.facts, role),
        signatures=view.signatures, audit=view.audit, site=view.site, assignee=view.assignee,
        state_labels=STATE_LABELS, sections=view.sections,
        can_sign=can(role, Permission.SIGN), can_work=can(role, Permission.WORK_CASES),
        meaning=signing.APPROVAL_MEANING, org_zone=current_app.config["SAFETY"].timezone,
        display=diff.display, causality=view.causality, questions=view.questions,
        question_versions=view.question_versions, today=today(),
        signing_blockers=approval_blockers(view.facts),
        **medical_context(view, role),
        can_unblind=can(role, Permission.UNBLIND), unblind_meaning=REVEAL_MEANING,
        blinded=secrets is not None,
    )
    if secrets is not None:
        try:
            check_page(html, secrets)
        except BlindingError:
            abort(409, description="This case page cannot be shown without breaking the "
                                   "blind; ask the unblinded physician.")
    return html


@bp.post("/cases/<uuid:case_id>/unblind")
@require(Permission.UNBLIND)
def unblind(case_id: uuid.UUID) -> Any:
    """Break the blind for the case's subject: reason and e-signature (unblinded role only)."""
    case = _case_or_404(case_id, lock=True)
    back = redirect(url_for("web_cases.case_page", case_id=case.id), code=303)
    try:
        _, found = reveal_for_case(
            g.db, case, user(), current_app.config["SAFETY"], data=case_data(g.db, case),
            reason=request.form.get("reason", ""), password=request.form.get("password", ""),
            meaning=request.form.get("meaning"), now=datetime.now(UTC))
    except UnblindingRefused as exc:
        flash(f"Not unblinded: {exc}.", "error")
        return back
    flash(f"Unblinded: subject {found.subject} received {found.treatment} (arm {found.arm}).")
    return back


@bp.post("/cases/<uuid:case_id>/transition")
@require(Permission.WORK_CASES)
def transition(case_id: uuid.UUID) -> Any:
    case = _case_or_404(case_id, lock=True)
    try:
        change = move(g.db, case, user(), request.form.get("transition", ""),
                      request.form.get("reason"), current_app.config["SAFETY"])
    except TransitionError as exc:
        flash(f"Not done: {exc}.", "error")
        return redirect(url_for("web_cases.case_page", case_id=case.id), code=303)
    flash(f"{case.case_number}: {STATE_LABELS[change.from_state]} → "
          f"{STATE_LABELS[change.to_state]}.")
    return redirect(url_for("web_cases.case_page", case_id=case.id), code=303)


# The signer's statement whether the approved messages carry the complete information (EU CTR
# Art. 42(2): an initial report filed incomplete owes the completed report within 8 days).
COMPLETE_CHOICES: dict[str, bool | None] = {"": None, "yes": True, "no": False}


@bp.post("/cases/<uuid:case_id>/sign")
@require(Permission.SIGN)
def sign_case(case_id: uuid.UUID) -> Any:
    """Approve for submission with an electronic signature bound to the version on screen."""
    case = _case_or_404(case_id, lock=True)
    me = user()
    back = redirect(url_for("web_cases.case_page", case_id=case.id), code=303)
    stated = request.form.get("complete", "")
    if stated not in COMPLETE_CHOICES:
        flash("Not signed: complete must be yes, no or not stated.", "error")
        return back
    try:
        sig = sign_and_approve(
            g.db, case, me, seen_version=request.form.get("version", ""),
            meaning=request.form.get("meaning"), password=request.form.get("password", ""),
            comment=request.form.get("reason"),
            zone=signing.local_zone(request.form.get("tz"),
                                    current_app.config["SAFETY"].timezone),
            now=datetime.now(UTC), complete=COMPLETE_CHOICES[stated])
    except SigningRefused as exc:
        flash(f"Not signed: {exc}.", "error")
        return back
    flash(f"Signed by {sig.printed_name} at {sig.signed_at:%Y-%m-%d %H:%M:%S} UTC: "
          f"{sig.meaning} (version {sig.version}).")
    return back


@bp.get("/cases/<uuid:case_id>/versions/<int:version>/source")
@require(Permission.VIEW_CASES)
def source(case_id: uuid.UUID, version: int) -> Any:
    """The original bytes of the report behind one version, with its own content type."""
    report = source_of_version(g.db, case_id, version)
    if report is None:
        abort(404)
    if unmasked_refused(g.db, _case_or_404(case_id), user()):
        # The bytes as received cannot be masked safely (issue 19; docs/blinding.md).
        abort(403, description="This case is of a blinded study: the original report may "
                               "name the subject's treatment; ask the unblinded physician.")
    return report.raw, 200, {"Content-Type": report.content_type,
                             "Content-Disposition": f'inline; filename="report-{report.id}"',
                             "X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "sandbox; default-src 'none'"}


def medical_context(view: CaseView, role: str) -> dict[str, Any]:
    """What the case page's correction, assessment, narrative and terminology parts need."""
    from safety.review.assessing import (
        BINARY_RESULTS,
        METHODS,
        NARANJO_QUESTIONS,
        WHO_UMC_CATEGORIES,
    )
    from safety.review.corrections import EDITABLE
    from safety.review.edit_form import NULL_FLAVOURS
    from safety.review.narrative import CASE_TYPE_LABELS
    from safety.rules.seriousness import CRITERIA

    editable = CaseState(view.case.state) in EDITABLE
    return {"edit": view.edit, "assessments": view.assessments, "case_type": view.case_type,
            "editable": editable, "null_flavours": NULL_FLAVOURS,
            "can_assess": editable and can(role, Permission.MEDICAL_REVIEW),
            "methods": METHODS, "who_umc": WHO_UMC_CATEGORIES, "binary": BINARY_RESULTS,
            "naranjo": NARANJO_QUESTIONS, "criteria": CRITERIA,
            "narrative_types": {t.value: label for t, label in CASE_TYPE_LABELS.items()}}

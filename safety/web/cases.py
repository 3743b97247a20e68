"""The safety team's pages: the queue, the case page, assignment, workflow and signature."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime
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
from sqlalchemy import or_, select

from safety.accounts.roles import Permission, can
from safety.accounts.store import Site
from safety.audit.store import AuditEvent
from safety.cases.store import Case, CaseVersion, current_version
from safety.cases.workflow import (
    STATE_LABELS,
    State,
    TransitionError,
    options,
    plan,
)
from safety.intake.store import Report
from safety.review import diff, signing
from safety.review.queue import QueueFilters, queue_rows
from safety.web.sections import loaded_sections
from safety.web.security import require, user
from safety.web.sources import DEFAULT_SOURCES, QUEUE_FLAGS, ReviewSources
from safety.web.store import (
    apply_change,
    assign,
    assignee_of,
    message_sha256,
    review_facts,
    sign,
    signature_status,
    signatures,
    state_counts,
    verify_signing_password,
    versions,
)

bp = Blueprint("web_cases", __name__)


def sources() -> ReviewSources:
    return current_app.extensions.get("safety_review_sources", DEFAULT_SOURCES)


def today() -> date:
    return datetime.now(current_app.config["SAFETY"].zone).date()


def _filters(args: Any, me: int) -> QueueFilters:
    states = tuple(s for s in args.getlist("state") if s in {x.value for x in State})
    if not states and args.get("all") != "1":
        states = tuple(s.value for s in State if s not in (State.CLOSED, State.NULLIFIED))
    serious = {"yes": True, "no": False}.get(args.get("serious", ""))
    within = args.get("due_within", "")
    return QueueFilters(
        states=states, product=args.get("product") or None, study=args.get("study") or None,
        serious=serious, assignee_id=me if args.get("mine") == "1" else None,
        unassigned=args.get("unassigned") == "1", overdue=args.get("overdue") == "1",
        due_within_days=int(within) if within.isdigit() else None,
        flag=args.get("flag") if args.get("flag") in QUEUE_FLAGS else None,
    )


@bp.get("/queue")
@require(Permission.VIEW_CASES)
def queue() -> Any:
    me = user()
    filters = _filters(request.args, me.id)
    page = queue_rows(g.db, filters, today=today(), due_source=sources().due_dates,
                      flag_source=sources().flags)
    ctx = {"flag_labels": QUEUE_FLAGS if sources().flags else {},
           "page": page, "filters": filters, "counts": state_counts(g.db), "args": request.args,
           "states": list(State), "state_labels": STATE_LABELS,
           "can_work": can(me.role, Permission.WORK_CASES)}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "queue-table":
        return render_template("web/_queue_table.html", **ctx)
    return render_template("web/queue.html", **ctx)


def _working(version: CaseVersion) -> dict[str, Any]:
    """The version as reviewed: with its coding (the as-received snapshot is shown apart)."""
    from safety.cases.store import latest_view

    view = latest_view(g.db, version.id)
    return (view.data if view is not None else version.data) or {}


def _case_or_404(case_id: uuid.UUID, *, lock: bool = False) -> Case:
    """The case; ``lock`` holds its row until commit so two people changing the same case
    serialise (PostgreSQL ``FOR UPDATE``; SQLite serialises writers anyway)."""
    stmt = select(Case).where(Case.id == case_id)
    case = g.db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if case is None:
        abort(404)
    return case


@bp.post("/cases/<uuid:case_id>/assign")
@require(Permission.WORK_CASES)
def assign_to_me(case_id: uuid.UUID) -> Any:
    case = _case_or_404(case_id, lock=True)
    me = user()
    assign(g.db, case, me, actor=me.actor)
    flash(f"{case.case_number} is assigned to you.")
    return redirect(_back(url_for("web_cases.case_page", case_id=case.id)), code=303)


def _back(default: str) -> str:
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@bp.get("/cases/<uuid:case_id>")
@require(Permission.VIEW_CASES)
def case_page(case_id: uuid.UUID) -> Any:
    case = _case_or_404(case_id)
    me = user()
    vs = versions(g.db, case.id)
    current = vs[-1]
    facts = review_facts(g.db, case, current, sources())
    message = message_sha256(g.db, case, current, sources())
    reports = {r.id: r for r in g.db.execute(
        select(Report).where(Report.id.in_([v.report_id for v in vs]))).scalars()}
    history = []
    for i, v in enumerate(vs):
        report = reports.get(v.report_id)
        history.append({
            "version": v, "report": report, "source": _source_text(report),
            "changes": diff.changes(vs[i - 1].data, v.data) if i else [],
        })
    sigs = [(s, signature_status(case, current, s, message))
            for s in signatures(g.db, case.id)]
    report_ids = [str(r) for r in reports]
    audit = list(g.db.execute(
        select(AuditEvent).where(or_(
            AuditEvent.case_id == case.id,
            (AuditEvent.entity_type == "reports") & AuditEvent.entity_id.in_(report_ids),
        )).order_by(AuditEvent.at, AuditEvent.id)
    ).scalars())
    site = g.db.get(Site, case.site_id) if case.site_id else None
    return render_template(
        "web/case.html", case=case, current=current, data=_working(current),
        history=history, facts=facts, options=options(facts, me.role), signatures=sigs,
        audit=audit, site=site, assignee=assignee_of(g.db, case.id),
        state_labels=STATE_LABELS, sections=loaded_sections(g.db, case, current),
        can_sign=can(me.role, Permission.SIGN), can_work=can(me.role, Permission.WORK_CASES),
        meaning=signing.APPROVAL_MEANING, org_zone=current_app.config["SAFETY"].timezone,
        display=diff.display, causality=_causality(_working(current)),
    )


def _source_text(report: Report | None) -> str | None:
    """The report exactly as received; JSON is indented for reading, never re-keyed."""
    if report is None:
        return None
    try:
        text = report.raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"({len(report.raw)} bytes, not UTF-8 text)"
    if report.content_type.startswith("application/json"):
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def _causality(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Drug × event assessments (G.k.9.i.2.r) with the event's reported term."""
    events = {r.get("id"): r.get("verbatim") for r in data.get("reactions") or []}
    rows = []
    for drug in data.get("drugs") or []:
        for link in drug.get("reactions") or []:
            for a in link.get("assessments") or []:
                rows.append({"drug": drug.get("name"), "event": events.get(link.get("reaction_id")),
                             "source": a.get("source"), "method": a.get("method"),
                             "result": a.get("result")})
    return rows


@bp.post("/cases/<uuid:case_id>/transition")
@require(Permission.WORK_CASES)
def transition(case_id: uuid.UUID) -> Any:
    case = _case_or_404(case_id, lock=True)
    me = user()
    facts = review_facts(g.db, case, current_version(g.db, case), sources())
    try:
        change = plan(facts, me.role, request.form.get("transition", ""),
                      request.form.get("reason"))
    except TransitionError as exc:
        flash(f"Not done: {exc}.", "error")
        return redirect(url_for("web_cases.case_page", case_id=case.id), code=303)
    apply_change(g.db, case, change, actor=me.actor)
    if sources().on_transition is not None:
        sources().on_transition(g.db, case, change, me.actor)
    flash(f"{case.case_number}: {STATE_LABELS[State(change.from_state)]} → "
          f"{STATE_LABELS[State(change.to_state)]}.")
    return redirect(url_for("web_cases.case_page", case_id=case.id), code=303)


@bp.post("/cases/<uuid:case_id>/sign")
@require(Permission.SIGN)
def sign_case(case_id: uuid.UUID) -> Any:
    """Approve for submission with an electronic signature bound to the version on screen."""
    case = _case_or_404(case_id, lock=True)
    me = user()
    back = redirect(url_for("web_cases.case_page", case_id=case.id), code=303)
    seen = request.form.get("version", "")
    if seen != str(case.current_version):
        flash(f"Not signed: you reviewed version {seen or '?'}, but the case is now version "
              f"{case.current_version}. Review the changes and sign again.", "error")
        return back
    if request.form.get("meaning") != signing.APPROVAL_MEANING:
        flash("Not signed: confirm the meaning of your signature.", "error")
        return back
    now = datetime.now(UTC)
    if not verify_signing_password(g.db, me, request.form.get("password", ""), now=now):
        flash("Not signed: the password is wrong" +
              (" and the account is now locked." if me.locked else "."), "error")
        return back
    current = current_version(g.db, case)
    facts = review_facts(g.db, case, current, sources())
    message = message_sha256(g.db, case, current, sources())
    if sources().message is not None and message is None:
        flash(f"Not signed: no E2B message is stored for version {current.version} yet; "
              "a signature binds the message too.", "error")
        return back
    try:
        change = plan(dataclasses.replace(facts, signed_version=current.version), me.role,
                      "approve", request.form.get("reason"), via_signature=True)
    except TransitionError as exc:
        flash(f"Not signed: {exc}.", "error")
        return back
    zone = signing.local_zone(request.form.get("tz"), current_app.config["SAFETY"].timezone)
    sig = sign(g.db, case, current, me, meaning=signing.APPROVAL_MEANING, now=now, zone=zone,
               message_sha256=message)
    apply_change(g.db, case, change, actor=me.actor)
    if sources().on_approved is not None:
        sources().on_approved(g.db, case, current, me.actor)
    flash(f"Signed by {sig.printed_name} at {sig.signed_at:%Y-%m-%d %H:%M:%S} UTC: "
          f"{sig.meaning} (version {sig.version}).")
    return back


@bp.get("/cases/<uuid:case_id>/versions/<int:version>/source")
@require(Permission.VIEW_CASES)
def source(case_id: uuid.UUID, version: int) -> Any:
    """The original bytes of the report behind one version, with its own content type."""
    cv = g.db.execute(
        select(CaseVersion).where(CaseVersion.case_id == case_id, CaseVersion.version == version)
    ).scalar_one_or_none()
    if cv is None:
        abort(404)
    report = g.db.get(Report, cv.report_id)
    return report.raw, 200, {"Content-Type": report.content_type,
                             "Content-Disposition": f'inline; filename="report-{report.id}"',
                             "X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "sandbox; default-src 'none'"}

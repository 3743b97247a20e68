"""What a reviewer sees of one case: the current version as worked, its history with what
changed, signatures and whether they still hold, the audit trail, and the conclusions of the
pipeline (coding to confirm, suspected duplicates, obligations, E2B messages)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safety.accounts.scope import EVERYTHING
from safety.accounts.store import Site, User
from safety.audit.store import AuditEvent
from safety.cases.store import Case, CaseVersion, latest_view, versions, working_data
from safety.cases.workflow import ReviewFacts
from safety.coding.confirmation import confirmation_reason
from safety.coding.store import active_autocoder
from safety.config import Settings
from safety.dedup.decisions import DECIDED, offers_confirmation
from safety.dedup.store import DedupDecision, decided_with, open_candidates, other_case
from safety.intake.service import answer_versions
from safety.intake.store import Report
from safety.questions.service import questions_for
from safety.questions.store import Question
from safety.review import diff
from safety.review.assessments import assessment_rows
from safety.review.assignment import assignee_of
from safety.review.edit_form import FormSection
from safety.review.edit_form import sections as edit_sections
from safety.review.facts import message_sha256, review_facts
from safety.review.narrative import case_type as narrative_type
from safety.review.signing import SignatureStatus
from safety.review.store import Signature, signature_status, signatures
from safety.rules.store import ObligationRow
from safety.submissions.service import submission_view
from safety.submissions.store import Submission

# Every loader gets the settings, so a section can use the configuration (the coding section
# codes with the configured dictionary) without a process-wide default.
Loader = Callable[[Session, Case, CaseVersion, Settings], Any]


@dataclass(frozen=True)
class CaseSection:
    """A part of the case page that shows a stage's conclusions; shown when it has any."""

    key: str
    title: str
    template: str  # under safety/web/templates
    load: Loader


@dataclass
class CaseView:
    case: Case
    current: CaseVersion
    data: dict[str, Any]  # the current version as worked (with its coding)
    facts: ReviewFacts
    history: list[dict[str, Any]]
    signatures: list[tuple[Signature, SignatureStatus]]
    audit: list[AuditEvent]
    site: Site | None
    assignee: User | None
    sections: list[tuple[CaseSection, Any]]
    causality: list[dict[str, Any]]
    questions: list[Question]  # to the site, on this case (the session limits the sponsor)
    question_versions: dict[uuid.UUID, int]  # answered with a follow-up: its version
    edit: list[FormSection]  # the edit form's fields (current values)
    assessments: list[dict[str, Any]]  # event x suspect drug, with the sponsor's word
    case_type: str  # the narrative template the case calls for


def case_view(session: Session, case: Case, settings: Settings) -> CaseView:
    vs = versions(session, case.id)
    current = vs[-1]
    message = message_sha256(session, current)
    reports = {r.id: r for r in session.execute(
        select(Report).where(Report.id.in_([v.report_id for v in vs if v.report_id]))).scalars()}
    history = []
    for i, v in enumerate(vs):
        report = reports.get(v.report_id) if v.report_id else None
        history.append({
            "version": v, "report": report, "source": source_text(report),
            "changes": diff.changes(vs[i - 1].data, v.data) if i else [],
        })
    report_ids = [str(r) for r in reports]
    audit = list(session.execute(
        select(AuditEvent).where(or_(
            AuditEvent.case_id == case.id,
            (AuditEvent.entity_type == "reports") & AuditEvent.entity_id.in_(report_ids),
        )).order_by(AuditEvent.at, AuditEvent.id)
    ).scalars())
    data = _working(session, current)
    questions = questions_for(session, EVERYTHING, case_id=case.id)
    return CaseView(
        case=case, current=current, data=data, facts=review_facts(session, case, current),
        history=history,
        signatures=[(s, signature_status(case, current, s, message))
                    for s in signatures(session, case.id)],
        audit=audit, site=session.get(Site, case.site_id) if case.site_id else None,
        assignee=assignee_of(session, case.id),
        sections=loaded_sections(session, case, current, settings),
        causality=causality(data), questions=questions,
        question_versions=answer_versions(session, questions),
        edit=edit_sections(data),
        assessments=assessment_rows(session, case, current),
        case_type=narrative_type(working_data(session, current)).value)


def _working(session: Session, version: CaseVersion) -> dict[str, Any]:
    """The version as reviewed: with its coding (the as-received snapshot is shown apart)."""
    view = latest_view(session, version.id)
    return (view.data if view is not None else version.data) or {}


def source_text(report: Report | None) -> str | None:
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


def causality(data: dict[str, Any]) -> list[dict[str, Any]]:
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


def source_of_version(session: Session, case_id: uuid.UUID, version: int) -> Report | None:
    """The report behind one version (its original bytes are shown as received)."""
    cv = session.execute(select(CaseVersion).where(
        CaseVersion.case_id == case_id, CaseVersion.version == version)).scalar_one_or_none()
    return None if cv is None or cv.report_id is None else session.get(Report, cv.report_id)


# --- the sections ---------------------------------------------------------------------------


def coding_rows(session: Session, case: Case, version: CaseVersion,
                settings: Settings) -> Any:
    view = latest_view(session, version.id)
    if view is None:
        return []
    data = working_data(session, version)
    review = set(view.review or [])
    coder = active_autocoder(session, "events", settings.dictionaries, case.sponsor_id)
    rows = []
    for i, r in enumerate(data.reactions):
        c = r.coding
        suggestions = coder.code(r.verbatim).candidates[:5] if isinstance(r.verbatim, str) else []
        rows.append({
            "id": r.id, "verbatim": r.verbatim, "code": c.code if c else None,
            "term": c.term if c else None, "pt": c.pt_term if c else None,
            "method": c.method if c else None, "confirmed_by": c.confirmed_by if c else None,
            "needs_review": f"reactions[{i}]" in review,
            "why": confirmation_reason(c.method or "", None, r.verbatim, c.term)
            if c and isinstance(r.verbatim, str) and f"reactions[{i}]" in review else None,
            "suggestions": suggestions,
        })
    return rows


def suspected_duplicates(session: Session, case: Case, version: CaseVersion,
                         settings: Settings) -> Any:
    decided = decided_with(session, case.id, DECIDED)
    out = []
    for c in open_candidates(session, case.id, decided):
        other = session.get(Case, other_case(c, case.id))
        out.append({"other_id": other_case(c, case.id),
                    "other": other.case_number if other else "?",
                    "score": c.score, "suspected": c.suspected, "rule": c.rule,
                    "may_confirm": offers_confirmation(c.score, c.suspected),
                    "explanation": c.explanation or []})
    return out


def duplicate_decisions(session: Session, case: Case, version: CaseVersion,
                        settings: Settings) -> Any:
    rows = list(session.execute(
        select(DedupDecision).where(or_(DedupDecision.case_a == case.id,
                                        DedupDecision.case_b == case.id))
        .order_by(DedupDecision.decided_at)
    ).scalars())
    if not rows:
        return []
    others = {r.case_b if r.case_a == case.id else r.case_a for r in rows}
    numbers = dict(session.execute(
        select(Case.id, Case.case_number).where(Case.id.in_(others))).all())
    return [{"other": numbers.get(r.case_b if r.case_a == case.id else r.case_a, "?"),
             "decision": r.decision, "decided_by": r.decided_by, "decided_at": r.decided_at}
            for r in rows]


def obligations(session: Session, case: Case, version: CaseVersion,
                settings: Settings) -> Any:
    return list(session.execute(
        select(ObligationRow).where(ObligationRow.case_id == case.id)
        .order_by(ObligationRow.due, ObligationRow.destination)
    ).scalars())


def messages(session: Session, case: Case, version: CaseVersion,
             settings: Settings) -> Any:
    """Each message with its kind (initial, follow-up, amendment, nullification) and reason."""
    subs = session.scalars(select(Submission).where(Submission.case_id == case.id)
                           .order_by(Submission.created_at.desc(), Submission.destination))
    return [{**submission_view(session, s), "xml": bool(s.xml)} for s in subs]


SECTIONS: tuple[CaseSection, ...] = (
    CaseSection("coding", "Coding", "web/sections/coding.html", coding_rows),
    CaseSection("suspected", "Suspected duplicates", "web/sections/suspected.html",
                suspected_duplicates),
    CaseSection("duplicates", "Duplicate decisions", "web/sections/duplicates.html",
                duplicate_decisions),
    CaseSection("obligations", "Reporting obligations", "web/sections/obligations.html",
                obligations),
    CaseSection("submissions", "E2B messages and submissions", "web/sections/submissions.html",
                messages),
)


def loaded_sections(session: Session, case: Case, version: CaseVersion,
                    settings: Settings) -> list[tuple[CaseSection, Any]]:
    out = []
    for section in SECTIONS:
        data = section.load(session, case, version, settings)
        if data:
            out.append((section, data))
    return out

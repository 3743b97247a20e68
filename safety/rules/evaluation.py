"""The rules stage of the pipeline: derive and store the obligations of one case version,
and the due-date monitor over the open ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from safety.blinding.store import UnblindingKind, request_unblinding, revealed
from safety.cases.model import CaseVersionData
from safety.cases.store import (
    Case,
    CaseVersion,
    current_version,
    locked_case,
    shared_working_data,
    working_data,
)
from safety.cases.values import PartialDate
from safety.cases.workflow import CaseState
from safety.config import Settings
from safety.db.base import utcnow
from safety.db.created import CASE, VERSION, held_rows, none_yet
from safety.intake.manifest import regulator_matches
from safety.intake.store import MigratedReport, Report, locked_report, migration_of
from safety.products.rsi import RsiLibrary
from safety.products.store import load_registry, load_rsi
from safety.rules.capacity import applicable_regimes, with_options
from safety.rules.causality import CausalityError, interpret
from safety.rules.day0 import (
    Day0Error,
    Receipt,
    ReceiverRole,
    local_date,
    org_zone,
    receipt_from_json,
)
from safety.rules.facts import CaseFacts
from safety.rules.history import (
    CaseHistory,
    Entry,
    Received,
    RulesContext,
    SponsorAssessment,
    evaluate_history,
)
from safety.rules.history import Unblinding as UnblindingResult
from safety.rules.obligations import Evaluation, ObligationStatus
from safety.rules.regime import load_regimes
from safety.rules.store import (
    CaseAnchorRow,
    ObligationRow,
    close_for_nullified_case,
    filings,
    obligation_submitted,
    reconcile_obligations,
    record_assessment,
    record_receipts,
    refresh_alerts,
    resolve_awaiting_unblinding,
    save_evaluation,
    stored_assessments,
    stored_receipts,
)
from safety.sponsors.service import profile


def case_history(session: Session, cv: CaseVersion, rsi: RsiLibrary | None = None
                 ) -> tuple[CaseHistory, RulesContext, tuple[str, ...]]:
    """The stored case up to version ``cv`` as the history the engine takes (the same unit as
    ``safety rules evaluate HISTORY.json`` and ``POST /api/v1/rules/evaluate``): each version
    with its receipts by party (the version's own receipt by the sponsor when none were
    recorded), the dated assessments, and the reports filed with their actual dates and
    completeness; plus the sponsor's registry, RSI, capacities and readings."""
    sponsor = profile(session, cv.sponsor_id)
    zone = sponsor.timezone
    tz = org_zone(zone)
    held = held_rows(session, CaseVersion, (CASE, cv.case_id), case_id=cv.case_id)
    versions = sorted((v for v in held if v.version <= cv.version) if held is not None
                      else session.scalars(select(CaseVersion).where(
                          CaseVersion.case_id == cv.case_id, CaseVersion.version <= cv.version)),
                      key=lambda v: v.version)
    receipts = stored_receipts(session, [v.id for v in versions], tz)
    carried = _carried_receipts(session, [v.report_id for v in versions if v.report_id])
    # Order: by calendar day; on one day the versions, each followed by the sponsor's
    # determinations it carries (they are part of what that version says) and then the reports
    # filed answering it; then the assessments recorded on their own that day. A version's
    # determination is never replayed after a later version: it would re-assess the later
    # version and owe a report for information the regulator already holds.
    keyed: list[tuple[tuple[date, int, int, int, int], Entry]] = []
    # Each decoded once (in a pipeline job, once for all its stages); the engine only reads.
    data = {v.version: shared_working_data(session, v) for v in versions}
    for v in versions:
        # The receipts its report carries (intake) and any recorded for it since; for a
        # version without either (made before intake recorded them, or not from a report):
        # the sponsor's own, at the version's receipt, in its zone.
        own = (carried.get(v.report_id, ()) if v.report_id else ()) + receipts.get(v.id, ())
        if not own:
            own = (Receipt(sponsor.code, ReceiverRole.SPONSOR,
                           instant=v.received_at.astimezone(tz)),)
        keyed.append(((local_date(v.received_at, tz), 0, v.version, 0, 0),
                      Received(v.version, data[v.version], own)))
    received_day = {v.version: local_date(v.received_at, tz) for v in versions}
    for n, (version, a) in enumerate(_case_page_determinations(data)):
        day = local_date(a.on, tz) if isinstance(a.on, datetime) else a.on
        keyed.append(((max(day, received_day[version]), 0, version, 1, n), a))
    for n, (version, f) in enumerate(filings(session, cv.case_id), start=1):
        if version > cv.version:
            continue
        # Never before the version whose obligation it answered.
        keyed.append(((max(f.on, received_day[version]), 0, version, 2, n), f))
    for n, a in enumerate(stored_assessments(session, cv.case_id)):
        day = local_date(a.on, tz) if isinstance(a.on, datetime) else a.on
        keyed.append(((day, 1, 0, 0, n), a))
    reveal = revealed(session, cv.case_id)
    if reveal is not None:
        # The subject's arm, from the day the blind was broken (never before the version
        # being evaluated: a reveal is about the case as it stands).
        on, arm = reveal
        keyed.append(((max(local_date(on, tz), received_day[cv.version]), 2, 0, 0, 0),
                      UnblindingResult(on, arm)))
    keyed.sort(key=lambda x: x[0])
    bound = applicable_regimes(load_regimes(), sponsor.reporting, sponsor.code)
    chosen = with_options(bound.regimes, sponsor.rules)
    ctx = RulesContext(load_registry(session, cv.sponsor_id),
                       rsi if rsi is not None else load_rsi(session, cv.sponsor_id),
                       chosen.regimes)
    history = CaseHistory(str(cv.case_id), tuple(e for _, e in keyed), zone)
    return history, ctx, (*bound.notes, *chosen.notes)


_CARRIED = select(Report.id, Report.receipts).where(Report.id.in_(bindparam("ids", expanding=True)))


def _carried_receipts(session: Session, report_ids: list[uuid.UUID]
                      ) -> dict[uuid.UUID, tuple[Receipt, ...]]:
    """The receipts each report carries, as intake recorded them (``Report.receipts``,
    ``safety.intake.receipts``); a value that is not a receipt is left out (it was checked
    when written). A report this job locked and processed is read from the job's memo (its
    receipts were written through it in this transaction)."""
    out: dict[uuid.UUID, tuple[Receipt, ...]] = {}
    if not report_ids:
        return out
    held = [locked_report(session, rid) for rid in report_ids]
    carried: Iterable[Any] = (
        [(r.id, r.receipts) for r in held if r is not None] if all(held)
        else session.execute(_CARRIED, {"ids": report_ids}))
    for rid, rows in carried:
        parsed = []
        for i, row in enumerate(rows or []):
            try:
                parsed.append(receipt_from_json(row, f"report {rid} receipts[{i}]"))
            except Day0Error:
                continue
        out[rid] = tuple(parsed)
    return out


def _case_page_determinations(data: dict[int, CaseVersionData]
                               ) -> list[tuple[int, SponsorAssessment]]:
    """The sponsor's causality determinations entered on the case page or through
    ``PUT /api/v1/cases/{id}/assessments`` (kept in the case as ``sponsor_review``), each once
    at the day it was determined: the reading's ``determined_at`` only moves when the reading
    changes, so a re-assessment to the same reading never delays a clock (21 CFR
    312.32(c)(1)(i): "after the sponsor determines"). Each comes with the version that first
    carries it, after whose receipt it is replayed."""
    seen: set[tuple[str, str, str]] = set()
    out: list[tuple[int, SponsorAssessment]] = []
    for version, case in sorted(data.items()):
        review = case.sponsor_review
        if review is None:
            continue
        for p in review.pairs:
            if not (p.determined_at and p.causality_result):
                continue
            key = (p.reaction_id, p.drug_id, p.determined_at)
            if key in seen:
                continue
            seen.add(key)
            try:
                reading = interpret(p.causality_method or "", p.causality_result)
            except CausalityError:
                continue
            out.append((version, SponsorAssessment(
                p.reaction_id, p.drug_id, datetime.fromisoformat(p.determined_at), reading,
                p.causality_method or "", p.causality_result, None,
                p.rsi_reference or "IB", p.rsi_version or "", by=p.assessed_by or "")))
    return out


def evaluate_version(session: Session, cv: CaseVersion, settings: Settings,
                     rsi: RsiLibrary | None = None) -> tuple[CaseFacts, Evaluation]:
    """Facts and obligations of a stored version against the registry and RSI in the database
    (or ``rsi`` given, for what-if comparisons): its case history replayed."""
    history, ctx, notes = case_history(session, cv, rsi)
    result = evaluate_history(history, ctx, strict=False)
    ev = result.evaluation
    ev.notes.extend(notes)
    return result.facts, ev


def evaluate_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    """Idempotent: a version already evaluated keeps its obligations."""
    done = None if none_yet(session, ObligationRow, (VERSION, cv.id), case_version_id=cv.id) \
        else session.scalar(select(ObligationRow.id).where(
            ObligationRow.case_version_id == cv.id).limit(1))
    if done is not None:
        return {"obligations": "already evaluated"}
    session.flush()
    # Locked and read afresh in one statement: a nullification commits before or after.
    case = locked_case(session, cv.case_id)
    migrated = migration_of(session, cv.report_id) if cv.report_id else None
    if migrated is not None:
        _original_receipts(session, cv)
    facts, ev = evaluate_version(session, cv, settings)
    save_evaluation(session, cv.case_id, cv.id, facts, ev, cv.sponsor_id, actor="system:rules")
    if migrated is not None and migrated.submitted:
        _already_submitted(session, cv, migrated)
    if case.state == CaseState.NULLIFIED:  # nothing is drafted after it: nothing is owed
        session.flush()
        close_for_nullified_case(session, cv.case_id,
                                 f"before version {cv.version} was evaluated", "system:rules")
    if any(o.status is ObligationStatus.AWAITING_UNBLINDING for o in ev.obligations):
        _request_unblinding(session, case, cv, facts)
    earliest = min((o.due for o in ev.active()), default=None)
    return {
        "obligations": len(ev.obligations),
        "open": len(ev.active()),
        "earliest_due": earliest.isoformat() if earliest else None,
        "recommendations": len(ev.recommendations),
    }


def _original_receipts(session: Session, cv: CaseVersion) -> None:
    """A migrated case's first version whose C.1.4 (first received) is earlier than the
    information it carries (C.1.5, its receipt): day 0 is the earliest receipt (GVP VI.B.7;
    ICH E2D(R1) 5.1), so both receipts are recorded, C.1.4 as the date reported. Left alone
    when receipts by party were already recorded for the version."""
    if cv.version != 1 or stored_receipts(session, [cv.id]):
        return
    sponsor = profile(session, cv.sponsor_id)
    first = working_data(session, cv).admin.first_received
    day = first.to_date() if isinstance(first, PartialDate) else None
    if not isinstance(day, date) or day >= local_date(cv.received_at, org_zone(sponsor.timezone)):
        return
    record_receipts(session, cv.id, cv.sponsor_id, (
        Receipt(sponsor.code, ReceiverRole.SPONSOR, day=day),
        Receipt(sponsor.code, ReceiverRole.SPONSOR, instant=cv.received_at)),
        actor="system:import", case_id=cv.case_id)


def _already_submitted(session: Session, cv: CaseVersion, migrated: MigratedReport) -> None:
    """A historical case (``safety import --manifest``, historical): each obligation of this
    version owed to a regulator the manifest names is recorded as submitted on the day the old
    system sent it, so no clock runs and nothing is drafted for it; one owed to a regulator the
    manifest does not name stays open, visibly (it may be overdue at once)."""
    named = {k: date.fromisoformat(v) for k, v in dict(migrated.submitted).items()}
    for row in session.scalars(select(ObligationRow).where(
            ObligationRow.case_version_id == cv.id).order_by(ObligationRow.due)):
        on = next((d for k, d in named.items()
                   if regulator_matches(k, row.regime, row.destination)), None)
        if on is None:
            continue
        obligation_submitted(session, row.id, on, actor="system:import",
                             reason=f"historical case: submitted to {row.destination} on "
                                    f"{on.isoformat()} before the migration "
                                    f"({migrated.source})")


def assessment_recorded(session: Session, case_id: uuid.UUID, assessment: SponsorAssessment,
                        settings: Settings, *, actor: str) -> list[str]:
    """A dated assessment of one event x drug (the sponsor's determination, or a causality the
    investigator gave later) is stored and the case's current version evaluated again at once:
    when it makes the case reportable, the clocks counting from the sponsor's awareness or
    determination start on its day (Art. 42(2); C.05.014(1); 21 CFR 312.32(c)(1)); when it makes
    a report no longer owed, the open obligation is closed as not required. Returns what
    changed, in words (also in the audit trail)."""
    case = session.get_one(Case, case_id)
    session.refresh(case, with_for_update=True)
    record_assessment(session, case_id, case.sponsor_id, assessment, actor=actor)
    cv = session.scalar(select(CaseVersion).where(CaseVersion.case_id == case_id)
                        .order_by(CaseVersion.version.desc()).limit(1))
    if cv is None:
        return []
    done = session.scalar(select(CaseAnchorRow.id).where(
        CaseAnchorRow.case_version_id == cv.id).limit(1))
    if done is None:  # not evaluated yet: its rules stage will read the assessment
        return []
    _, ev = evaluate_version(session, cv, settings)
    when = assessment.on.isoformat()
    return reconcile_obligations(
        session, case_id, cv.id, cv.sponsor_id, ev, actor=actor,
        reason=f"{assessment.role} assessment of {when} ({assessment.reaction_id} x "
               f"{assessment.drug_id})")


def refresh_due_alerts(session: Session, today: date) -> int:
    """Mark open obligations due soon or overdue (``today`` in the organisation's zone);
    returns how many changed."""
    return refresh_alerts(session, today)


def _request_unblinding(session: Session, case: Case, cv: CaseVersion, facts: CaseFacts) -> None:
    """A blinded case meeting SUSAR criteria raises a request to break the blind for its
    subject (ICH E2A III.C.2), once per case."""
    data = shared_working_data(session, cv)
    subject = str(data.patient.investigation_number or "")
    protocol = facts.study.protocol if facts.study else ""
    request_unblinding(
        session, sponsor_id=case.sponsor_id, case_id=case.id, protocol=protocol,
        subject=subject, kind=UnblindingKind.SUSAR, actor="system:rules",
        reason=f"version {cv.version} meets SUSAR criteria on blinded information",
        now=utcnow())


def apply_unblinding(session: Session, case: Case, settings: Settings, result: str,
                     actor: str) -> list[ObligationRow]:
    """Re-evaluate the current version with the unblinding result and settle its
    obligations that awaited it."""
    cv = current_version(session, case)
    _, ev = evaluate_version(session, cv, settings)
    return resolve_awaiting_unblinding(session, case.id, ev.obligations, result, actor=actor)

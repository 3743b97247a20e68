"""The rules stage of the pipeline: derive and store the obligations of one case version,
and the due-date monitor over the open ones."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.blinding.store import UnblindingKind, request_unblinding, unblinded_result
from safety.cases.store import Case, CaseVersion, current_version, working_data
from safety.cases.workflow import CaseState
from safety.config import Settings
from safety.db.base import utcnow
from safety.products.rsi import RsiLibrary
from safety.products.store import load_registry, load_rsi
from safety.rules.capacity import applicable_regimes, with_options
from safety.rules.case_version import evaluate_case_version
from safety.rules.facts import CaseFacts
from safety.rules.obligations import Evaluation, ObligationStatus
from safety.rules.regime import load_regimes
from safety.rules.store import (
    ObligationRow,
    close_for_nullified_case,
    previous_obligations,
    refresh_alerts,
    resolve_awaiting_unblinding,
    save_evaluation,
)
from safety.sponsors.service import profile


def evaluate_version(session: Session, cv: CaseVersion, settings: Settings,
                     rsi: RsiLibrary | None = None) -> tuple[CaseFacts, Evaluation]:
    """Facts and obligations of a stored version against the registry and RSI in the database
    (or ``rsi`` given, for what-if comparisons)."""
    versions = {v.version: v for v in session.scalars(
        select(CaseVersion).where(CaseVersion.case_id == cv.case_id,
                                  CaseVersion.version <= cv.version))}
    first = versions[1]
    previous = versions.get(cv.version - 1)
    sponsor = profile(session, cv.sponsor_id)
    bound = applicable_regimes(load_regimes(), sponsor.reporting, sponsor.code)
    chosen = with_options(bound.regimes, sponsor.rules)
    facts, ev = evaluate_case_version(
        working_data(session, cv),
        case_id=str(cv.case_id),
        version=cv.version,
        first_received_at=first.received_at,
        received_at=cv.received_at,
        registry=load_registry(session, cv.sponsor_id),
        rsi=rsi if rsi is not None else load_rsi(session, cv.sponsor_id),
        previous_case=working_data(session, previous) if previous else None,
        previous_obligations=previous_obligations(session, cv.case_id) if previous else (),
        previous_first_received_at=first.received_at if previous else None,
        zone=sponsor.timezone,
        regimes=chosen.regimes,
        unblinded_arm=unblinded_result(session, cv.case_id),
    )
    ev.notes.extend((*bound.notes, *chosen.notes))
    return facts, ev


def evaluate_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    """Idempotent: a version already evaluated keeps its obligations."""
    done = session.scalar(select(ObligationRow.id).where(
        ObligationRow.case_version_id == cv.id).limit(1))
    if done is not None:
        return {"obligations": "already evaluated"}
    case = session.get_one(Case, cv.case_id)
    session.flush()
    session.refresh(case, with_for_update=True)  # a nullification commits before or after
    facts, ev = evaluate_version(session, cv, settings)
    save_evaluation(session, cv.case_id, cv.id, facts, ev, cv.sponsor_id, actor="system:rules")
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


def refresh_due_alerts(session: Session, today: date) -> int:
    """Mark open obligations due soon or overdue (``today`` in the organisation's zone);
    returns how many changed."""
    return refresh_alerts(session, today)


def _request_unblinding(session: Session, case: Case, cv: CaseVersion, facts: CaseFacts) -> None:
    """A blinded case meeting SUSAR criteria raises a request to break the blind for its
    subject (ICH E2A III.C.2), once per case."""
    data = working_data(session, cv)
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

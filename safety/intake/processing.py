"""Processing a stored report: it becomes a new case, a version of its case, or is held.

Run inside one database transaction per report. Idempotent: a report that is already
processed or held is left alone, so a job that runs twice (a retry after a lost ack, the sweep
racing a worker) never makes two cases. What a report becomes is decided by
``safety.cases.versioning.decide``; this module looks up what that decision needs and applies
it through the owners of the statuses it changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.codec import case_from_json
from safety.cases.identifiers import case_number, worldwide_case_id
from safety.cases.model import CaseVersionData
from safety.cases.store import (
    Case,
    CaseVersion,
    add_version,
    change_state,
    new_case,
    next_number,
)
from safety.cases.values import NullFlavor, PartialDate
from safety.cases.versioning import CaseOnFile, Decision, Outcome, PriorReport, decide
from safety.cases.workflow import CaseState, system_change
from safety.config import Settings
from safety.intake.channels import payload_to_case, read_findings
from safety.intake.status import DONE, ReportStatus
from safety.intake.store import Report, record_failure, set_status
from safety.intake.validity import minimum_criteria
from safety.sponsors.service import profile

ACTOR = "system:intake"


class WaitForEarlierReport(RuntimeError):
    """An earlier report of the same sender case is not processed yet: retry later, so that
    versions follow the order in which reports were received."""


@dataclass(frozen=True)
class ProcessingResult:
    status: ReportStatus
    case_id: uuid.UUID | None = None
    case_version_id: uuid.UUID | None = None
    created_case: bool = False


def process_report(session: Session, report_id: uuid.UUID, settings: Settings, *,
                   has_stages: bool = True) -> ProcessingResult:
    """``has_stages``: whether the version goes on to the processing stages (coding,
    duplicates, rules, drafting), or is complete as stored."""
    report = session.execute(
        select(Report).where(Report.id == report_id).with_for_update()
    ).scalar_one()
    if report.status in DONE:
        return ProcessingResult(ReportStatus(report.status), report.case_id, report.case_version_id)

    data = payload_to_case(report.channel, report.payload)
    read = read_findings(report.channel, report.payload)
    findings = minimum_criteria(data)
    if findings:
        set_status(session, report, ReportStatus.HELD, actor=ACTOR,
                   findings=[*read, *(f.as_dict() for f in findings)],
                   reason="; ".join(f.message for f in findings))
        return ProcessingResult(ReportStatus.HELD)

    case = _case_named(session, report, data)
    decision = decide(
        CaseOnFile(case.case_number, CaseState(case.state), case.current_version)
        if case is not None else None,
        earlier_pending=bool(report.sender_case_id) and _earlier_pending(session, report),
        payload_sha256=report.payload_sha256, payload=report.payload,
        sender_latest=_sender_latest(session, case, report) if case is not None else None)
    if decision.outcome is Outcome.WAIT:
        raise WaitForEarlierReport(str(report.id))
    if decision.outcome in (Outcome.HELD, Outcome.IDENTICAL_RESEND):
        assert case is not None and decision.finding is not None
        version_id = _version_id(session, case.id, decision.version) \
            if decision.outcome is Outcome.IDENTICAL_RESEND else None
        status = ReportStatus.HELD if decision.outcome is Outcome.HELD \
            else ReportStatus.PROCESSED
        set_status(session, report, status, actor=ACTOR, findings=[*read, decision.finding],
                   reason=decision.reason, case_id=case.id, case_version_id=version_id)
        return ProcessingResult(status, case.id, version_id)
    return _add_version(session, report, data, case, decision, has_stages, read)


def _add_version(session: Session, report: Report, data: CaseVersionData, case: Case | None,
                 decision: Decision, has_stages: bool,
                 read: list[dict[str, str]]) -> ProcessingResult:
    sponsor = profile(session, report.sponsor_id)
    # C.1.4/C.1.5 are dates in the sponsor's documented zone (its SOPs), not the server's.
    received_day = report.received_at.astimezone(sponsor.zone).date()
    incoming_wwid = _text(data.admin.worldwide_case_id)
    first_received: PartialDate | None
    if case is None:
        number = next_number(session, f"case:{report.sponsor_id}")
        own_id = worldwide_case_id(_country(data), sponsor.org_code, received_day.year, number)
        case = new_case(
            session, actor=ACTOR, reason=f"initial report {report.id}",
            sponsor_id=report.sponsor_id,
            case_number=case_number(sponsor.case_prefix, received_day.year, number),
            worldwide_case_id=incoming_wwid or own_id, sender=report.sender,
            sender_case_id=report.sender_case_id or f"report:{report.id}",
            site_id=report.site_id)
        first_received = PartialDate.from_date(received_day)
    else:
        first = case_from_json(session.execute(
            select(CaseVersion.data).where(CaseVersion.case_id == case.id,
                                           CaseVersion.version == 1)
        ).scalar_one()).admin
        first_received = first.first_received if isinstance(first.first_received,
                                                            PartialDate) else None
        own_id = _text(first.sender_safety_report_id) or case.worldwide_case_id
    assert decision.version is not None and decision.kind is not None
    _fill_admin(data, case, own_id, first_received, received_day)
    cv = add_version(session, case, version=decision.version, kind=decision.kind,
                     report_id=report.id, data=data, received_at=report.received_at,
                     has_stages=has_stages)
    if decision.version > 1:
        from safety.audit.store import record

        record(session, actor=ACTOR, action="case.version_added", entity=case,
               changes=[{"field": "current_version", "from": decision.version - 1,
                         "to": decision.version}],
               reason=f"follow-up report {report.id}")
        if decision.reopen:
            change_state(session, case, system_change(
                case.state, "reopen_for_follow_up",
                f"follow-up report {report.id} (version {decision.version}) needs review"),
                actor=ACTOR)
    set_status(session, report, ReportStatus.PROCESSED, actor=ACTOR, case_id=case.id,
               case_version_id=cv.id, findings=read)
    return ProcessingResult(ReportStatus.PROCESSED, case.id, cv.id,
                            created_case=decision.version == 1)


def processing_failed(session: Session, report_id: uuid.UUID, error: str, *,
                      final: bool) -> None:
    """An attempt failed: the report keeps the error; after the last attempt it is
    ``failed`` (audited), for an operator to see and retry."""
    report = session.get(Report, report_id)
    if report is None or report.status in DONE:
        return
    record_failure(session, report, error, final=final, actor=ACTOR)


def waiting_reports(session: Session, received_before: datetime,
                    limit: int = 10_000) -> list[uuid.UUID]:
    """Reports stored but not processed (Redis was down, a worker died), oldest first."""
    return list(session.execute(
        select(Report.id).where(Report.status == ReportStatus.RECEIVED,
                                Report.received_at <= received_before)
        .order_by(Report.received_at).limit(limit)).scalars())


def _case_named(session: Session, report: Report, data: CaseVersionData) -> Case | None:
    """The case this report names: the sender's own case id first; then C.1.8.1, the case's
    identity worldwide (the same id from another sender is the same case: a retransmission or
    a partner's follow-up, never a new one)."""
    if report.sender_case_id:
        case = session.execute(
            select(Case).where(Case.sponsor_id == report.sponsor_id,
                               Case.sender == report.sender,
                               Case.sender_case_id == report.sender_case_id)
            .with_for_update()
        ).scalar_one_or_none()
        if case is not None:
            return case
    incoming_wwid = _text(data.admin.worldwide_case_id)
    if incoming_wwid:
        return session.execute(
            select(Case).where(Case.sponsor_id == report.sponsor_id,
                               Case.worldwide_case_id == incoming_wwid).with_for_update()
        ).scalar_one_or_none()
    return None


def _sender_latest(session: Session, case: Case, report: Report) -> PriorReport | None:
    """The sender's latest processed report on the case (only it counts for a re-send:
    content going back to an earlier report after a change is a correction)."""
    latest = session.execute(
        select(Report).where(Report.case_id == case.id, Report.id != report.id,
                             Report.sender == report.sender,
                             Report.status == ReportStatus.PROCESSED,
                             Report.received_at <= report.received_at)
        .order_by(Report.received_at.desc()).limit(1)
    ).scalar_one_or_none()
    if latest is None or latest.case_version_id is None:
        return None
    version = session.execute(
        select(CaseVersion.version).where(CaseVersion.id == latest.case_version_id)
    ).scalar_one()
    return PriorReport(str(latest.id), latest.payload_sha256, latest.payload, version)


def _version_id(session: Session, case_id: uuid.UUID, version: int | None) -> uuid.UUID:
    return session.execute(select(CaseVersion.id).where(
        CaseVersion.case_id == case_id, CaseVersion.version == version)).scalar_one()


def _fill_admin(data: CaseVersionData, case: Case, own_id: str,
                first: PartialDate | None, received_day: date) -> None:
    """C.1 as this organisation will send it: our own report id (C.1.1), the case's worldwide
    id (C.1.8.1, kept from the first sender when the case came from a partner), the date we
    first received it (C.1.4) and the date of this information (C.1.5)."""
    latest = PartialDate.from_date(received_day)
    admin = data.admin
    admin.sender_safety_report_id = own_id
    admin.worldwide_case_id = case.worldwide_case_id
    admin.first_received = first if first is not None else latest
    admin.most_recent_received = latest
    admin.first_sender = admin.first_sender or "2"  # C.1.8.2: 2 = other (not a regulator)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and not isinstance(value, NullFlavor) and value \
        else None


def _earlier_pending(session: Session, report: Report) -> bool:
    return session.execute(
        select(Report.id).where(
            Report.sponsor_id == report.sponsor_id,
            Report.sender == report.sender,
            Report.sender_case_id == report.sender_case_id,
            Report.received_at < report.received_at,
            Report.status.not_in([*DONE, ReportStatus.FAILED]),
        ).limit(1)
    ).first() is not None


def _country(data: CaseVersionData) -> str:
    for r in data.reactions:
        if isinstance(r.country, str) and r.country:
            return r.country
    for rep in data.reporters:
        if isinstance(rep.country, str) and rep.country:
            return rep.country
    return "XX"

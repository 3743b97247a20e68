"""Intake processing: a stored report becomes a new case or a new version of its case.

Run inside one database transaction per report. Idempotent: a report that is already
processed or held is left alone, so a job that runs twice (a retry after a lost ack, the sweep
racing a worker) never makes two cases.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.codec import case_from_json, case_to_json
from safety.cases.identifiers import case_number, worldwide_case_id
from safety.cases.model import CaseVersionData
from safety.cases.store import Case, CaseVersion, Counter
from safety.cases.values import NullFlavor, PartialDate
from safety.config import Settings
from safety.intake.channels import payload_to_case
from safety.intake.store import Report
from safety.intake.validity import minimum_criteria
from safety.pipeline.stages import first_stage

DONE = frozenset({"processed", "held"})
# A closed case drops out of the working queue, so a follow-up reopens it (the workflow's own
# "reopen" target). An open case that was signed stays where it is: its page shows the
# signature invalidated and the guards refuse to close it until it is reviewed again.
REOPENED_BY_FOLLOW_UP = frozenset({"closed"})


class WaitForEarlierReport(RuntimeError):
    """An earlier report of the same sender case is not processed yet: retry later, so that
    versions follow the order in which reports were received."""


@dataclass(frozen=True)
class Outcome:
    status: str
    case_id: uuid.UUID | None = None
    case_version_id: uuid.UUID | None = None
    created_case: bool = False


def process_report(session: Session, report_id: uuid.UUID, settings: Settings) -> Outcome:
    report = session.execute(
        select(Report).where(Report.id == report_id).with_for_update()
    ).scalar_one()
    if report.status in DONE:
        return Outcome(report.status, report.case_id, report.case_version_id)

    data = payload_to_case(report.channel, report.payload)
    findings = minimum_criteria(data)
    if findings:
        return _conclude(session, report, "held", [f.as_dict() for f in findings],
                         "; ".join(f.message for f in findings))

    if report.sender_case_id and _earlier_pending(session, report):
        raise WaitForEarlierReport(str(report.id))

    case = None
    if report.sender_case_id:
        case = session.execute(
            select(Case)
            .where(Case.sender == report.sender, Case.sender_case_id == report.sender_case_id)
            .with_for_update()
        ).scalar_one_or_none()
    incoming_wwid = _text(data.admin.worldwide_case_id)
    if case is None and incoming_wwid:
        # C.1.8.1 is the case's identity worldwide: the same id from another sender is the
        # same case (a retransmission or a partner's follow-up), never a new one.
        case = session.execute(
            select(Case).where(Case.worldwide_case_id == incoming_wwid).with_for_update()
        ).scalar_one_or_none()

    if case is not None and case.state == "nullified":
        # Nullification is final (E2B(R3) C.1.11.1): new information on the case is for a
        # person to judge (a new case? a mistaken nullification?), not a silent version.
        return _conclude(session, report, "held", [{
            "code": "case_nullified", "criterion": "",
            "message": f"case {case.case_number} was nullified; a report on it is held for "
                       "review, not added as a version"}],
            f"case {case.case_number} is nullified", case_id=case.id)
    if case is not None:
        same = _identical_earlier_report(session, case.id, report)
        if same is not None:
            return _resent(session, report, case, same)

    received_day = _local_date(report.received_at, settings)
    created = case is None
    if case is None:
        number = _next_number(session, "case")
        own_id = worldwide_case_id(_country(data), settings.org_code, received_day.year, number)
        case = Case(
            id=uuid.uuid4(),
            case_number=case_number(received_day.year, number),
            worldwide_case_id=incoming_wwid or own_id,
            sender=report.sender,
            sender_case_id=report.sender_case_id or f"report:{report.id}",
            site_id=report.site_id,
            state="triage",
            current_version=1,
        )
        session.add(case)
        session.flush()
        version, kind = 1, "initial"
        first_received: object = PartialDate.from_date(received_day)
    else:
        version, kind = case.current_version + 1, "followup"
        case.current_version = version
        first = case_from_json(session.execute(
            select(CaseVersion.data).where(CaseVersion.case_id == case.id,
                                           CaseVersion.version == 1)
        ).scalar_one()).admin
        first_received = first.first_received
        own_id = _text(first.sender_safety_report_id) or case.worldwide_case_id

    _fill_admin(data, case, own_id, first_received, PartialDate.from_date(received_day))
    cv = CaseVersion(
        id=uuid.uuid4(), case_id=case.id, version=version, kind=kind, report_id=report.id,
        data=case_to_json(data), received_at=report.received_at, stages={},
        pipeline="pending" if first_stage() else "done",
    )
    session.add(cv)
    case.serious = data.is_serious()
    session.flush()

    report.status = "processed"
    report.findings = []
    report.case_id = case.id
    report.case_version_id = cv.id
    report.processed_at = _now()
    if created:
        record(session, actor="system:intake", action="case.created", entity=case,
               changes=[{"field": "state", "from": None, "to": case.state}],
               reason=f"initial report {report.id}")
    else:
        record(session, actor="system:intake", action="case.version_added", entity=case,
               changes=[{"field": "current_version", "from": version - 1, "to": version}],
               reason=f"follow-up report {report.id}")
        if case.state in REOPENED_BY_FOLLOW_UP:
            before, case.state = case.state, "data_entry"
            record(session, actor="system:intake", action="case.reopened", entity=case,
                   changes=[{"field": "state", "from": before, "to": case.state}],
                   reason=f"follow-up report {report.id} (version {version}) needs review")
    record(session, actor="system:intake", action="report.processed", entity=report,
           case_id=case.id,
           changes=[{"field": "status", "from": "received", "to": "processed"}])
    return Outcome("processed", case.id, cv.id, created)


def _identical_earlier_report(session: Session, case_id: uuid.UUID,
                              report: Report) -> Report | None:
    """An earlier report of this case with the very same content: a double-clicked form, a
    client retrying without an Idempotency-Key, a partner sending a message again. It carries
    no new information, so it must not become a follow-up version (which would restart no
    clock but would send regulators a follow-up that says nothing new). Only the sender's
    latest report counts: content going back to an earlier one after a change is a correction.
    """
    latest = session.execute(
        select(Report).where(Report.case_id == case_id, Report.id != report.id,
                             Report.sender == report.sender, Report.status == "processed",
                             Report.received_at <= report.received_at)
        .order_by(Report.received_at.desc()).limit(1)
    ).scalar_one_or_none()
    # The digest is of the body as received; an E2B batch's messages share one body, so the
    # payloads themselves decide.
    if (latest is None or latest.payload_sha256 != report.payload_sha256
            or latest.payload != report.payload):
        return None
    return latest


def _resent(session: Session, report: Report, case: Case, same: Report) -> Outcome:
    version = session.execute(
        select(CaseVersion.version).where(CaseVersion.id == same.case_version_id)
    ).scalar_one()
    return _conclude(session, report, "processed", [{
        "code": "identical_resend", "criterion": "",
        "message": f"identical to report {same.id}, already version {version} of case "
                   f"{case.case_number}: no new version"}],
        f"identical re-send of report {same.id} (version {version})",
        case_id=case.id, case_version_id=same.case_version_id)


def _conclude(session: Session, report: Report, status: str, findings: list[dict[str, str]],
              reason: str, case_id: uuid.UUID | None = None,
              case_version_id: uuid.UUID | None = None) -> Outcome:
    """End a report's processing without a new version (held, or joined to an existing one)."""
    report.status = status
    report.findings = findings
    report.case_id, report.case_version_id = case_id, case_version_id
    report.processed_at = _now()
    record(session, actor="system:intake", action=f"report.{status}", entity=report,
           case_id=case_id, changes=[{"field": "status", "from": "received", "to": status}],
           reason=reason)
    return Outcome(status, case_id, case_version_id)


def _fill_admin(data: CaseVersionData, case: Case, own_id: str, first: object,
                latest: PartialDate) -> None:
    """C.1 as this organisation will send it: our own report id (C.1.1), the case's worldwide
    id (C.1.8.1, kept from the first sender when the case came from a partner), the date we
    first received it (C.1.4) and the date of this information (C.1.5)."""
    admin = data.admin
    admin.sender_safety_report_id = own_id
    admin.worldwide_case_id = case.worldwide_case_id
    admin.first_received = first if isinstance(first, PartialDate) else latest
    admin.most_recent_received = latest
    admin.first_sender = admin.first_sender or "2"  # C.1.8.2: 2 = other (not a regulator)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and not isinstance(value, NullFlavor) and value \
        else None


def _earlier_pending(session: Session, report: Report) -> bool:
    return session.execute(
        select(Report.id).where(
            Report.sender == report.sender,
            Report.sender_case_id == report.sender_case_id,
            Report.received_at < report.received_at,
            Report.status.not_in(DONE | {"failed"}),
        ).limit(1)
    ).first() is not None


def _next_number(session: Session, name: str) -> int:
    result = session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one_or_none()
    if result is None:
        session.add(Counter(name=name, value=1))
        session.flush()
        return 1
    return int(result)


def _country(data: CaseVersionData) -> str:
    for r in data.reactions:
        if isinstance(r.country, str) and r.country:
            return r.country
    for rep in data.reporters:
        if isinstance(rep.country, str) and rep.country:
            return rep.country
    return "XX"


def _local_date(instant: datetime, settings: Settings):  # type: ignore[no-untyped-def]
    return instant.astimezone(settings.zone).date()


def _now() -> datetime:
    from safety.db.base import utcnow

    return utcnow()

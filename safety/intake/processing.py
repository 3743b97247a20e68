"""Processing a stored report: it becomes a new case, a version of its case, or is held.

Run inside one database transaction per report. Idempotent: a report that is already
processed or held is left alone, so a job that runs twice (a retry after a lost ack, the sweep
racing a worker) never makes two cases. What a report becomes is decided by
``safety.cases.versioning.decide``; this module looks up what that decision needs and applies
it through the owners of the statuses it changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import Select, and_, bindparam, exists, or_, select
from sqlalchemy import case as case_when
from sqlalchemy.orm import Session, aliased, defer

from safety.audit.store import buffer_events
from safety.cases.codec import case_from_json
from safety.cases.identifiers import case_number, norm_id, worldwide_case_id
from safety.cases.model import CaseVersionData, OtherCaseId
from safety.cases.store import (
    Case,
    CaseVersion,
    add_version,
    change_state,
    hold_locked_case,
    new_case,
    next_number,
    worldwide_id_length,
)
from safety.cases.values import NullFlavor, PartialDate
from safety.cases.versioning import CaseOnFile, Decision, Outcome, PriorReport, decide
from safety.cases.workflow import CaseState, system_change
from safety.config import Settings
from safety.intake.channels import payload_to_case, read_findings
from safety.intake.failure import public_reason
from safety.intake.receipts import report_receipts
from safety.intake.status import DONE, ReportStatus
from safety.intake.store import (
    STREAM,
    MigratedReport,
    Report,
    lock_report,
    mark_waiting,
    migration_of,
    record_failure,
    set_status,
    stream_of,
)
from safety.intake.validity import minimum_criteria
from safety.questions.service import HeldReport, raise_findings, version_made
from safety.questions.status import CRITERION_FIELDS, QuestionSource
from safety.questions.store import Question
from safety.sponsors.service import profile

ACTOR = "system:intake"


_WORLDWIDE_ID_LIMIT = worldwide_id_length()
WAITING = "WaitingForEarlierReport"  # how a waiting report's reason starts (``last_error``)


@dataclass(frozen=True)
class ProcessingResult:
    status: ReportStatus
    case_id: uuid.UUID | None = None
    case_version_id: uuid.UUID | None = None
    created_case: bool = False
    waiting_for: uuid.UUID | None = None  # still received: an earlier report comes first
    next_in_stream: uuid.UUID | None = None  # the report of the same stream to process next
    # A message of a partner's E2B batch: its ACK may be due once it is done (other channels
    # have no ACK, and their job need not look).
    from_batch: bool = False


def process_report(session: Session, report_id: uuid.UUID, settings: Settings, *,
                   has_stages: bool = True, events_at_commit: bool = False) -> ProcessingResult:
    """``has_stages``: whether the version goes on to the processing stages (coding,
    duplicates, rules, drafting), or is complete as stored. ``events_at_commit``: the
    transaction goes on with the version's stages, and the report's audit events are written
    with theirs, in one statement at the commit (``buffer_events``)."""
    if events_at_commit:
        buffer_events(session)
    report = lock_report(session, report_id)
    return replace(_process(session, report, settings, has_stages),
                   from_batch=report.channel == "e2b")


def _process(session: Session, report: Report, settings: Settings,
             has_stages: bool) -> ProcessingResult:
    if report.status in DONE:
        return ProcessingResult(ReportStatus(report.status), report.case_id, report.case_version_id)

    data = payload_to_case(report.channel, report.payload)
    read = read_findings(report.channel, report.payload)
    findings = minimum_criteria(data)
    if findings:
        set_status(session, report, ReportStatus.HELD, actor=ACTOR,
                   findings=[*read, *(f.as_dict() for f in findings)],
                   reason="; ".join(f.message for f in findings))
        # The sender is asked for what is missing (ICH E2D(R1) 5.1): questions it can answer.
        raise_findings(session, HeldReport(report.id, report.sponsor_id, report.site_id,
                                           report.sender_case_id),
                       [f.as_dict() for f in findings], actor=ACTOR,
                       today=report.received_at.astimezone(
                           profile(session, report.sponsor_id).zone).date(),
                       days=settings.question_due_days)
        return ProcessingResult(ReportStatus.HELD,
                                next_in_stream=next_in_stream(session, report))

    blocker = _blocker(session, report) if report.sender_case_id else None
    if blocker is not None:
        # Versions follow receipt order: wait, without spending this report's retries, for
        # the earlier one, which hands over to this one when it is done (or the sweep does).
        mark_waiting(session, report, waiting_reason(blocker), actor=ACTOR)
        return ProcessingResult(ReportStatus.RECEIVED, waiting_for=blocker.id)
    case, foreign_wwid = _case_named(session, report, data)
    decision = decide(
        CaseOnFile(case.case_number, CaseState(case.state), case.current_version)
        if case is not None else None,
        payload_sha256=report.payload_sha256, payload=report.payload,
        sender_latest=_sender_latest(session, case, report) if case is not None else None)
    if decision.outcome in (Outcome.HELD, Outcome.IDENTICAL_RESEND):
        assert case is not None and decision.finding is not None
        version_id = _version_id(session, case.id, decision.version) \
            if decision.outcome is Outcome.IDENTICAL_RESEND else None
        status = ReportStatus.HELD if decision.outcome is Outcome.HELD \
            else ReportStatus.PROCESSED
        set_status(session, report, status, actor=ACTOR, findings=[*read, decision.finding],
                   reason=decision.reason, case_id=case.id, case_version_id=version_id)
        return ProcessingResult(status, case.id, version_id,
                                next_in_stream=next_in_stream(session, report))
    return _add_version(session, report, data, case, decision, has_stages, read, foreign_wwid)


def _add_version(session: Session, report: Report, data: CaseVersionData, case: Case | None,
                 decision: Decision, has_stages: bool,
                 read: list[dict[str, str]],
                 foreign_wwid: str | None = None) -> ProcessingResult:
    sponsor = profile(session, report.sponsor_id)
    # C.1.4/C.1.5 are dates in the sponsor's documented zone (its SOPs), not the server's.
    received_day = report.received_at.astimezone(sponsor.zone).date()
    # A C.1.8.1 that is another sender's case is not this case's: it gets its own id.
    incoming_wwid = None if foreign_wwid else _text(data.admin.worldwide_case_id)
    too_long: list[dict[str, str]] = []
    if incoming_wwid is not None and len(incoming_wwid) > _WORLDWIDE_ID_LIMIT and case is None:
        # longer than the ICH IG's 100 characters (the conformance check says so too): the
        # case gets its own id to send under; the sender's value stays in the report
        too_long.append({"code": "e2b-length", "criterion": "C.1.8.1",
                         "message": f"C.1.8.1 is {len(incoming_wwid)} characters, more than "
                                    f"the {_WORLDWIDE_ID_LIMIT} of the ICH IG: the case has "
                                    f"its own worldwide id; the sender's is kept with the "
                                    f"report"})
        incoming_wwid = None
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
            sender_case_key=norm_id(report.sender_case_id),
            site_id=report.site_id, serious=data.is_serious())
        first_received = PartialDate.from_date(received_day)
        original = _original_first_receipt(session, report, data, received_day)
        if original is not None:
            first_received = original
    else:
        first = case_from_json(session.execute(_FIRST_VERSION_DATA, {"case_id": case.id}
                                               ).scalar_one()).admin
        first_received = first.first_received if isinstance(first.first_received,
                                                            PartialDate) else None
        own_id = _text(first.sender_safety_report_id) or case.worldwide_case_id
    assert decision.version is not None and decision.kind is not None
    hold_locked_case(session, case)  # found FOR UPDATE (``_case_named``) or inserted above
    # Before C.1 becomes ours: the sender's C.1.4/C.1.5 are its own receipt dates.
    receipts = report_receipts(
        sponsor, channel=report.channel, sender=report.sender, received_at=report.received_at,
        data=data, follow_up=decision.version > 1)
    _fill_admin(data, case, own_id, first_received, received_day)
    cv = add_version(session, case, version=decision.version, kind=decision.kind,
                     report_id=report.id, data=data, received_at=report.received_at,
                     has_stages=has_stages, actor=ACTOR)
    report.receipts = receipts  # after the version's flush: one UPDATE with the status
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
    findings = [{"code": "worldwide_id_not_yours", "criterion": "C.1.8.1",
                 "message": f"C.1.8.1 {foreign_wwid} names a case this sender has not "
                            f"reported: the report became a new case, "
                            f"{case.case_number}"}] if foreign_wwid else None
    set_status(session, report, ReportStatus.PROCESSED, actor=ACTOR, case_id=case.id,
               case_version_id=cv.id, findings=[*read, *too_long, *(findings or [])],
               reason=findings[0]["message"] if findings else None)
    if report.sender_case_id:
        version_made(session, sponsor_id=report.sponsor_id, site_id=report.site_id,
                     sender_case_id=report.sender_case_id, case_id=case.id,
                     report_id=report.id, actor=ACTOR)
    return ProcessingResult(ReportStatus.PROCESSED, case.id, cv.id,
                            created_case=decision.version == 1,
                            next_in_stream=next_in_stream(session, report))


_FIRST_VERSION_DATA = select(CaseVersion.data).where(CaseVersion.case_id == bindparam("case_id"),
                                                    CaseVersion.version == 1)


def _original_first_receipt(session: Session, report: Report, data: CaseVersionData,
                            received_day: date) -> PartialDate | None:
    """A migrated E2B report's own C.1.4 (the day the case was first received, before the
    information of this message, C.1.5): a migrated case keeps it, its clocks count from it
    (``safety.rules.evaluation``). Only a full date no later than this receipt; a report that
    came in live never keeps a sender's C.1.4 here (the receipt is ours)."""
    if report.channel != "e2b" or migration_of(session, report.id) is None:
        return None
    c14 = data.admin.first_received
    if not isinstance(c14, PartialDate):
        return None
    day = c14.to_date()
    if day is None or day > received_day:
        return None
    return PartialDate.from_date(day)


def processing_failed(session: Session, report_id: uuid.UUID, error: str, *,
                      final: bool) -> None:
    """An attempt failed: the report keeps the error; after the last attempt it is
    ``failed`` (audited), for an operator to see and retry."""
    report = session.get(Report, report_id)
    if report is None or report.status in DONE:
        return
    record_failure(session, report, error, final=final, actor=ACTOR)
    if report.status == ReportStatus.FAILED:
        refresh_waiting(session, report)


def refresh_waiting(session: Session, report: Report) -> None:
    """Tell the reports of ``report``'s stream that wait behind it why they wait now (it
    failed, or an operator retried it), so that each one's status says so."""
    if not report.sender_case_id:
        return
    behind = session.execute(
        select(Report).where(STREAM, Report.received_at > report.received_at,
                             Report.status == ReportStatus.RECEIVED), stream_of(report)
    ).scalars()
    for later in behind:
        mark_waiting(session, later, waiting_reason(report), actor=ACTOR)


def waiting_reports(session: Session, received_before: datetime,
                    limit: int = 10_000) -> list[uuid.UUID]:
    """Reports stored but not processed (Redis was down, a worker died), oldest first; not
    those whose stream waits for a failed report (they wait, visibly, for an operator).

    ``received_before`` is the sweep's grace: a report stored since then still has its own
    job coming. A migrated report's ``received_at`` is its original receipt, years ago, so
    its grace counts from its import instead: otherwise every sweep during a migration would
    look up the job of every report the import had just queued."""
    earlier = aliased(Report)
    blocked = select(earlier.id).where(
        earlier.sponsor_id == Report.sponsor_id, earlier.sender == Report.sender,
        earlier.sender_case_id == Report.sender_case_id,
        earlier.received_at < Report.received_at,
        earlier.status == ReportStatus.FAILED).exists()
    imported_since = select(MigratedReport.report_id).where(
        MigratedReport.report_id == Report.id,
        MigratedReport.imported_at > received_before).exists()
    return list(session.execute(
        select(Report.id).where(Report.status == ReportStatus.RECEIVED,
                                Report.received_at <= received_before, ~imported_since,
                                ~blocked)
        .order_by(Report.received_at).limit(limit)).scalars())


def _case_named(session: Session, report: Report,
                data: CaseVersionData) -> tuple[Case | None, str | None]:
    """The case this report is a version of, and the C.1.8.1 it named that is another
    sender's case (``None`` when not).

    The sender's own case id first (the sender is the authenticated client, see
    ``intake.service.Submitter``); then C.1.8.1, but only for a case this same sender has
    reported: a worldwide id is guessable, so naming one is no right to add versions to the
    case of another site or partner. Such a report becomes the sender's own new case (and
    duplicate screening may offer the two to a person)."""
    if report.sender_case_id:
        key = norm_id(report.sender_case_id)
        case = session.execute(_SENDERS_CASE if key else _SENDERS_CASE_EXACT, {
            "sponsor_id": report.sponsor_id, "sender": report.sender,
            "sender_case_id": report.sender_case_id, "key": key}).scalar_one_or_none()
        if case is not None:
            return case, None
    incoming_wwid = _text(data.admin.worldwide_case_id)
    if not incoming_wwid:
        return None, None
    case = session.execute(_CASE_OF_WWID, {"sponsor_id": report.sponsor_id,
                                           "wwid": incoming_wwid}).scalar_one_or_none()
    if case is None:
        return None, None
    if case.sender == report.sender or _has_reported(session, case, report.sender):
        return case, None
    return None, incoming_wwid


def _senders_case(by_key: bool) -> Select[Case]:
    """The sender's case of that id; else (``by_key``) the earliest with the same id written
    in another case or punctuation (``acme/2024-17``): one statement, the exact one first (the
    id is unique per sender), only the row returned locked."""
    exact = Case.sender_case_id == bindparam("sender_case_id")
    return (select(Case).where(Case.sponsor_id == bindparam("sponsor_id"),
                               Case.sender == bindparam("sender"),
                               or_(exact, Case.sender_case_key == bindparam("key")) if by_key
                               else exact)
            .order_by(case_when((exact, 0), else_=1), Case.created_at).limit(1)
            .with_for_update())


# The statements every report's job runs, built once: building and keying a statement cost
# about what running it did (issue 20).
_SENDERS_CASE, _SENDERS_CASE_EXACT = _senders_case(True), _senders_case(False)
_CASE_OF_WWID = select(Case).where(Case.sponsor_id == bindparam("sponsor_id"),
                                   Case.worldwide_case_id == bindparam("wwid")).with_for_update()


def _has_reported(session: Session, case: Case, sender: str) -> bool:
    """Whether ``sender`` has a processed report on ``case`` (a version of its own)."""
    return session.execute(
        select(Report.id).where(Report.case_id == case.id, Report.sender == sender,
                                Report.status == ReportStatus.PROCESSED).limit(1)
    ).first() is not None


def _sender_latest(session: Session, case: Case, report: Report) -> PriorReport | None:
    """The sender's latest processed report on the case (only it counts for a re-send:
    content going back to an earlier report after a change is a correction)."""
    row = session.execute(_SENDER_LATEST, {
        "case_id": case.id, "report_id": report.id, "sender": report.sender,
        "received_at": report.received_at}).first()
    if row is None:
        return None
    latest, version = row
    if latest.case_version_id is None or version is None:
        return None
    return PriorReport(str(latest.id), latest.payload_sha256, latest.payload, version)


_SENDER_LATEST = (
    select(Report, CaseVersion.version)  # with its version's number: one statement
    .outerjoin(CaseVersion, CaseVersion.id == Report.case_version_id)
    .where(Report.case_id == bindparam("case_id"), Report.id != bindparam("report_id"),
           Report.sender == bindparam("sender"), Report.status == ReportStatus.PROCESSED,
           Report.received_at <= bindparam("received_at"))
    .order_by(Report.received_at.desc()).limit(1))


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
    _keep_sender_case_id(data, own_id)
    admin.sender_safety_report_id = own_id
    admin.worldwide_case_id = case.worldwide_case_id
    admin.first_received = first if first is not None else latest
    admin.most_recent_received = latest
    admin.first_sender = admin.first_sender or "2"  # C.1.8.2: 2 = other (not a regulator)


def _keep_sender_case_id(data: CaseVersionData, own_id: str) -> None:
    """The sender's own case id, replaced by ours in C.1.1, is kept as a C.1.9.1.r citation
    (source: the sender), as ICH E2B(R3) C.1.9.1 asks of a retransmission: so a later report
    that cites the sender's case number, and the duplicate screening, still find this case."""
    admin = data.admin
    theirs = _text(admin.sender_safety_report_id)
    if theirs is None or norm_id(theirs) == norm_id(own_id):
        return
    source = _text(data.sender.organisation)
    if source is None:
        return  # a site's form: the site is the primary source, not an earlier sender
    if any(norm_id(o.case_id) == norm_id(theirs) for o in admin.other_case_ids):
        return
    admin.other_case_ids.append(OtherCaseId(source=source, case_id=theirs))
    admin.other_case_ids_exist = True


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and not isinstance(value, NullFlavor) and value \
        else None


def _blocker(session: Session, report: Report) -> Report | None:
    """The earliest earlier report of the same stream that is not done: still waiting for a
    worker, or failed (then the stream waits for an operator to retry or discard it). Other
    senders' streams never wait for it.

    FOR KEY SHARE waits for a worker processing that report (it holds the row FOR UPDATE)
    to commit, and then sees what it became, so the two cannot miss each other's hand-over;
    it does not conflict with a failure being recorded (FOR NO KEY UPDATE)."""
    return session.execute(_BLOCKER, {**stream_of(report), "received_at": report.received_at}
                           ).scalar_one_or_none()


_BLOCKER = (
    select(Report).where(STREAM, Report.received_at < bindparam("received_at"),
                         Report.status.in_([ReportStatus.RECEIVED, ReportStatus.FAILED]))
    .order_by(Report.received_at).limit(1).with_for_update(read=True, key_share=True)
    .options(defer(Report.raw), defer(Report.payload)))  # what a wait says needs neither


def waiting_reason(blocker: Report) -> str:
    """Why a report waits for ``blocker``: what its status view and the operations page show."""
    if blocker.status == ReportStatus.FAILED:
        return (f"{WAITING}: waiting for failed report {blocker.id}: "
                f"{public_reason(blocker.last_error) or 'no error recorded'}")
    return f"{WAITING}: waiting for earlier report {blocker.id} (not processed yet)"


def not_done(session: Session, report_id: uuid.UUID) -> bool:
    """Whether a report another one waits for is still not done (waiting for a worker, or
    failed). Asked again after a report was put to wait: on SQLite a read does not wait for
    the worker processing that report (no row locks), so it may have been done meanwhile,
    and its hand-over skipped the waiting report's job, which was still running."""
    status = session.execute(select(Report.status).where(Report.id == report_id)
                             ).scalar_one_or_none()
    return status in (ReportStatus.RECEIVED, ReportStatus.FAILED)


def migrated_among(session: Session, report_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these reports came in by a migration: their jobs go on the low-priority
    queue (``Settings.effective_bulk_queue``) whoever enqueues them again (the sweep, a
    stream handing over), so a migration's backlog never overtakes live reports."""
    if not report_ids:
        return set()
    return set(session.execute(_MIGRATED_AMONG, {"ids": list(report_ids)}).scalars())


_MIGRATED_AMONG = select(MigratedReport.report_id).where(
    MigratedReport.report_id.in_(bindparam("ids", expanding=True)))


def migrated_versions(session: Session, version_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these case versions a migrated report made (see :func:`migrated_among`)."""
    if not version_ids:
        return set()
    found = session.execute(
        select(Report.case_version_id).join(MigratedReport,
                                            MigratedReport.report_id == Report.id)
        .where(Report.case_version_id.in_(list(version_ids)))).scalars()
    return {cv_id for cv_id in found if cv_id is not None}


def next_in_stream(session: Session, report: Report) -> uuid.UUID | None:
    """The earliest later report of ``report``'s stream still to be processed: it was waiting
    for this one (or for one before it) and may go on now."""
    if not report.sender_case_id:
        return None
    found: uuid.UUID | None = session.execute(
        _NEXT_IN_STREAM, {**stream_of(report), "received_at": report.received_at}
    ).scalar_one_or_none()
    return found


_NEXT_IN_STREAM = (select(Report.id).where(STREAM, Report.received_at > bindparam("received_at"),
                                           Report.status == ReportStatus.RECEIVED)
                   .order_by(Report.received_at).limit(1))


def _country(data: CaseVersionData) -> str:
    for r in data.reactions:
        if isinstance(r.country, str) and r.country:
            return r.country
    for rep in data.reporters:
        if isinstance(rep.country, str) and rep.country:
            return rep.country
    return "XX"


def ask_held_reports(session: Session, settings: Settings, *,
                     now: datetime | None = None) -> int:
    """Ask the senders of reports held for missing minimum criteria before such findings
    became questions (migration 0008) for what is missing, as :func:`process_report` asks
    now (ICH E2D(R1) 5.1; GVP VI.B.2: "the sender is asked for the missing information").
    How many questions were raised.

    Run after every ``safety db upgrade`` (and when the embedded database migrates itself),
    so it must be idempotent: a held report is asked about only when no question names it
    and no minimum-criteria question was ever raised on its SAE (open, answered or closed:
    a site is not asked again what it answered). The questions are due the configured number
    of days from today: the site is asked today, not when the report came in."""
    asked_report = exists().where(Question.report_id == Report.id)
    asked_stream = exists().where(
        Question.source == QuestionSource.MINIMUM_CRITERIA,
        Question.sponsor_id == Report.sponsor_id,
        Question.sender_case_id == Report.sender_case_id,
        or_(Question.site_id == Report.site_id,
            and_(Question.site_id.is_(None), Report.site_id.is_(None))))
    held = session.scalars(
        select(Report).where(Report.status == ReportStatus.HELD, ~asked_report,
                             Report.sender_case_id.is_(None) | ~asked_stream)
        .order_by(Report.received_at, Report.id)).all()
    at = now or datetime.now(UTC)
    raised = 0
    for report in held:
        findings = [f for f in report.findings or []
                    if isinstance(f, dict) and f.get("code") in CRITERION_FIELDS]
        if not findings:
            continue  # held for another reason (a nullified case named): nothing to ask
        today = at.astimezone(profile(session, report.sponsor_id).zone).date()
        raised += len(raise_findings(
            session, HeldReport(report.id, report.sponsor_id, report.site_id,
                                report.sender_case_id),
            findings, actor=ACTOR, today=today, days=settings.question_due_days))
    return raised

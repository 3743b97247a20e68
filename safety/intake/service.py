"""The one way a report enters: the API (JSON and E2B XML), the site portal, ``safety import``
and ``safety demo`` all build their reports here and store them with :func:`submit`.

A report is committed, with its audit event, before anyone is told it was received (the
regulatory clock may start then); only then is it handed to processing, by the dispatcher the
caller provides (the web app's relay thread, or a direct enqueue). If that hand-over fails the
report is still stored, as ``received``, and the periodic sweep hands it over later.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.scope import Scope
from safety.cases.store import Case, CaseVersion
from safety.cases.values import PartialDate
from safety.cases.workflow import STATE_LABELS, CaseState
from safety.intake.channels import payload_to_case
from safety.intake.e2b_batch import E2BMessage, split_batch
from safety.intake.failure import public_reason
from safety.intake.invalid import SenderNotBound
from safety.intake.manifest import receipt_instant
from safety.intake.schemas import SAEFormSchema
from safety.intake.status import ReportStatus
from safety.intake.store import (
    Incoming,
    Migration,
    PortalDraft,
    Report,
    StoredReport,
    drop_draft,
    get_draft,
    put_draft,
    store_rejected,
    store_report,
    text_limits,
)
from safety.questions.service import answer as answer_question
from safety.questions.service import questions_for
from safety.questions.status import QuestionError, QuestionStatus
from safety.questions.store import Question

# One instance for the process: building a nested marshmallow schema costs more than
# validating a form with it, and load() keeps no state between calls.
SAE_FORM = SAEFormSchema()


def checked_forms(data: Any) -> tuple[list[dict[str, Any]], list[tuple[int, Any]]]:
    """The SAE forms of a file (one form or a list) that pass the form's contract, and the
    others as (index, marshmallow's messages): a file's valid forms are stored, its invalid
    ones refused with their reasons (``safety import``, a migration's forms)."""
    valid: list[dict[str, Any]] = []
    refused: list[tuple[int, Any]] = []
    for i, form in enumerate(data if isinstance(data, list) else [data]):
        try:
            SAE_FORM.load(form)
        except ValidationError as err:
            refused.append((i, err.messages))
            continue
        valid.append(form)
    return valid, refused


class Dispatch(Protocol):
    """Hands stored reports to processing (``safety.pipeline.dispatch``)."""

    def __call__(self, report_ids: Sequence[uuid.UUID], *, fresh: bool) -> None:
        """``fresh``: just stored, so no job can exist for them yet."""


@dataclass(frozen=True)
class Submitter:
    """Who submits, as the report records it: the authenticated API client or web user."""

    actor: str
    sender: str  # site:<id> for a site's reports, client:<id> for a safety-team client
    site_id: int | None
    sponsor_id: int  # whose report it is: every report belongs to one sponsor
    client_id: int | None = None  # idempotency keys are per API client
    # The E2B senders (N.2.r.2) a partner client is bound to; None for whoever may relay any
    # partner's messages (a safety-team client, the operator's ``safety import``).
    e2b_senders: frozenset[str] | None = None

    def e2b_sender(self, m: E2BMessage) -> str:
        """Who an E2B message is from, as its report records it: never taken from the XML
        alone. A site's messages are the site's (``site:<id>``) whatever N.2.r.2 says; a
        partner's are its N.2.r.2 only when the client is bound to it (else
        :class:`SenderNotBound` is raised by :func:`e2b_reports`)."""
        if self.site_id is not None:
            return self.sender
        return m.sender


@dataclass(frozen=True)
class Accepted:
    report: StoredReport
    created: bool
    message_id: str | None = None  # the E2B message the report came from


def site_form_report(submitter: Submitter, body: Any, raw: bytes | None = None, *,
                     content_type: str = "application/json",
                     idempotency_key: str | None = None) -> Incoming:
    """An SAE form as a report: validated by its contract (``marshmallow.ValidationError``
    names every bad field), kept exactly as it came: ``raw`` is the body ``body`` was parsed
    from (an API request's), which is then also the text its payload is stored from."""
    form = SAE_FORM.load(body)
    text: str | None
    if raw is None:
        text = json.dumps(body, ensure_ascii=False)
        raw = text.encode()
    else:
        text = _utf8_json(raw)
    return Incoming(
        channel="site_form", content_type=content_type, raw=raw, payload=body,
        sender=submitter.sender, sender_case_id=form["sae_id"],
        site_id=submitter.site_id, sponsor_id=submitter.sponsor_id,
        idempotency_key=idempotency_key, payload_json=text)


def _utf8_json(raw: bytes) -> str | None:
    """The JSON body a form was read from, as text PostgreSQL reads into the same ``jsonb``:
    UTF-8 without a byte-order mark (what a JSON client sends; a NUL byte cannot be in it).
    None for another encoding (JSON may come as UTF-16 or UTF-32, or with a BOM, which
    Python's reader accepts and PostgreSQL's does not): the payload is serialised then."""
    if raw.startswith(b"\xef\xbb\xbf") or b"\x00" in raw:  # a BOM; UTF-16 or UTF-32
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def migrated(incoming: Incoming, when: date | datetime, zone: ZoneInfo, position: int, *,
             source: str, original_sender: str | None = None,
             submitted: dict[str, date] | None = None, run_id: uuid.UUID | None = None,
             run_item: int | None = None) -> Incoming:
    """``incoming`` as a migration brings it in: received at its original receipt ``when``
    (a date: the start of that day in the sponsor's ``zone``; ``position`` keeps the import's
    order among reports of one day), with what the manifest said of it (``run_id``,
    ``run_item``: a migration client's run and submission)."""
    return replace(incoming, received_at=receipt_instant(when, zone, position),
                   migration=Migration(source=source, original_sender=original_sender,
                                       submitted={k: d.isoformat() for k, d in
                                                  submitted.items()} if submitted else None,
                                       run_id=run_id, run_item=run_item))


def original_receipt(incoming: Incoming) -> date | datetime | None:
    """When an E2B message says its information was received: C.1.5 (most recent
    information), else C.1.4 (first received); an instant when it gives a time with its
    offset, else its day; ``None`` when it gives no full date."""
    admin = payload_to_case(incoming.channel, incoming.payload).admin
    for value in (admin.most_recent_received, admin.first_received):
        if not isinstance(value, PartialDate):
            continue
        instant = value.to_datetime()
        if instant is not None and instant.tzinfo is not None:
            return instant
        day = value.to_date()
        if day is not None:
            return day
    return None


def e2b_reports(submitter: Submitter, raw: bytes, *, content_type: str = "application/xml",
                idempotency_key: str | None = None) -> list[tuple[Incoming, str | None]]:
    """Each ICSR message of an E2B(R3) batch as a report, with its message id; raises
    ``safety.e2b.hl7.E2BError`` for what is not a readable batch; a value longer than its
    column is stored all the same, with a finding (:func:`_fitted`). The sender is the message's
    sender as the submitter is entitled to name it (:meth:`Submitter.e2b_sender`), the
    sender's case id C.1.1; C.1.8.1 travels inside the case data. Raises
    :class:`SenderNotBound` naming each message whose N.2.r.2 a partner client is not bound
    to."""
    out = []
    foreign: dict[str, Any] = {}
    for m in split_batch(raw):
        m = _fitted(m)
        if (submitter.site_id is None and submitter.e2b_senders is not None
                and m.sender.removeprefix("e2b:") not in submitter.e2b_senders):
            foreign[f"message {m.index + 1}"] = {_sender_element(m): [
                f"{m.sender.removeprefix('e2b:')!r} is not a sender this client is bound to "
                f"(bound: {', '.join(sorted(submitter.e2b_senders)) or 'none'})."]}
        out.append((Incoming(
            channel="e2b", content_type=content_type, raw=raw, payload=m.payload,
            sender=submitter.e2b_sender(m), sender_case_id=m.sender_case_id,
            site_id=submitter.site_id,
            sponsor_id=submitter.sponsor_id,
            idempotency_key=message_key(idempotency_key, m.index),
        ), m.message_id))
    if foreign:
        raise SenderNotBound({"xml": foreign})
    return out


def _sender_element(m: E2BMessage) -> str:
    """The element that names the message's sender: N.2.r.2, or the batch's N.1.3 when the
    message names none."""
    return "N.2.r.2" if m.payload["header"].get("message_sender") else "N.1.3"


def reject_e2b(url: str, submitter: Submitter, raw: bytes, where: str, reason: str, *,
               content_type: str = "application/xml",
               idempotency_key: str | None = None,
               migration: Migration | None = None) -> Accepted:
    """An inbound message that is not a readable ICSR batch (``E2BError``: not XML, a DOCTYPE,
    another root element, no message): stored raw as one report, ``rejected`` with the
    reason, so nothing sent is lost and the team sees it (and the sender gets an AR ACK).
    Never processed."""
    why = f"not a readable E2B(R3) batch: {where}: {reason}"
    incoming = Incoming(
        channel="e2b", content_type=content_type, raw=raw,
        payload={"rejected": {"where": where, "reason": reason}, "findings": []},
        sender=submitter.sender, sender_case_id=None, site_id=submitter.site_id,
        sponsor_id=submitter.sponsor_id, idempotency_key=message_key(idempotency_key, 0),
        migration=migration)
    stored, created = store_rejected(
        url, incoming, submitter.client_id, submitter.actor, reason=why,
        findings=[{"code": "e2b-rejected", "criterion": where, "message": reason}])
    return Accepted(stored, created)


_REPORT_LIMITS = text_limits()


def _fitted(m: E2BMessage) -> E2BMessage:
    """Message ``m`` with its identifiers fitted to the report's columns, never refused.

    The columns hold what the ICH IG allows (C.1.1 100, N.2.r.2 and N.1.3 60 characters; the
    ``reports`` columns 200): a longer value breaks the IG, which the conformance check already
    reports (``e2b-length``), but it is the partner's report all the same and is stored. The
    column then holds ``sha256:`` and the value's digest (the same value gives the same digest,
    so its follow-ups still find the case), the full value stays in the report's payload and
    case data, and a finding says so. C.1.8.1 is fitted when the case is made
    (``safety.intake.processing``)."""
    found: list[dict[str, str]] = []
    sender_id = m.sender.removeprefix("e2b:")
    sender_limit = _REPORT_LIMITS["sender"] - len("e2b:")
    if len(sender_id) > sender_limit:
        found.append(_digest_finding(_sender_element(m), sender_id, sender_limit))
        sender_id = _digest(sender_id)
    case_id = m.sender_case_id
    if case_id is not None and len(case_id) > _REPORT_LIMITS["sender_case_id"]:
        found.append(_digest_finding("C.1.1", case_id, _REPORT_LIMITS["sender_case_id"]))
        case_id = _digest(case_id)
    if not found:
        return m
    payload = {**m.payload, "findings": [*m.payload.get("findings", []), *found]}
    return replace(m, sender=f"e2b:{sender_id}", sender_case_id=case_id, payload=payload)


def _digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _digest_finding(element: str, value: str, limit: int) -> dict[str, str]:
    return {"code": "e2b-length", "criterion": element,
            "message": f"warning: {element} is {len(value)} characters, more than the "
                       f"{limit} the report's index holds: indexed by its SHA-256 "
                       f"({_digest(value)}); the full value is kept with the report"}


def message_key(key: str | None, index: int) -> str | None:
    """The ``Idempotency-Key`` of message ``index`` of a batch sent with ``key``: the key and
    the index, or, when that would not fit the column, the key's SHA-256 and the index."""
    if key is None:
        return None
    derived = f"{key}#{index}"
    if len(derived) <= _REPORT_LIMITS["idempotency_key"]:
        return derived
    return f"sha256:{hashlib.sha256(key.encode()).hexdigest()}#{index}"


def submit(url: str, reports: Sequence[Incoming | tuple[Incoming, str | None]],
           submitter: Submitter, dispatch: Dispatch) -> list[Accepted]:
    """Store the reports of one submission together, all of them or none (committed before
    this returns), then hand the new ones, and any earlier one still waiting, to processing.
    ``IdempotencyConflict`` when a key was used before for another body,
    :class:`InvalidSubmission` when a value does not fit what is stored: nothing is stored
    then."""
    items = [item if isinstance(item, tuple) else (item, None) for item in reports]
    stored = store_report(url, [incoming for incoming, _ in items], submitter.client_id,
                          submitter.actor)
    accepted = [Accepted(report, created, message_id)
                for (report, created), (_, message_id) in zip(stored, items, strict=True)]
    fresh = [a.report.id for a in accepted if a.created]
    waiting = [a.report.id for a in accepted
               if not a.created and a.report.status == ReportStatus.RECEIVED]
    if fresh:
        dispatch(fresh, fresh=True)
    if waiting:
        dispatch(waiting, fresh=False)
    return accepted


def visible_report(session: Session, report_id: uuid.UUID, scope: Scope) -> Report | None:
    report = session.get(Report, report_id)
    if report is None or not scope.can_see(report.sponsor_id, report.site_id):
        return None
    return report


def site_reports(session: Session, scope: Scope, *,
                 sae_id: str | None = None) -> list[Report]:
    """A site's reports (of one SAE id, or all), newest first."""
    stmt = select(Report).where(Report.site_id == scope.site_id)
    if sae_id is not None:
        stmt = stmt.where(Report.sender_case_id == sae_id)
    if scope.sponsor_ids is not None:
        stmt = stmt.where(Report.sponsor_id.in_(scope.sponsor_ids))
    return list(session.execute(stmt.order_by(Report.received_at.desc())).scalars())


def listed_reports(session: Session, scope: Scope, *, status: ReportStatus | None,
                   limit: int) -> list[Report]:
    """The reports ``scope`` may see, newest first, optionally of one status (e.g. the
    ``rejected`` messages the team must look at)."""
    stmt = select(Report)
    if scope.sponsor_ids is not None:
        stmt = stmt.where(Report.sponsor_id.in_(scope.sponsor_ids))
    if scope.site_id is not None:
        stmt = stmt.where(Report.site_id == scope.site_id)
    if status is not None:
        stmt = stmt.where(Report.status == status)
    return list(session.execute(stmt.order_by(Report.received_at.desc()).limit(limit))
                .scalars())


def report_view(report: Report) -> dict[str, Any]:
    return {
        "report_id": str(report.id),
        "channel": report.channel,
        "sender_case_id": report.sender_case_id,
        "received_at": report.received_at,
        "status": report.status,
        "findings": report.findings or [],
        "attempts": report.attempts,
        "last_error": public_reason(report.last_error),  # the full error is in the logs
        "processed_at": report.processed_at,
        "case_id": str(report.case_id) if report.case_id else None,
        "case_version_id": str(report.case_version_id) if report.case_version_id else None,
    }


def report_statuses(session: Session, report_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {rid: str(status) for rid, status in session.execute(
        select(Report.id, Report.status).where(Report.id.in_(list(report_ids))))}


# --- the site's loop: what it last sent, follow-ups, drafts -----------------------------------


class FollowUpRefused(ValueError):
    """A follow-up that cannot be sent as a new version of the SAE; ``errors`` name the form
    fields (as marshmallow's messages do)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def last_sent(session: Session, report_id: uuid.UUID, scope: Scope) -> Report | None:
    """The latest report the site sent of the same SAE as ``report_id`` (same sponsor, sender
    and SAE id, not one rejected at the door): the case as the site last saw it, which a
    follow-up starts from. None when ``scope`` may not see the report or it is no form."""
    report = visible_report(session, report_id, scope)
    if report is None or report.channel != "site_form" or not report.sender_case_id:
        return None
    latest: Report | None = session.execute(
        select(Report).where(Report.sponsor_id == report.sponsor_id,
                             Report.sender == report.sender,
                             Report.sender_case_id == report.sender_case_id,
                             Report.channel == "site_form",
                             Report.status != ReportStatus.REJECTED)
        .order_by(Report.received_at.desc()).limit(1)).scalar_one_or_none()
    return latest


def follow_up_body(last: Report, body: dict[str, Any]) -> dict[str, Any]:
    """The form as a follow-up of ``last``'s SAE: the SAE id is the one the site sent before
    (a follow-up never starts another case) and the report type says follow-up.
    :class:`FollowUpRefused` for another SAE id or a form identical to ``last``."""
    sae_id = body.get("sae_id")
    if sae_id not in (None, last.sender_case_id):
        raise FollowUpRefused({"sae_id": [
            f"A follow-up keeps the SAE id {last.sender_case_id!r}; to report another SAE, "
            "submit a new report."]})
    out = {**body, "sae_id": last.sender_case_id, "report_type": "followup"}
    before = {k: v for k, v in (last.payload or {}).items() if k != "report_type"}
    if {k: v for k, v in out.items() if k != "report_type"} == before:
        raise FollowUpRefused({"_schema": [
            "Nothing changed since the report you sent last: change what is new before "
            "sending a follow-up."]})
    return out


def send_follow_up(session: Session, url: str, submitter: Submitter, body: dict[str, Any],
                   dispatch: Dispatch, *, question: Question | None = None,
                   answer_text: str | None = None) -> Accepted:
    """Store the follow-up (committed, then dispatched, as every report); then, in the
    caller's transaction, record it as the answer to ``question``. The report comes first:
    the clock runs from its receipt, and a question left open is visible and can still be
    answered, whereas a report must never be lost to a failed answer."""
    accepted = submit(url, [site_form_report(submitter, body)], submitter, dispatch)[0]
    if question is not None:
        answer_question(session, question, actor=submitter.actor, text=answer_text,
                        report_id=accepted.report.id)
    return accepted


def site_questions(session: Session, scope: Scope, *, sae_id: str | None = None,
                   open_only: bool = False) -> list[Question]:
    """The questions to the site (of one SAE, or all), most urgent first."""
    return questions_for(session, scope, sender_case_id=sae_id,
                         statuses=(QuestionStatus.OPEN,) if open_only else ())


def report_case(session: Session, report: Report) -> dict[str, Any] | None:
    """What became of the site's report, in the team's words: the case number, its review
    state, the version this report made and the case's current version."""
    if report.case_id is None:
        return None
    case = session.get(Case, report.case_id)
    if case is None:
        return None
    version = session.execute(select(CaseVersion.version).where(
        CaseVersion.id == report.case_version_id)).scalar_one_or_none() \
        if report.case_version_id else None
    return {"case_number": case.case_number, "state": STATE_LABELS[CaseState(case.state)],
            "version": version, "current_version": case.current_version}


def answer_versions(session: Session, questions: Sequence[Question]) -> dict[uuid.UUID, int]:
    """For each question answered with a follow-up: the case version that report made."""
    ids = [q.answer_report_id for q in questions if q.answer_report_id]
    if not ids:
        return {}
    rows = session.execute(select(Report.id, CaseVersion.version)
                           .join(CaseVersion, CaseVersion.id == Report.case_version_id)
                           .where(Report.id.in_(ids))).all()
    by_report = {rid: v for rid, v in rows}
    return {q.id: by_report[q.answer_report_id] for q in questions
            if q.answer_report_id in by_report}


def draft_fields(session: Session, user_id: int, form_key: str) -> list[list[str]] | None:
    draft: PortalDraft | None = get_draft(session, user_id, form_key)
    return None if draft is None else list(draft.fields)


DRAFT_LIMIT = 500_000  # characters of one draft: a form, never a file


def save_draft(session: Session, *, user_id: int, sponsor_id: int, site_id: int | None,
               form_key: str, fields: Sequence[tuple[str, str]]) -> int:
    """Keep what the user typed (the CSRF token left out); return how many fields. A draft
    larger than any form is refused (ValueError)."""
    pairs = [[k, v] for k, v in fields if k != "csrf_token" and "\x00" not in v]
    if sum(len(k) + len(v) for k, v in pairs) > DRAFT_LIMIT:
        raise ValueError(f"a draft holds at most {DRAFT_LIMIT} characters")
    put_draft(session, user_id=user_id, sponsor_id=sponsor_id, site_id=site_id,
              form_key=form_key, fields=pairs)
    return len(pairs)


def discard_draft(session: Session, user_id: int, form_key: str) -> None:
    drop_draft(session, user_id, form_key)


def answer_with_report(session: Session, q: Question, scope: Scope, *, actor: str,
                       text: str | None, report_id: uuid.UUID | None) -> None:
    """A site's answer through the API: text, and/or a follow-up it already sent (a report of
    the same SAE from the same site, or the answer names nothing it may point at)."""
    if report_id is not None:
        report = visible_report(session, report_id, scope)
        if report is None or report.sender_case_id != q.sender_case_id \
                or report.site_id != q.site_id:
            raise QuestionError("report_id", "names no report of this SAE from your site")
    answer_question(session, q, actor=actor, text=text, report_id=report_id)

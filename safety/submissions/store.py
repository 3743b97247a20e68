"""Submissions: one E2B message per obligation destination and case version, and its fate.

States: ``draft`` (conformant, waiting for medical approval), ``invalid`` (the conformance
checker found errors: never sent), ``ready`` (approved and signed: in the outbox), ``sent``,
``acknowledged`` (CA/AA), ``rejected`` (CR/AR, with the regulator's reason; the obligation
is open again and its clock keeps running) and ``withdrawn`` (never sent: the case was
nullified before it left).

Lifecycle (ICH E2B(R3) C.1.5, C.1.8.1, C.1.11; ``safety.e2b.lifecycle``): a message to a
regulator that already holds a transmission of the case (``sent`` or ``acknowledged``) is
derived from the last one transmitted, as the regulator has it (the stored XML read back): a
follow-up keeps C.1.8.1 and moves C.1.5 on, an amendment keeps C.1.5 and says why in C.1.11.2, a
nullification ends the case. A submission's kind is in its message (C.1.11.1) and its
timeline, so no column records it.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.audit.store import record
from safety.cases.model import CaseVersionData
from safety.cases.store import Case, CaseVersion, current_version, working_data
from safety.cases.values import PartialDate
from safety.config import Settings
from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow
from safety.e2b.ack import BatchAck
from safety.e2b.export import export_case
from safety.e2b.lifecycle import AMENDED, NULLIFIED, LifecycleError, ReportKind
from safety.e2b.lifecycle import prepare as lifecycle_prepare
from safety.e2b.reader import read_admin, read_batch
from safety.e2b.writer import ExportHeader
from safety.submissions.prepare import prepare
from safety.submissions.routing import e2b_key, region_for
from safety.submissions.sender import load_sender_profile

STATES = ("draft", "invalid", "ready", "sent", "acknowledged", "rejected", "withdrawn")
TRANSMITTED = ("sent", "acknowledged")  # the regulator holds it
UNSENT = ("draft", "invalid", "ready")
NULLIFIED_CASE = "nullified"  # the workflow state after which nothing is drafted


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_state", "state"),
        Index("ix_submissions_batch", "batch_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    obligation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    destination: Mapped[str] = mapped_column(String(100))  # the regulator, as in obligations
    e2b_destination: Mapped[str | None] = mapped_column(String(40))
    profile: Mapped[str] = mapped_column(String(40))
    due: Mapped[date | None] = mapped_column()
    batch_id: Mapped[str | None] = mapped_column(String(100))
    message_id: Mapped[str | None] = mapped_column(String(100))
    receiver: Mapped[str | None] = mapped_column(String(100))
    xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    findings: Mapped[Any] = mapped_column(JSONDoc, default=list)
    notes: Mapped[Any] = mapped_column(JSONDoc, default=list)
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_code: Mapped[str | None] = mapped_column(String(4))
    ack_text: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


def build_message(session: Session, cv: CaseVersion, case: Case, region: str, days: int | None,
                  settings: Settings, now: datetime | None = None, *,
                  previous: Submission | None = None, kind: ReportKind | None = None,
                  reason: str | None = None) -> dict[str, Any]:
    """Export and check one message; returns the columns of a submission (not stored).

    ``previous`` is the last submission transmitted to this regulator: the message is then a
    follow-up (default), an amendment or a nullification of it, derived with
    ``safety.e2b.lifecycle``; without it the message is an initial report.
    """
    now = now or utcnow()
    kind = kind or (ReportKind.FOLLOW_UP if previous is not None else ReportKind.INITIAL)
    sender = load_sender_profile(settings.home / "sender.json")
    notes: list[str] = []
    before = transmitted_case(previous) if previous is not None else None
    if kind is ReportKind.NULLIFICATION and before is not None:
        # What the regulator holds, withdrawn: nothing new is sent with a nullification.
        data = copy.deepcopy(before)
        data.admin.creation_date = PartialDate.from_datetime(now)
    else:
        source = working_data(session, cv)
        source = _with_duplicate_citations(session, case, source, sender, notes)
        prepared = prepare(source, region=region, days=days, now=now, sender=sender)
        data = prepared.case
        notes = prepared.notes + notes
    key = e2b_key(region, data)
    if key is None:
        return {"e2b_destination": None, "profile": "ich", "xml": None, "state": "invalid",
                "findings": [{"element": "N.2.r.3", "xpath": "-", "rule": "receiver",
                              "message": f"no E2B gateway identifiers known for {region}; "
                                         "configure the receiver before sending",
                              "severity": "error"}],
                "notes": notes}
    try:
        data = _lifecycle(cv, data, before, kind, reason, settings, notes)
    except LifecycleError as exc:
        return {"e2b_destination": key, "profile": "ich", "xml": None, "state": "invalid",
                "findings": [lifecycle_finding(exc)], "notes": notes}
    if previous is not None:
        notes.append(f"{kind} of batch {previous.batch_id} (message {previous.message_id}, "
                     f"{previous.state} {previous.sent_at:%Y-%m-%d %H:%M} UTC)"
                     if previous.sent_at else f"{kind} of batch {previous.batch_id}")
    result = export_case(data, ExportHeader(sender_id=settings.org_code,
                                            destination=key, created=now))
    errors = [f for f in result.findings if f.severity == "error"]
    return {
        "e2b_destination": key, "profile": result.profile, "xml": result.xml,
        "batch_id": result.batch_id, "message_id": result.message_ids[0],
        "receiver": result.message_receiver,
        "findings": [asdict(f) for f in result.findings],
        "notes": notes,
        "state": "draft" if not errors else "invalid",
    }


def _lifecycle(cv: CaseVersion, data: CaseVersionData, before: CaseVersionData | None,
               kind: ReportKind, reason: str | None, settings: Settings,
               notes: list[str]) -> CaseVersionData:
    """C.1.5, C.1.8.1 and C.1.11 as the kind requires (``safety.e2b.lifecycle``)."""
    if kind is not ReportKind.FOLLOW_UP or before is None:
        return lifecycle_prepare(before, data, kind, reason=reason)
    new = data.admin.most_recent_received
    old = before.admin.most_recent_received
    if (isinstance(new, PartialDate) and isinstance(old, PartialDate)
            and new.to_date() is not None and new.to_date() == old.to_date()
            and new.hour is None):
        # Information received the day the regulator's version was: C.1.5 must still move on,
        # so it carries the time this version was received (local time with its offset).
        new = PartialDate.from_datetime(cv.received_at.astimezone(settings.zone))
        notes.append(f"C.1.5: follow-up received the same day as the transmitted version "
                     f"({old}); sent with its time of receipt {new}")
    out = lifecycle_prepare(before, data, kind, most_recent=new if isinstance(new, PartialDate)
                            else None)
    notes.append(f"C.1.8.1 {out.admin.worldwide_case_id} kept; C.1.5 {old} -> "
                 f"{out.admin.most_recent_received}")
    return out


def lifecycle_finding(exc: LifecycleError) -> dict[str, str]:
    """A lifecycle error as a conformance finding naming its element (C.1.x)."""
    found = re.match(r"(C\.[0-9.]+)", str(exc))
    return {"element": found.group(1) if found else "C.1.11.1", "xpath": "-",
            "rule": "lifecycle", "message": str(exc), "severity": "error"}


def transmitted_case(sub: Submission) -> CaseVersionData:
    """The case as the regulator holds it: the transmitted message read back."""
    if not sub.xml:
        raise LifecycleError(f"C.1.11: submission {sub.id} has no message to derive from")
    return read_batch(sub.xml)[0].case


def last_transmitted(session: Session, case_id: uuid.UUID, destination: str
                     ) -> Submission | None:
    """The last message this regulator holds for the case (sent or acknowledged)."""
    return session.scalar(select(Submission).where(
        Submission.case_id == case_id, Submission.destination == destination,
        Submission.state.in_(TRANSMITTED), Submission.xml.is_not(None))
        .order_by(Submission.sent_at.desc().nulls_last(), Submission.created_at.desc())
        .limit(1))


def message_lifecycle(sub: Submission) -> tuple[str | None, str | None]:
    """C.1.11.1 and C.1.11.2 of a stored message (None, None when it has none)."""
    if not sub.xml:
        return None, None
    admin = read_admin(sub.xml)
    reason = admin.nullification_reason
    return admin.nullification_code, reason if isinstance(reason, str) else None


def report_kind(session: Session, sub: Submission) -> str:
    """initial, follow-up, amendment or nullification, as the regulator will read it."""
    code, _ = message_lifecycle(sub)
    if code == NULLIFIED:
        return ReportKind.NULLIFICATION.value
    if code == AMENDED:
        return ReportKind.AMENDMENT.value
    earlier = session.scalar(select(Submission.id).where(
        Submission.case_id == sub.case_id, Submission.destination == sub.destination,
        Submission.id != sub.id, Submission.state.in_(TRANSMITTED),
        Submission.sent_at.is_not(None),
        Submission.sent_at <= (sub.sent_at or utcnow())).limit(1))
    return (ReportKind.FOLLOW_UP if earlier is not None else ReportKind.INITIAL).value


def _with_duplicate_citations(session: Session, case: Case, data: CaseVersionData,
                              sender: Any, notes: list[str]) -> CaseVersionData:
    """A master case cites the duplicates a physician confirmed under it (C.1.9.1.r with
    their report ids, C.1.10.r with their worldwide ids), as they were transmitted when they
    were, so the receiver can connect them to the nullified reports."""
    from safety.dedup.decisions import Confirmation, citations, cite_duplicates, linked_ids
    from safety.dedup.store import DedupDecision

    rows = session.execute(select(DedupDecision.case_a, DedupDecision.case_b).where(
        DedupDecision.decision == "confirmed", DedupDecision.master_case_id == case.id)).all()
    dups: list[CaseVersionData] = []
    for a, b in rows:
        other = session.get(Case, b if a == case.id else a)
        if other is None:
            continue
        sent = session.scalar(select(Submission).where(
            Submission.case_id == other.id, Submission.xml.is_not(None),
            Submission.state.in_(TRANSMITTED))
            .order_by(Submission.sent_at.desc().nulls_last()).limit(1))
        dup = transmitted_case(sent) if sent is not None else working_data(
            session, current_version(session, other))
        if not dup.sender.organisation and sender is not None:
            dup.sender = sender.to_sender()  # C.1.1 ids are ours: we assigned them
        dups.append(dup)
    if not dups:
        return data
    confirmation = Confirmation(master=str(case.id), duplicates=(), nullify=(),
                                citations=citations(dups), linked=linked_ids(dups))
    notes.append("cites confirmed duplicate(s) " + ", ".join(confirmation.linked)
                 + " (C.1.9.1.r, C.1.10.r)")
    return cite_duplicates(data, confirmation)


def draft_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    """Pipeline stage: draft a message for each regulator this version owes a report to; to a
    regulator that already holds the case it is a follow-up of what it holds. A nullified
    case gets nothing more (C.1.11.1 = 1 is final)."""
    from safety.rules.store import ObligationRow

    case = session.get(Case, cv.case_id)
    session.flush()
    session.refresh(case, with_for_update=True)  # a nullification commits before or after
    made: dict[str, Any] = {"draft": 0, "invalid": 0}
    if case.state == NULLIFIED_CASE:
        made["nullified"] = True
        return made
    existing = set(session.scalars(select(Submission.destination).where(
        Submission.case_version_id == cv.id)))
    owed: dict[str, ObligationRow] = {}
    for ob in session.scalars(select(ObligationRow).where(
            ObligationRow.case_version_id == cv.id,
            ObligationRow.status.in_(("open", "awaiting_unblinding")))
            .order_by(ObligationRow.due)):
        owed.setdefault(ob.destination, ob)
    for dest, ob in owed.items():
        if dest in existing:
            continue
        previous = last_transmitted(session, cv.case_id, dest)
        cols = build_message(session, cv, case, region_for(dest), ob.days, settings,
                             previous=previous)
        session.add(Submission(case_id=cv.case_id, case_version_id=cv.id, obligation_id=ob.id,
                               destination=dest, due=ob.due, **cols))
        made[cols["state"]] += 1
    return made


def redraft(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    """Draft again after the case changed under its messages (a coding decision): unsent
    drafts are replaced, so what is signed and sent is what the physician saw. An amendment is
    rebuilt in place with its reason (no obligation owes it, so the stage would not draft it
    again)."""
    stale = list(session.scalars(select(Submission).where(
        Submission.case_version_id == cv.id, Submission.state.in_(("draft", "invalid")))))
    case = session.get(Case, cv.case_id)
    for sub in stale:
        code, reason = message_lifecycle(sub)
        if code == NULLIFIED:
            continue  # what the regulator holds, not this version: nullifying again retries
        previous = last_transmitted(session, sub.case_id, sub.destination)
        if (code == AMENDED and previous is not None and reason
                and case.state != NULLIFIED_CASE):
            cols = build_message(session, cv, case, region_for(sub.destination),
                                 obligation_days(session, previous), settings,
                                 previous=previous, kind=ReportKind.AMENDMENT, reason=reason)
            for name, value in cols.items():
                setattr(sub, name, value)
        else:
            session.delete(sub)
    session.flush()
    return draft_stage(session, cv, settings)


def obligation_days(session: Session, sub: Submission) -> int | None:
    """The reporting clock of the obligation a submission answered (FDA.C.1.7.1, C.1.7)."""
    from safety.rules.store import ObligationRow

    ob = session.get(ObligationRow, sub.obligation_id) if sub.obligation_id else None
    return ob.days if ob is not None else None


def approve_for_sending(session: Session, case_version_id: uuid.UUID, actor: str) -> int:
    """After the medical approval and signature: conformant drafts go to the outbox."""
    n = 0
    for sub in session.scalars(select(Submission).where(
            Submission.case_version_id == case_version_id, Submission.state == "draft")):
        sub.state = "ready"
        record(session, actor=actor, action="submission.ready", entity=sub,
               changes=[{"field": "state", "from": "draft", "to": "ready"}],
               reason="approved for submission")
        n += 1
    return n


def export_outbox(session: Session, outbox: Path, actor: str) -> list[Path]:
    """Write every ready message to the gateway's outbox folder and mark it sent."""
    from safety.rules.store import ObligationRow

    outbox.mkdir(parents=True, exist_ok=True)
    written = []
    # Locked: a message withdrawn by a nullification committed meanwhile is not written.
    for sub in session.scalars(select(Submission).where(Submission.state == "ready")
                               .order_by(Submission.due).with_for_update()):
        path = outbox / f"{sub.batch_id}.xml"
        tmp = path.with_suffix(".xml.part")
        tmp.write_bytes(sub.xml or b"")
        tmp.replace(path)  # the gateway never sees a half-written file
        sub.state, sub.sent_at = "sent", utcnow()
        if sub.obligation_id and (ob := session.get(ObligationRow, sub.obligation_id)):
            ob.status, ob.submitted_on, ob.alert = "submitted", sub.sent_at.date(), None
        record(session, actor=actor, action="submission.sent", entity=sub,
               changes=[{"field": "state", "from": "ready", "to": "sent"}],
               reason=f"written to {path}")
        written.append(path)
    return written


def apply_ack(session: Session, ack: BatchAck, actor: str) -> list[Submission]:
    """Move submissions on from a regulator's ACK; a rejection reopens the obligation."""
    from safety.rules.store import ObligationRow

    subs = list(session.scalars(select(Submission).where(
        Submission.batch_id == ack.target_batch_id)))
    if not subs:
        ids = [m.target_message_id.split(" ")[0] for m in ack.messages if m.target_message_id]
        subs = list(session.scalars(select(Submission).where(Submission.message_id.in_(ids))))
    changed = []
    for sub in subs:
        verdict = next((m for m in ack.messages if sub.message_id and m.matches(sub.message_id)),
                       None)
        accepted = (not ack.rejected) and (verdict is None or verdict.accepted)
        new = "acknowledged" if accepted else "rejected"
        old = sub.state
        sub.state, sub.acked_at = new, utcnow()
        sub.ack_code = verdict.code if verdict else ack.code
        sub.ack_text = (verdict.text if verdict and verdict.text else ack.text)
        if new == "rejected" and sub.obligation_id and (
                ob := session.get(ObligationRow, sub.obligation_id)):
            ob.status, ob.submitted_on = "open", None
        record(session, actor=actor, action=f"submission.{new}", entity=sub,
               changes=[{"field": "state", "from": old, "to": new}],
               reason=sub.ack_text or f"ACK {sub.ack_code}")
        changed.append(sub)
    return changed


def submission_json(sub: Submission) -> dict[str, Any]:
    return {
        "id": str(sub.id), "case_id": str(sub.case_id),
        "case_version_id": str(sub.case_version_id),
        "obligation_id": str(sub.obligation_id) if sub.obligation_id else None,
        "destination": sub.destination, "e2b_destination": sub.e2b_destination,
        "profile": sub.profile, "due": sub.due, "batch_id": sub.batch_id,
        "message_id": sub.message_id, "receiver": sub.receiver, "state": sub.state,
        "findings": sub.findings or [], "notes": sub.notes or [],
        "created_at": sub.created_at, "sent_at": sub.sent_at, "acked_at": sub.acked_at,
        "ack_code": sub.ack_code, "ack_text": sub.ack_text,
    }


def submission_view(session: Session, sub: Submission) -> dict[str, Any]:
    """``submission_json`` with the report kind and, for amendments and nullifications, the
    reason the regulator will read (C.1.11.2)."""
    out = submission_json(sub)
    out["kind"] = report_kind(session, sub)
    out["reason"] = message_lifecycle(sub)[1]
    return out

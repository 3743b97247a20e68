"""Submissions: one E2B message per obligation destination and case version, and its fate.

States: ``draft`` (conformant, waiting for medical approval), ``invalid`` (the conformance
checker found errors: never sent), ``ready`` (approved and signed: in the outbox), ``sent``,
``acknowledged`` (CA/AA) and ``rejected`` (CR/AR, with the regulator's reason; the obligation
is open again and its clock keeps running).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.audit import record
from safety.cases.store import working_data
from safety.config import Settings
from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow
from safety.db.models import Case, CaseVersion
from safety.e2b.ack import BatchAck
from safety.e2b.export import export_case
from safety.e2b.writer import ExportHeader
from safety.submissions.prepare import prepare
from safety.submissions.routing import e2b_key, region_for
from safety.submissions.sender import load_sender_profile

STATES = ("draft", "invalid", "ready", "sent", "acknowledged", "rejected")


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
                  settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Export and check one message; returns the columns of a submission (not stored)."""
    now = now or utcnow()
    data = working_data(session, cv)
    key = e2b_key(region, data)
    prepared = prepare(data, region=region, days=days, now=now,
                       sender=load_sender_profile(settings.home / "sender.json"))
    if key is None:
        return {"e2b_destination": None, "profile": "ich", "xml": None, "state": "invalid",
                "findings": [{"element": "N.2.r.3", "xpath": "-", "rule": "receiver",
                              "message": f"no E2B gateway identifiers known for {region}; "
                                         "configure the receiver before sending",
                              "severity": "error"}],
                "notes": prepared.notes}
    result = export_case(prepared.case, ExportHeader(sender_id=settings.org_code,
                                                     destination=key, created=now))
    errors = [f for f in result.findings if f.severity == "error"]
    return {
        "e2b_destination": key, "profile": result.profile, "xml": result.xml,
        "batch_id": result.batch_id, "message_id": result.message_ids[0],
        "receiver": result.message_receiver,
        "findings": [asdict(f) for f in result.findings],
        "notes": prepared.notes,
        "state": "draft" if not errors else "invalid",
    }


def draft_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    """Pipeline stage: draft a message for each regulator this version owes a report to."""
    from safety.rules.store import ObligationRow

    existing = set(session.scalars(select(Submission.destination).where(
        Submission.case_version_id == cv.id)))
    owed: dict[str, ObligationRow] = {}
    for ob in session.scalars(select(ObligationRow).where(
            ObligationRow.case_version_id == cv.id,
            ObligationRow.status.in_(("open", "awaiting_unblinding")))
            .order_by(ObligationRow.due)):
        owed.setdefault(ob.destination, ob)
    case = session.get(Case, cv.case_id)
    made = {"draft": 0, "invalid": 0}
    for dest, ob in owed.items():
        if dest in existing:
            continue
        cols = build_message(session, cv, case, region_for(dest), ob.days, settings)
        session.add(Submission(case_id=cv.case_id, case_version_id=cv.id, obligation_id=ob.id,
                               destination=dest, due=ob.due, **cols))
        made[cols["state"]] += 1
    return made


def redraft(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    """Draft again after the case changed under its messages (a coding decision): unsent
    drafts are replaced, so what is signed and sent is what the physician saw."""
    stale = session.scalars(select(Submission).where(
        Submission.case_version_id == cv.id, Submission.state.in_(("draft", "invalid"))))
    for sub in stale:
        session.delete(sub)
    session.flush()
    return draft_stage(session, cv, settings)


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
    for sub in session.scalars(select(Submission).where(Submission.state == "ready")
                               .order_by(Submission.due)):
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

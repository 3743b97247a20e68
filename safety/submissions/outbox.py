"""The outbox: approved messages go to the regulators' gateway folder, and are then sent.

A message leaves only after the medical approval with an electronic signature
(:func:`approve_for_sending`); the gateway picks up whole files only (written aside, then
renamed). Sending a message meets the obligation it answers.

Each sponsor sends from its own gateway account, so the outbox has a folder per sponsor and
regulator (``OUTBOX/<sponsor code>/<regulator>/<batch id>.xml``): one sponsor's gateway
connection never picks up another sponsor's message.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.store import CaseVersion
from safety.rules.day0 import local_date, org_zone
from safety.rules.store import obligation_submitted
from safety.sponsors.store import Sponsor
from safety.submissions.routing import REGION_OF
from safety.submissions.states import SubmissionState
from safety.submissions.store import Submission, set_state

COMPLETENESS = {True: "complete", False: "incomplete", None: "completeness not stated"}


def approve_for_sending(session: Session, case_version_id: uuid.UUID, actor: str,
                        complete: bool | None = None) -> int:
    """After the medical approval and signature: conformant drafts go to the outbox, with the
    approver's statement whether they carry the complete information (``None``: not stated),
    which the filed obligation keeps (an incomplete EU CTR 7-day report owes the completed
    report, Art. 42(2))."""
    n = 0
    for sub in session.scalars(select(Submission).where(
            Submission.case_version_id == case_version_id,
            Submission.state == SubmissionState.DRAFT)):
        sub.complete = complete
        set_state(session, sub, SubmissionState.READY, actor=actor,
                  reason=f"approved for submission ({COMPLETENESS[complete]})")
        n += 1
    return n


def export_outbox(session: Session, outbox: Path, actor: str) -> list[Path]:
    """Write every ready message (of the sponsors the session may see) to its sponsor's and
    regulator's outbox folder and mark it sent."""
    written = []
    sponsors = session.execute(select(Sponsor.id, Sponsor.code, Sponsor.timezone)).all()
    codes: dict[int, str] = {i: c for i, c, _ in sponsors}
    zones: dict[int, str] = {i: z for i, _, z in sponsors}
    # Locked: a message withdrawn by a nullification committed meanwhile is not written.
    for sub in session.scalars(select(Submission).where(
            Submission.state == SubmissionState.READY)
                               .order_by(Submission.due).with_for_update()):
        folder = outbox / codes[sub.sponsor_id] / REGION_OF.get(sub.destination, "other")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{sub.batch_id}.xml"
        tmp = path.with_suffix(".xml.part")
        tmp.write_bytes(sub.xml or b"")
        tmp.replace(path)  # the gateway never sees a half-written file
        set_state(session, sub, SubmissionState.SENT, actor=actor, reason=f"written to {path}")
        if sub.obligation_id and sub.sent_at is not None:
            # The filing day is a calendar day in the sponsor's zone, as day 0 is: a message
            # sent at 23:30 UTC is filed the next day in Tokyo (C.05.014(2) counts from it).
            filed_on = local_date(sub.sent_at, org_zone(zones.get(sub.sponsor_id)))
            obligation_submitted(session, sub.obligation_id, filed_on, actor=actor,
                                 reason=f"batch {sub.batch_id} sent to {sub.destination}",
                                 complete=sub.complete)
        written.append(path)
    return written


def withdraw_unsent_before(session: Session, case_id: uuid.UUID, version: int, *, actor: str,
                           reason: str) -> int:
    """Messages of earlier versions approved but not sent are withdrawn: the signature that
    sent them to the outbox approved a version the case no longer is (a correction)."""
    n = 0
    for sub in session.scalars(select(Submission).join(
            CaseVersion, CaseVersion.id == Submission.case_version_id).where(
            Submission.case_id == case_id, CaseVersion.version < version,
            Submission.state == SubmissionState.READY).with_for_update(of=Submission)):
        set_state(session, sub, SubmissionState.WITHDRAWN, actor=actor, reason=reason)
        n += 1
    return n

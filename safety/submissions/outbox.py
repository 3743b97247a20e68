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
from safety.rules.store import obligation_submitted
from safety.sponsors.store import Sponsor
from safety.submissions.routing import REGION_OF
from safety.submissions.states import SubmissionState
from safety.submissions.store import Submission, set_state


def approve_for_sending(session: Session, case_version_id: uuid.UUID, actor: str) -> int:
    """After the medical approval and signature: conformant drafts go to the outbox."""
    n = 0
    for sub in session.scalars(select(Submission).where(
            Submission.case_version_id == case_version_id,
            Submission.state == SubmissionState.DRAFT)):
        set_state(session, sub, SubmissionState.READY, actor=actor,
                  reason="approved for submission")
        n += 1
    return n


def export_outbox(session: Session, outbox: Path, actor: str) -> list[Path]:
    """Write every ready message (of the sponsors the session may see) to its sponsor's and
    regulator's outbox folder and mark it sent."""
    written = []
    codes: dict[int, str] = {i: c for i, c in session.execute(select(Sponsor.id, Sponsor.code))}
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
            obligation_submitted(session, sub.obligation_id, sub.sent_at.date(), actor=actor,
                                 reason=f"batch {sub.batch_id} sent to {sub.destination}")
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

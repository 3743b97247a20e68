"""Regulators' acknowledgements (MCCI_IN200101UV01): accepted, or rejected with a reason."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.db.base import utcnow
from safety.e2b.ack import BatchAck
from safety.rules.store import obligation_owed_again
from safety.submissions.states import SubmissionState
from safety.submissions.store import Submission, set_state


def apply_ack(session: Session, ack: BatchAck, actor: str) -> list[Submission]:
    """Move submissions on from a regulator's ACK; a rejection reopens the obligation."""
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
        new = SubmissionState.ACKNOWLEDGED if accepted else SubmissionState.REJECTED
        sub.acked_at = utcnow()
        sub.ack_code = verdict.code if verdict else ack.code
        sub.ack_text = (verdict.text if verdict and verdict.text else ack.text)
        set_state(session, sub, new, actor=actor, reason=sub.ack_text or f"ACK {sub.ack_code}")
        if new is SubmissionState.REJECTED and sub.obligation_id:
            obligation_owed_again(session, sub.obligation_id, actor=actor,
                                  reason=f"{sub.destination} rejected batch {sub.batch_id}: "
                                         f"{sub.ack_text or sub.ack_code}")
        changed.append(sub)
    return changed

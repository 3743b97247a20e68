"""Suspected duplicates found by the pipeline, per case version, with their explanation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String, Uuid, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow
from safety.dedup.matching import MatchResult


class DedupCandidate(Base):
    __tablename__ = "dedup_candidates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    candidate_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    suspected: Mapped[bool] = mapped_column(Boolean)
    rule: Mapped[str | None] = mapped_column(String(100))
    explanation: Mapped[Any] = mapped_column(JSONDoc, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def save_candidates(session: Session, case_id: uuid.UUID, case_version_id: uuid.UUID,
                    result: MatchResult) -> list[DedupCandidate]:
    """Replace this version's candidates (the stage is idempotent)."""
    session.execute(delete(DedupCandidate).where(
        DedupCandidate.case_version_id == case_version_id))
    rows = []
    for c in result.candidates:
        j = c.to_json()
        row = DedupCandidate(case_id=case_id, case_version_id=case_version_id,
                             candidate_case_id=uuid.UUID(c.case_id), score=c.score,
                             suspected=c.suspected, rule=c.rule,
                             explanation=j.get("explanation", []))
        session.add(row)
        rows.append(row)
    return rows


def open_candidates(session: Session, case_id: uuid.UUID, decided: set[str],
                    suspected_only: bool = False) -> list[DedupCandidate]:
    """Undecided candidate pairs involving this case, highest score first.

    A pair is found when the later of its two cases is screened, so it is stored on that case;
    the earlier case shows it too (with ``case_id`` and ``candidate_case_id`` read from its
    side), or the physician working the earlier case would never see it.
    """
    latest = session.scalar(select(DedupCandidate.case_version_id)
                            .where(DedupCandidate.case_id == case_id)
                            .order_by(DedupCandidate.created_at.desc()).limit(1))
    rows: list[DedupCandidate] = []
    if latest is not None:
        rows += session.scalars(select(DedupCandidate).where(
            DedupCandidate.case_version_id == latest))
    rows += session.scalars(select(DedupCandidate).where(
        DedupCandidate.candidate_case_id == case_id, DedupCandidate.suspected.is_(True)))
    best: dict[uuid.UUID, DedupCandidate] = {}
    for r in rows:
        other = r.candidate_case_id if r.case_id == case_id else r.case_id
        if str(other) in decided or (suspected_only and not r.suspected):
            continue
        if other not in best or r.score > best[other].score:
            best[other] = r
    return sorted(best.values(), key=lambda r: -r.score)


def other_case(row: DedupCandidate, case_id: uuid.UUID) -> uuid.UUID:
    return row.candidate_case_id if row.case_id == case_id else row.case_id

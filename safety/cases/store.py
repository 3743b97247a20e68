"""The working view of a case version: the snapshot as received plus what people and workers
concluded about it (coding first of all).

A case version's ``data`` is what the reports said and is never rewritten. Coding adds codes
to its terms; a physician may later confirm or change one. Each such step appends a revision
of the *coded view* here; the latest revision is what rules, duplicate search and E2B export
read. Nothing is overwritten, so every coding decision stays visible with who made it and when.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from safety.cases.codec import case_from_json, case_to_json
from safety.cases.model import CaseVersionData
from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow


class Case(Base):
    """A case: one patient's adverse experience, across all reports that describe it."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("sender", "sender_case_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_number: Mapped[str] = mapped_column(String(40), unique=True)
    worldwide_case_id: Mapped[str] = mapped_column(String(100), unique=True)
    sender: Mapped[str] = mapped_column(String(200))
    sender_case_id: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    state: Mapped[str] = mapped_column(String(30), default="triage")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    serious: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[CaseVersion]] = relationship(
        back_populates="case", order_by="CaseVersion.version"
    )


class CaseVersion(Base):
    """An immutable snapshot of the case after one initial or follow-up report.

    ``data`` is the JSON form of :class:`safety.cases.model.CaseVersionData`. Worker stages
    (coding, dedup, rules) record their progress in ``stages`` and their results in their own
    tables, so the snapshot itself is never rewritten.
    """

    __tablename__ = "case_versions"
    __updatable__ = frozenset({"stages", "pipeline"})
    __keep_rows__ = True
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # initial | followup
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"))
    data: Mapped[Any] = mapped_column(JSONDoc)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stages: Mapped[Any] = mapped_column(JSONDoc, default=dict)
    pipeline: Mapped[str] = mapped_column(String(20), default="pending", index=True)

    case: Mapped[Case] = relationship(back_populates="versions")


class Counter(Base):
    """Named counters for human-readable numbers (case numbers), portable across databases."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


# Workflow states in which a case no longer changes (no re-evaluation, no recoding).
CLOSED_STATES = ("closed", "nullified")


class CodedView(Base):
    __tablename__ = "case_coded_views"
    __table_args__ = (UniqueConstraint("case_version_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"),
                                                       index=True)
    revision: Mapped[int] = mapped_column(Integer)
    data: Mapped[Any] = mapped_column(JSONDoc)
    review: Mapped[Any] = mapped_column(JSONDoc, default=list)  # paths awaiting a person
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def current_version(session: Session, case: Case) -> CaseVersion:
    return session.execute(
        select(CaseVersion).where(CaseVersion.case_id == case.id,
                                  CaseVersion.version == case.current_version)
    ).scalar_one()


def open_current_versions(session: Session) -> list[tuple[Case, CaseVersion]]:
    """Every open case with its current version, in case-number order."""
    rows = session.execute(
        select(Case, CaseVersion).join(CaseVersion, (CaseVersion.case_id == Case.id)
                                       & (CaseVersion.version == Case.current_version))
        .where(Case.state.not_in(CLOSED_STATES)).order_by(Case.case_number))
    return [(case, cv) for case, cv in rows]


def latest_view(session: Session, case_version_id: uuid.UUID) -> CodedView | None:
    return session.scalar(select(CodedView).where(CodedView.case_version_id == case_version_id)
                          .order_by(CodedView.revision.desc()).limit(1))


def working_data(session: Session, cv: CaseVersion) -> CaseVersionData:
    """The case as the workers and reviewers see it: the latest coded view, else the
    snapshot."""
    view = latest_view(session, cv.id)
    return case_from_json(view.data if view is not None else cv.data)


def add_view(session: Session, cv: CaseVersion, data: CaseVersionData, review: list[str],
             actor: str, reason: str | None = None) -> CodedView:
    current = latest_view(session, cv.id)
    view = CodedView(case_version_id=cv.id, revision=(current.revision + 1) if current else 1,
                     data=case_to_json(data), review=list(review), actor=actor, reason=reason)
    session.add(view)
    session.flush()
    return view

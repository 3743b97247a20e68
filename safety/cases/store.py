"""Cases and their versions, and the working view of a version.

This module is the only code that changes a case's workflow state (:func:`change_state`, with
the transition planned by ``safety.cases.workflow``) and a version's processing status
(:func:`record_stage`); each change writes its audit event in the same transaction.

The working view of a case version is the snapshot as received plus what people and workers
concluded about it (coding first of all). A case version's ``data`` is what the reports said
and is never rewritten. Coding adds codes to its terms; a physician may later confirm or change
one. Each such step appends a revision
of the *coded view* here; the latest revision is what rules, duplicate search and E2B export
read. Nothing is overwritten, so every coding decision stays visible with who made it and when.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from safety.audit.store import record
from safety.cases.codec import case_from_json, case_to_json
from safety.cases.model import CaseVersionData
from safety.cases.versioning import VersionKind
from safety.cases.workflow import (
    FINAL_STATES,
    INITIAL_STATE,
    CaseState,
    Change,
    PipelineStatus,
    Stage,
    TransitionError,
)
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, enum_type, utcnow
from safety.db.created import CASE, VERSION, mark_created
from safety.db.memo import once, remember
from safety.db.tenancy import SponsorOwned


class Case(SponsorOwned, Base):
    """A case: one patient's adverse experience, across all reports that describe it."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("sponsor_id", "sender", "sender_case_id", name="uq_cases_sender_case"),
        UniqueConstraint("sponsor_id", "worldwide_case_id", name="uq_cases_worldwide_case_id"),
        Index("ix_cases_sender_case_key", "sponsor_id", "sender", "sender_case_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    case_number: Mapped[str] = mapped_column(String(40), unique=True)
    worldwide_case_id: Mapped[str] = mapped_column(String(100))
    sender: Mapped[str] = mapped_column(String(200))
    sender_case_id: Mapped[str] = mapped_column(String(200))
    # C.1.1 as compared (norm_id: no case, spaces or punctuation): follow-ups find their case
    # when the sender writes its id differently (docs/dedup.md).
    sender_case_key: Mapped[str | None] = mapped_column(String(200))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    state: Mapped[CaseState] = mapped_column(enum_type(CaseState, "case_state", 30),
                                             default=INITIAL_STATE)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    serious: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[CaseVersion]] = relationship(
        back_populates="case", order_by="CaseVersion.version"
    )


def worldwide_id_length() -> int:
    """The longest worldwide case id (C.1.8.1) a case holds: what intake refuses beyond."""
    column = Case.__table__.c.worldwide_case_id.type
    assert isinstance(column, String) and column.length is not None
    return column.length


class CaseVersion(SponsorOwned, Base):
    """An immutable snapshot of the case after one initial or follow-up report.

    ``data`` is the JSON form of :class:`safety.cases.model.CaseVersionData`. Worker stages
    (coding, dedup, rules) record their progress in ``stages`` and their results in their own
    tables, so the snapshot itself is never rewritten.
    """

    __tablename__ = "case_versions"
    __updatable__ = frozenset({"stages", "pipeline"})
    __keep_rows__ = True
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[VersionKind] = mapped_column(enum_type(VersionKind, "version_kind", 20))
    # The report the version came from; ``None`` for a correction (a person's edit).
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"))
    data: Mapped[Any] = mapped_column(JSONDoc)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stages: Mapped[Any] = mapped_column(JSONDoc, default=dict)
    pipeline: Mapped[PipelineStatus] = mapped_column(
        enum_type(PipelineStatus, "pipeline_status", 20), default=PipelineStatus.PENDING,
        index=True)

    case: Mapped[Case] = relationship(back_populates="versions")


class CaseCorrection(Base):
    """Who corrected a case version, why, which fields, and whether only the form of a sent
    report was wrong (its regulator is then offered an amendment rather than a follow-up).
    One row per correction version; part of the record."""

    __tablename__ = "case_corrections"
    __updatable__ = frozenset()
    __keep_rows__ = True

    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"),
                                                       primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # edit, assessment, narrative
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    fields: Mapped[Any] = mapped_column(JSONDoc)  # [{"field", "from", "to"}]
    amendment: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def correction_of(session: Session, case_version_id: uuid.UUID) -> CaseCorrection | None:
    return session.get(CaseCorrection, case_version_id)


class Counter(Base):
    """Named counters for human-readable numbers (case numbers), portable across databases."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class CodedView(Base):
    __tablename__ = "case_coded_views"
    __table_args__ = (UniqueConstraint("case_version_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
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
        .where(Case.state.not_in(FINAL_STATES)).order_by(Case.case_number))
    return [(case, cv) for case, cv in rows]


def locked_case(session: Session, case_id: uuid.UUID) -> Case:
    """The case, locked and read afresh in one statement (a nullification commits before or
    after). Once per pipeline job: a row locked stays locked until the transaction ends, so
    a later stage of the same job has it current already (``db.memo``)."""
    return once(session, ("locked-case", case_id), lambda: session.get_one(
        Case, case_id, with_for_update=True, populate_existing=True))


def hold_locked_case(session: Session, case: Case) -> None:
    """``case`` is locked by this transaction (read FOR UPDATE, or inserted by it): in a
    pipeline job, ``locked_case`` answers it without locking and reading it again."""
    remember(session, ("locked-case", case.id), case)


def locked_version(session: Session, case_version_id: uuid.UUID) -> CaseVersion:
    """The version under its row lock (its stages run under it). Once per pipeline job: a
    version this job's transaction inserted is its own until the commit (``add_version``)."""
    return once(session, ("locked-version", case_version_id), lambda: session.execute(
        _LOCKED_VERSION, {"id": case_version_id}).scalar_one())


_LOCKED_VERSION = select(CaseVersion).where(CaseVersion.id == bindparam("id")).with_for_update()


def latest_view(session: Session, case_version_id: uuid.UUID) -> CodedView | None:
    """The version's newest coded view (once per pipeline job: ``add_view`` keeps it)."""
    return once(session, ("latest-view", case_version_id), lambda: session.scalar(
        select(CodedView).where(CodedView.case_version_id == case_version_id)
        .order_by(CodedView.revision.desc()).limit(1)))


def working_data(session: Session, cv: CaseVersion) -> CaseVersionData:
    """The case as the workers and reviewers see it: the latest coded view, else the
    snapshot. A fresh copy, the caller's to change."""
    view = latest_view(session, cv.id)
    return case_from_json(view.data if view is not None else cv.data)


def shared_working_data(session: Session, cv: CaseVersion) -> CaseVersionData:
    """``working_data`` decoded once per pipeline job and shared by its stages: READ ONLY
    (every domain function that derives a case from it copies first: ``prepare``,
    ``cite_duplicates``, ``code_case``). Outside a job, a fresh decode as before."""
    view = latest_view(session, cv.id)
    key = ("working-data", view.id if view is not None else cv.id)
    return once(session, key, lambda: case_from_json(view.data if view is not None
                                                     else cv.data))


def add_view(session: Session, cv: CaseVersion, data: CaseVersionData, review: list[str],
             actor: str, reason: str | None = None) -> CodedView:
    current = latest_view(session, cv.id)
    view = CodedView(case_version_id=cv.id, revision=(current.revision + 1) if current else 1,
                     data=case_to_json(data), review=list(review), actor=actor, reason=reason)
    session.add(view)
    session.flush()
    remember(session, ("latest-view", cv.id), view)
    return view


def versions(session: Session, case_id: uuid.UUID) -> list[CaseVersion]:
    return list(session.execute(
        select(CaseVersion).where(CaseVersion.case_id == case_id).order_by(CaseVersion.version)
    ).scalars())


def case_number_with_prefix(session: Session, prefix: str,
                            other_than_sponsor: int | None) -> str | None:
    """A case number under ``prefix`` held by a case of another sponsor (any sponsor's when
    ``other_than_sponsor`` is None), if there is one."""
    stmt = select(Case.case_number).where(Case.case_number.startswith(f"{prefix}-",
                                                                      autoescape=True))
    if other_than_sponsor is not None:
        stmt = stmt.where(Case.sponsor_id != other_than_sponsor)
    return session.scalar(stmt.limit(1))


_NEXT_NUMBER = (update(Counter).where(Counter.name == bindparam("counter"))
                .values(value=Counter.value + 1).returning(Counter.value))


def next_number(session: Session, name: str) -> int:
    """The next value of a named counter (case numbers), taken under the row's lock."""
    result = session.execute(_NEXT_NUMBER, {"counter": name}).scalar_one_or_none()
    if result is None:
        # The counter's first value: two workers making a sponsor's first cases at once (a
        # bulk import) both find no row; the second insert waits for the first to commit
        # and fails, in its own savepoint, and then takes the next value under the row's lock.
        try:
            with session.begin_nested():
                session.add(Counter(name=name, value=1))
                session.flush()
        except IntegrityError:
            return next_number(session, name)
        return 1
    return int(result)


def add_version(session: Session, case: Case, *, version: int, kind: VersionKind,
                report_id: uuid.UUID | None, data: CaseVersionData, received_at: datetime,
                has_stages: bool, actor: str, reason: str | None = None) -> CaseVersion:
    """A new version of the case (its snapshot immutable from now on), waiting for its
    processing stages, or complete as stored when it has none to go through; audited with
    the pipeline status it starts in."""
    cv = CaseVersion(
        id=uuid.uuid4(), case_id=case.id, sponsor_id=case.sponsor_id, version=version,
        kind=kind, report_id=report_id,
        data=case_to_json(data), received_at=received_at, stages={},
        pipeline=PipelineStatus.PENDING if has_stages else PipelineStatus.DONE)
    session.add(cv)
    case.current_version = version
    case.serious = data.is_serious()
    session.flush()
    # Inserted by this transaction: no other sees it, let alone locks it or adds a coded view
    # to it, before the commit (what a pipeline job's stages would look up again, db.memo).
    remember(session, ("locked-version", cv.id), cv)
    remember(session, ("latest-view", cv.id), None)
    mark_created(session, VERSION, cv.id)
    record(session, actor=actor, action="version.created", entity=cv, case_id=case.id,
           changes=[{"field": "pipeline", "from": None, "to": PipelineStatus(cv.pipeline).value}],
           reason=reason or f"version {version} ({VersionKind(kind).value}) from report "
                            f"{report_id}")
    return cv


# --- the case's workflow state --------------------------------------------------------------


def new_case(session: Session, *, actor: str, reason: str, **columns: Any) -> Case:
    """A new case, in the workflow's initial state, its creation audited."""
    case = Case(id=uuid.uuid4(), state=INITIAL_STATE, current_version=1, **columns)
    session.add(case)  # inserted at the next flush, with its first version (``add_version``)
    mark_created(session, CASE, case.id)
    record(session, actor=actor, action="case.created", entity=case,
           changes=[{"field": "state", "from": None, "to": case.state}], reason=reason)
    return case


def change_state(session: Session, case: Case, change: Change, *, actor: str) -> None:
    """Apply a transition planned by ``safety.cases.workflow.plan`` (which checked the source
    state, the permission, the reason and the guards) and write its audit event. Refused when
    the case moved meanwhile, so two people acting at once cannot both succeed."""
    if case.state != change.from_state:
        raise TransitionError(
            f"case {case.case_number} moved to {CaseState(case.state).value!r} meanwhile; "
            "reload and retry")
    case.state = change.to_state
    record(session, actor=actor, action=change.audit_action, entity=case,
           changes=[{"field": "state", "from": change.from_state.value,
                     "to": change.to_state.value}],
           reason=change.reason)


# --- a version's processing status ----------------------------------------------------------


def stage_done(cv: CaseVersion, stage: str) -> bool:
    status: str | None = (cv.stages or {}).get(stage, {}).get("status")
    return status == PipelineStatus.DONE


def stage_summary(cv: CaseVersion, stage: str) -> dict[str, Any] | None:
    summary: dict[str, Any] | None = (cv.stages or {}).get(stage, {}).get("summary")
    return summary  # what the stage's function returned


def first_unfinished(cv: CaseVersion) -> Stage | None:
    """The first stage not done yet; ``None`` when all are done or one failed (a failed stage
    waits for a person to retry it)."""
    for stage in Stage:
        status = (cv.stages or {}).get(stage.value, {}).get("status")
        if status != PipelineStatus.DONE:
            return None if status == PipelineStatus.FAILED else stage
    return None


@dataclass
class StageRecords:
    """A version's stage statuses as a transaction records them, written to the version once,
    at the end (``write_stages``): a report's job records four stages in one transaction, and
    each recorded on the version was an UPDATE of its row at the next flush (issue 20)."""

    stages: dict[str, Any]
    pipeline: PipelineStatus

    @classmethod
    def of(cls, cv: CaseVersion) -> StageRecords:
        return cls(dict(cv.stages or {}), PipelineStatus(cv.pipeline))

    def done(self, stage: str) -> bool:
        return bool(self.stages.get(stage, {}).get("status") == PipelineStatus.DONE)


def record_stage(session: Session, cv: CaseVersion, stage: str, status: PipelineStatus, *,
                 last: bool, summary: Any = None, error: str | None = None,
                 started: datetime | None = None, into: StageRecords | None = None) -> None:
    """A stage finished (``done``, with its summary) or gave up (``failed``, with the error).
    The version is ``done`` once its last stage is, ``failed`` as soon as any stage fails.
    Every outcome is audited (a failure so that the team sees it, not only the worker's log).
    ``started``: when the stage's work began; kept with its end (``at``) so that each
    version says how long each stage took (the operations page, the pipeline benchmark).
    ``into``: recorded there, for ``write_stages`` to put on the version (the event is
    recorded now, in its place among the others)."""
    at = utcnow()
    entry: dict[str, Any] = {"status": status.value, "at": at.isoformat()}
    if started is not None:
        entry["started"] = started.isoformat()
        entry["ms"] = round((at - started).total_seconds() * 1000, 1)
    if status is PipelineStatus.DONE:
        entry["summary"] = summary
    else:
        entry["error"] = (error or "")[:2000]
    records = into if into is not None else StageRecords.of(cv)
    earlier = records.stages.get(stage, {}).get("status")
    records.stages = {**records.stages, stage: entry}
    before = records.pipeline
    if status is PipelineStatus.FAILED:
        records.pipeline = PipelineStatus.FAILED
    elif last:
        records.pipeline = PipelineStatus.DONE
    after = records.pipeline
    if into is None:
        write_stages(cv, records)
    changes = [{"field": f"stages.{stage}", "from": earlier, "to": status.value}]
    if after != before:
        changes.append({"field": "pipeline", "from": before.value, "to": after.value})
    # Every outcome of every stage, system work included: done or failed, and the version's
    # pipeline status when it changes with it.
    record(session, actor=f"system:{stage}", action=f"version.stage_{status.value}",
           entity=cv, case_id=cv.case_id, changes=changes,
           reason=f"stage {stage}: {error}" if error else f"stage {stage} done")


def write_stages(cv: CaseVersion, records: StageRecords) -> None:
    """Put the recorded stage statuses on the version (one UPDATE at the next flush)."""
    if records.stages != (cv.stages or {}):
        cv.stages = records.stages
    if records.pipeline != cv.pipeline:
        cv.pipeline = records.pipeline


class NotFailed(ValueError):
    """A retry of a version whose processing has not failed; the message says where it is."""


def retry_stage(session: Session, cv: CaseVersion, *, actor: str,
                reason: str | None = None) -> Stage:
    """A person retries the failed stage of the version: the stage is pending again (its
    error kept as ``retried_error``) and the version's processing ``pending``, audited; the
    caller enqueues the stage after the commit. Raises :class:`NotFailed` otherwise."""
    failed = [stage for stage in Stage
              if (cv.stages or {}).get(stage.value, {}).get("status") == PipelineStatus.FAILED]
    if cv.pipeline != PipelineStatus.FAILED or not failed:
        raise NotFailed(f"version {cv.version} of its case: processing is "
                        f"{PipelineStatus(cv.pipeline).value}, not failed")
    stage = failed[0]
    entry = cv.stages[stage.value]
    cv.stages = {**cv.stages, stage.value: {"status": PipelineStatus.PENDING.value,
                                            "at": utcnow().isoformat(),
                                            "retried_error": entry.get("error")}}
    cv.pipeline = PipelineStatus.PENDING
    record(session, actor=actor, action="version.pipeline_pending", entity=cv,
           case_id=cv.case_id,
           changes=[{"field": "pipeline", "from": PipelineStatus.FAILED.value,
                     "to": PipelineStatus.PENDING.value}],
           reason=reason or f"stage {stage.value} retried")
    return stage

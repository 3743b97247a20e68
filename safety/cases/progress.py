"""A case version's way through the processing stages (``safety.cases.workflow.Stage``):
run a stage once, record what it concluded or why it failed, find the versions that wait.

A stage is a function ``(session, case_version, settings) -> summary`` of its feature
(coding, duplicates, rules, drafting); it writes its results to its own tables and returns a
short summary kept on the version. A stage already done is not run again, so a job that runs
twice does no harm.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.audit.store import buffer_events
from safety.cases.store import (
    CaseVersion,
    StageRecords,
    first_unfinished,
    locked_version,
    record_stage,
    stage_done,
    stage_summary,
    write_stages,
)
from safety.cases.workflow import PipelineStatus, Stage, next_stage
from safety.config import Settings
from safety.db.base import utcnow
from safety.db.memo import job_memo

StageFunction = Callable[[Session, CaseVersion, Settings], dict[str, Any] | None]


def run_stage(session: Session, case_version_id: uuid.UUID, stage: Stage, fn: StageFunction,
              settings: Settings) -> dict[str, Any] | None:
    """Run ``stage`` for the version (under its row lock) unless it is done already, and
    record it; the caller's transaction commits both. Returns the stage's summary."""
    cv = session.execute(
        select(CaseVersion).where(CaseVersion.id == case_version_id).with_for_update()
    ).scalar_one()
    if stage_done(cv, stage):
        return stage_summary(cv, stage)
    started = utcnow()
    with job_memo(session):
        summary = fn(session, cv, settings)
    record_stage(session, cv, stage, PipelineStatus.DONE, last=next_stage(stage) is None,
                 summary=summary, started=started)
    return summary


def run_stages(session: Session, case_version_id: uuid.UUID,
               stages: Sequence[tuple[Stage, StageFunction]],
               settings: Settings) -> list[tuple[Stage, dict[str, Any] | None, float]]:
    """Several stages of the version in the caller's transaction, in order, under one row
    lock: what ``run_stage`` does for each, without a transaction (and its round trips) per
    stage. Each stage still records its own status, timing and audit event, and one already
    done is skipped. Returns each stage run with its summary and seconds; the caller's
    transaction commits them all, or none if any raised (the caller then runs them one by
    one, to find the one that fails)."""
    cv = locked_version(session, case_version_id)
    ran: list[tuple[Stage, dict[str, Any] | None, float]] = []
    # Each stage's status and timing are recorded as it ends and put on the version once, at
    # the end; the audit events go in one statement at the commit, in the order recorded.
    records = StageRecords.of(cv)
    buffer_events(session)
    with job_memo(session):  # what one stage read, the next reads again: once (db.memo)
        for stage, fn in stages:
            if records.done(stage):
                continue
            started = utcnow()
            summary = fn(session, cv, settings)
            record_stage(session, cv, stage, PipelineStatus.DONE,
                         last=next_stage(stage) is None, summary=summary, started=started,
                         into=records)
            ran.append((stage, summary, (utcnow() - started).total_seconds()))
    write_stages(cv, records)
    return ran


def stage_failed(session: Session, case_version_id: uuid.UUID, stage: Stage,
                 error: str) -> None:
    """The stage gave up after its retries: the version is ``failed`` (audited) and waits for
    a person; the guards keep it from being approved meanwhile."""
    cv = session.get(CaseVersion, case_version_id)
    if cv is not None:
        record_stage(session, cv, stage, PipelineStatus.FAILED, last=False, error=error)


def waiting(session: Session, received_before: datetime,
            limit: int = 10_000) -> list[tuple[uuid.UUID, Stage]]:
    """Versions whose processing stopped short (a worker died, Redis lost a job), with the
    stage to run next, oldest first."""
    rows = session.execute(
        select(CaseVersion).where(CaseVersion.pipeline == PipelineStatus.PENDING,
                                  CaseVersion.created_at <= received_before)
        .order_by(CaseVersion.created_at).limit(limit)).scalars()
    out = []
    for cv in rows:
        stage = first_unfinished(cv)
        if stage is not None:
            out.append((cv.id, stage))
    return out


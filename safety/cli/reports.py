"""``safety reports``: the dead letters. Reports and case-version stages that failed after
their retries, the reports waiting behind them, and retrying or discarding them (within the
sponsors given with ``safety --sponsor``; every sponsor by default)."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import click

from safety.cli.common import database, ready_settings, scope
from safety.intake.dead_letters import (
    DeadLetterError,
    Retried,
    dead_letters,
    discard_report,
    retry,
    retry_all,
)
from safety.pipeline.jobs import enqueue_report, requeue_report, requeue_stage

ACTOR = "cli:reports"


@click.group("reports")
def reports() -> None:
    """Failed reports and failed stages: see them, retry them, discard a report."""


def _line(kind: str, **values: Any) -> None:
    click.echo(json.dumps({"kind": kind, **values}, default=str))


@reports.command("failed")
def failed() -> None:
    """One JSON line per failed report, per report waiting behind one, and per failed stage,
    each with the reason shown to the team (the full error is in the worker's log)."""
    with database(ready_settings()) as session:
        letters = dead_letters(session, scope(session).sponsor_ids)
    for r in letters.reports:
        _line("report", report_id=r.report_id, status="failed", sender=r.sender,
              sender_case_id=r.sender_case_id, received_at=r.received_at.isoformat(),
              attempts=r.attempts, reason=r.reason, held_back=r.held_back)
    for w in letters.waiting:
        _line("waiting", report_id=w.report_id, status="received", sender=w.sender,
              sender_case_id=w.sender_case_id, received_at=w.received_at.isoformat(),
              waiting_for=w.waiting_for, reason=w.reason)
    for s in letters.stages:
        _line("stage", case_version_id=s.case_version_id, case_number=s.case_number,
              version=s.version, stage=s.stage, failed_at=s.failed_at, reason=s.reason)
    if letters.empty:
        click.echo("Nothing failed.", err=True)


@reports.command("retry")
@click.argument("ref", required=False, metavar="ID")
@click.option("--all", "everything", is_flag=True,
              help="Retry every failed report and every failed stage.")
def retry_cmd(ref: str | None, everything: bool) -> None:
    """Retry the failed report, or the failed stage of the case version, with this ID (or
    --all): it goes back to the queue, and what waited behind it follows once it is done."""
    if bool(ref) == everything:
        raise click.UsageError("give a report or case version ID, or --all")
    settings = ready_settings()
    try:
        with database(settings) as session:
            sponsor_ids = scope(session).sponsor_ids
            if everything:
                done = retry_all(session, actor=ACTOR, sponsor_ids=sponsor_ids)
            else:
                done = retry(session, _uuid(ref), actor=ACTOR, sponsor_ids=sponsor_ids)
    except DeadLetterError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    _enqueue(settings, done)


def _enqueue(settings: Any, done: Retried) -> None:
    for rid in done.reports:
        queued = requeue_report(settings, rid)
        _line("report", report_id=rid, status="received", queued=queued)
    for cv_id, stage in done.stages:
        queued = requeue_stage(settings, stage, cv_id)
        _line("stage", case_version_id=cv_id, stage=stage.value, status="pending",
              queued=queued)
    if not done.reports and not done.stages:
        click.echo("Nothing failed.", err=True)


@reports.command("discard")
@click.argument("ref", metavar="ID")
@click.option("--reason", required=True, help="Why the report is given up (audited).")
def discard(ref: str, reason: str) -> None:
    """Give up the failed report ID for good (held, with your reason); the reports of its
    stream waiting behind it go on."""
    settings = ready_settings()
    try:
        with database(settings) as session:
            nxt = discard_report(session, _uuid(ref), actor=ACTOR, reason=reason,
                                 sponsor_ids=scope(session).sponsor_ids)
    except (DeadLetterError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    if nxt is not None:
        enqueue_report(settings, nxt)
    _line("report", report_id=ref, status="held", next_in_stream=nxt)


def _uuid(ref: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(str(ref))
    except ValueError:
        raise click.BadParameter(f"{ref!r} is not a report or case version id",
                                 param_hint="ID") from None

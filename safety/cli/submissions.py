"""``safety export e2b``, ``safety submissions ...`` and ``safety ack import``."""

from __future__ import annotations

import dataclasses
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from safety.blinding.audience import Audience, BlindingError
from safety.cli.common import database, find_case, ready_settings, scope
from safety.submissions.states import SubmissionState

F = TypeVar("F", bound=Callable[..., Any])
AUDIENCES = [a.value for a in Audience]


@click.group("export")
def export_group() -> None:
    """Export cases."""


@export_group.command("e2b")
@click.argument("case_ref")
@click.option("--destination", type=click.Choice(["fda", "ema", "mhra", "hc"]), default="fda",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the XML here (default: standard output).")
@click.option("--audience", type=click.Choice(AUDIENCES), default="regulator",
              show_default=True,
              help="Who the message is for: a blinded study's case is blinded for the "
                   "ethics_committee, investigator and study_team (docs/blinding.md).")
@click.option("--unblinded", is_flag=True,
              help="The subject's actual treatment, after the reveal (DSMB only; refused "
                   "for a blind audience; a regulator's message follows the reveal itself).")
def export_e2b(case_ref: str, destination: str, output: Path | None, audience: str,
               unblinded: bool) -> None:
    """Export the current version of CASE_REF as an E2B(R3) batch, checked for conformance.

    When the regulator holds an earlier version, the export is the follow-up of the last one
    transmitted (C.1.8.1 kept, C.1.5 moved on). Findings go to standard error; the exit status
    is 1 when the message is not conformant or the case is nullified. With ``--audience`` other
    than regulator, the message is for that audience (blinded for a blind one).
    """
    from safety.review.outputs import AudienceExportRefused, e2b_for_audience
    from safety.submissions.service import ExportRefused, export_for

    settings = ready_settings()
    with database(settings) as session:
        case = find_case(session, case_ref)
        try:
            if audience == Audience.REGULATOR.value:
                if unblinded:
                    raise ExportRefused("--unblinded: a regulator's message carries the "
                                        "revealed treatment once the blind is broken for the "
                                        "case; no flag is needed")
                cols = export_for(session, case, destination, settings)
            else:
                result = e2b_for_audience(session, case, Audience(audience), settings,
                                          unblinded=unblinded)
                cols = {"notes": [], "xml": result.xml,
                        "findings": [dataclasses.asdict(f) for f in result.findings],
                        "state": SubmissionState.DRAFT if result.ready
                        else SubmissionState.INVALID}
        except (ExportRefused, AudienceExportRefused, BlindingError) as exc:
            raise click.ClickException(str(exc)) from exc
    for note in cols["notes"]:
        click.echo(f"note: {note}", err=True)
    for f in cols["findings"]:
        click.echo(f"{f['severity'].upper()} {f['element']} [{f['rule']}] {f['message']} "
                   f"at {f['xpath']}", err=True)
    if cols["xml"]:
        if output:
            output.write_bytes(cols["xml"])
        else:
            sys.stdout.buffer.write(cols["xml"])
    if cols["state"] != SubmissionState.DRAFT:
        sys.exit(1)


@click.group("submissions")
def submissions_group() -> None:
    """E2B messages per regulator: list them, hand the ready ones to the gateway."""


@submissions_group.command("list")
@click.option("--state", type=click.Choice([s.value for s in SubmissionState]))
def list_cmd(state: str | None) -> None:
    """One JSON line per submission."""
    from safety.submissions.service import all_submissions

    with database(ready_settings()) as session:
        rows = all_submissions(session, SubmissionState(state) if state else None)
    for row in rows:
        row["findings"] = len(row["findings"])
        click.echo(json.dumps(row, default=str))


@submissions_group.command("export")
@click.option("--outbox", required=True, type=click.Path(file_okay=False, path_type=Path))
def export_outbox_cmd(outbox: Path) -> None:
    """Write every ready message to OUTBOX/<sponsor>/<regulator>/ (each sponsor's gateway
    account picks up its own folder) and mark it sent; with ``safety --sponsor CODE`` only
    that sponsor's messages."""
    from safety.submissions.outbox import export_outbox

    with database(ready_settings()) as session:
        paths = export_outbox(session, outbox, actor="cli:outbox")
    for p in paths:
        click.echo(json.dumps({"file": str(p), "state": "sent"}))


def _reason_option(what: str) -> Callable[[F], F]:
    return click.option("--reason", required=True,
                        help=f"C.1.11.2: the specific reason for the {what}, as the regulator "
                             "will read it.")


@submissions_group.command("amend")
@click.argument("submission_id", type=click.UUID)
@_reason_option("amendment")
@click.option("--actor", default="cli:submissions", show_default=True,
              help="Who asks (recorded in the audit trail).")
def amend_cmd(submission_id: uuid.UUID, reason: str, actor: str) -> None:
    """Amend a transmitted message (correction without new information: C.1.11.1 = 2, C.1.5
    unchanged). The amendment goes out once its version is approved with a signature."""
    from safety.submissions.requests import LifecycleRequestError, request_amendment
    from safety.submissions.service import submission_view, visible_submission

    settings = ready_settings()
    with database(settings) as session:
        sub = visible_submission(session, submission_id, scope(session))
        if sub is None:
            raise click.ClickException(f"no submission {submission_id}")
        try:
            amendment = request_amendment(session, sub, reason, actor, settings)
        except LifecycleRequestError as exc:
            raise click.ClickException(str(exc)) from exc
        row = submission_view(session, amendment)
    row["findings"] = len(row["findings"])
    click.echo(json.dumps(row, default=str))


@submissions_group.command("nullify")
@click.argument("case_ref")
@_reason_option("nullification")
@click.option("--actor", default="cli:submissions", show_default=True,
              help="Who decides (recorded in the audit trail).")
def nullify_cmd(case_ref: str, reason: str, actor: str) -> None:
    """Nullify CASE_REF for good: a nullification (C.1.11.1 = 1) to every regulator holding it,
    in the outbox when conformant; messages never sent are withdrawn."""
    from safety.submissions.requests import LifecycleRequestError, nullify_case
    from safety.submissions.service import submission_view

    settings = ready_settings()
    with database(settings) as session:
        case = find_case(session, case_ref)
        try:
            done = nullify_case(session, case, reason, actor, settings)
        except LifecycleRequestError as exc:
            raise click.ClickException(str(exc)) from exc
        rows = [submission_view(session, s) for s in done.messages]
        gone = [str(s.id) for s in done.withdrawn]
    for row in rows:
        row["findings"] = len(row["findings"])
        click.echo(json.dumps(row, default=str))
    click.echo(json.dumps({"case": done.case_number, "state": "nullified",
                           "nullifications": len(rows), "withdrawn": gone}), err=True)


@click.group("ack")
def ack_group() -> None:
    """Regulators' acknowledgements."""


@ack_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ack_import(path: Path) -> None:
    """Read an ACK (MCCI_IN200101UV01) and move the submissions it answers."""
    from safety.e2b.ack import read_ack
    from safety.e2b.hl7 import E2BError
    from safety.submissions.acks import apply_ack

    try:
        ack = read_ack(path.read_bytes())
    except E2BError as exc:
        raise click.ClickException(f"{path}: not a readable acknowledgement: {exc}") from exc
    with database(ready_settings()) as session:
        changed = apply_ack(session, ack, actor="cli:ack")
        out = [{"submission_id": str(s.id), "batch_id": s.batch_id, "state": s.state,
                "ack_code": s.ack_code, "reason": s.ack_text} for s in changed]
    if not out:
        raise click.ClickException(f"no submission for batch {ack.target_batch_id!r}")
    for row in out:
        click.echo(json.dumps(row))

"""``safety import``: SAE forms (JSON) and E2B(R3) batches (XML) from files, stored exactly as
the API stores them."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import click
from marshmallow import ValidationError

from safety.cli.common import chosen_sponsors, database, one_sponsor, ready_settings, scope
from safety.config import Settings


class _Quiet:
    """The progress bar's stand-in when standard error is no terminal (a script, a log):
    nothing is printed but the JSON lines."""

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _progress(length: int, label: str) -> Any:
    if not sys.stderr.isatty():
        return _Quiet()
    return click.progressbar(length=length, label=label, file=sys.stderr)


def _files(paths: tuple[str, ...]) -> list[str]:
    """The files named, and every ``.json`` and ``.xml`` file under a folder named (sorted)."""
    out: list[str] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            out.extend(str(f) for f in sorted(p.rglob("*"))
                       if f.is_file() and f.suffix.lower() in (".json", ".xml"))
        else:
            out.append(path)
    return out


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--site", "site_name", default="Imported reports", show_default=True,
              help="The site the reports come from (created if missing).")
@click.option("--wait", is_flag=True, help="Wait until every report is processed (exit 2 at "
              "once, importing nothing, when no worker is listening; exit 1 when the timeout "
              "passes first).")
@click.option("--timeout", default=120, show_default=True, help="Seconds --wait waits.")
def import_(paths: tuple[str, ...], site_name: str, wait: bool, timeout: int) -> None:
    """Import SAE forms (JSON: one form or a list of forms per file) and E2B(R3) batches
    (XML: each ICSR message becomes a report, as through the API), for the sponsor given with
    ``safety --sponsor CODE`` (or the only one). Without it, a form goes to the sponsor whose
    registry holds its study. A folder imports every .json and .xml file under it.

    Prints one JSON line per report: its id, the file, and its status; a progress bar on
    standard error when it is a terminal.
    """
    from safety.demo.service import submit_forms
    from safety.pipeline.dispatch import QueueDispatch
    from safety.queue.relay import flush_all
    from safety.sponsors.service import sponsors

    settings = ready_settings()
    if wait:
        _refuse_to_wait_for_nobody(settings)
    # Enqueued in batches by the relay thread (flushed before the command ends); a report
    # the relay could not enqueue is stored and the sweep enqueues it.
    dispatch = QueueDispatch(settings, relay=True)
    files = _files(paths)
    with database(settings) as session:
        several = len(sponsors(session)) > 1 and not chosen_sponsors()
        sponsor_id = None if several else one_sponsor(session)
    forms: list[tuple[str, dict[str, Any]]] = []
    xml_ids: list[uuid.UUID] = []
    with _progress(len(files), "Reading") as bar:
        failed = _read(settings, files, dispatch, sponsor_id, forms, xml_ids, bar)
    try:
        with _progress(len(forms), "Storing") as stored:
            ids = submit_forms(settings, [f for _, f in forms], dispatch,
                               sponsor_id=sponsor_id, site_name=site_name,
                               progress=stored.update)
    except ValueError as exc:  # a form's study in no sponsor's registry, or in several
        raise click.UsageError(str(exc)) from exc
    finally:
        flush_all(60.0)
    for (path, _), rid in zip(forms, ids, strict=True):
        click.echo(json.dumps({"report_id": str(rid), "file": path, "status": "received"}))
    if wait and (ids or xml_ids):
        for rid, status in wait_processed(settings, ids + xml_ids, timeout):
            click.echo(json.dumps({"report_id": str(rid), "status": status}))
            if status in ("received", "missing"):  # the timeout passed first
                failed = True
    if failed:
        sys.exit(1)


def _read(settings: Settings, files: list[str], dispatch: Any, sponsor_id: int | None,
          forms: list[tuple[str, dict[str, Any]]], xml_ids: list[uuid.UUID], bar: Any) -> bool:
    """Each file: an E2B batch is stored at once, the forms of a JSON file checked and kept
    for ``submit_forms``. True if any file or form could not be imported."""
    from safety.intake.service import SAE_FORM

    failed = False
    for path in files:
        bar.update(1)
        if path.lower().endswith(".xml"):
            if sponsor_id is None:
                click.echo(json.dumps({"file": path, "error": "name the sponsor the messages "
                                       "are for: safety --sponsor CODE import ..."}))
                failed = True
                continue
            got = _import_xml(settings, Path(path), dispatch, sponsor_id)
            failed |= got is None
            xml_ids.extend(got or [])
            continue
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: too deep
            click.echo(json.dumps({"file": path, "error": f"not readable JSON: {exc}"}))
            failed = True
            continue
        for i, form in enumerate(data if isinstance(data, list) else [data]):
            try:
                SAE_FORM.load(form)
            except ValidationError as err:
                click.echo(json.dumps({"file": path, "index": i, "error": "invalid form",
                                       "errors": err.messages}))
                failed = True
                continue
            forms.append((path, form))
    return failed


NO_WORKER = 2  # exit status of ``import --wait`` when no worker would process the reports


def _refuse_to_wait_for_nobody(settings: Settings) -> None:
    """``--wait`` with no worker listening would wait its whole timeout for nothing: refuse
    at once, before anything is stored, with exit status 2 (docs/decisions.md)."""
    from safety.pipeline.worker import listening_workers

    count = listening_workers(settings)
    if count:
        return
    why = ("Redis cannot be reached" if count is None
           else f"no worker is listening on queue {settings.queue_name!r}")
    click.echo(f"safety import --wait: {why}, so nothing would process the reports. Start "
               "one (`safety worker` or `safety serve`) and import again, or import without "
               "--wait: the reports are stored and processed when a worker starts. Nothing "
               "was imported.", err=True)
    sys.exit(NO_WORKER)


def _import_xml(settings: Settings, path: Path, dispatch: Any,
                sponsor_id: int) -> list[uuid.UUID] | None:
    """Each ICSR message of an E2B(R3) batch becomes a report, as through the API."""
    from safety.e2b.hl7 import E2BError
    from safety.intake.invalid import InvalidSubmission
    from safety.intake.service import Submitter, e2b_reports, reject_e2b, submit

    submitter = Submitter(actor="cli:import", sender="cli:import", site_id=None,
                          sponsor_id=sponsor_id)
    raw = path.read_bytes()
    try:
        reports = e2b_reports(submitter, raw)
        accepted = submit(settings.effective_database_url, reports, submitter, dispatch)
    except E2BError as exc:  # stored as sent, rejected with its reason: nothing is lost
        rejected = reject_e2b(settings.effective_database_url, submitter, raw, exc.where,
                              exc.reason)
        click.echo(json.dumps({"report_id": str(rejected.report.id), "file": str(path),
                               "status": "rejected",
                               "error": f"not a readable E2B(R3) batch: {exc}"}))
        return None
    except InvalidSubmission as exc:  # nothing of the batch was stored
        click.echo(json.dumps({"file": str(path), "error": "batch refused, nothing stored",
                               "errors": exc.errors}))
        return None
    for a in accepted:
        click.echo(json.dumps({"report_id": str(a.report.id), "file": str(path),
                               "message_id": a.message_id, "status": "received"}))
    return [a.report.id for a in accepted]


def wait_processed(settings: Settings, ids: list[uuid.UUID],
                   timeout: float) -> list[tuple[uuid.UUID, str]]:
    """Poll until every report is processed, held or failed (or the timeout passes)."""
    from safety.intake.service import report_statuses

    deadline = time.monotonic() + timeout
    shown = -1
    while True:
        with database(settings) as session:
            rows = report_statuses(session, ids)
        done = sum(1 for i in ids if rows.get(i) in ("processed", "held", "failed", "rejected"))
        if done != shown and len(ids) > 1:
            click.echo(f"{done}/{len(ids)} reports done", err=True)
            shown = done
        if done == len(ids):
            return [(i, rows[i]) for i in ids]
        if time.monotonic() > deadline:
            return [(i, rows.get(i, "missing")) for i in ids]
        time.sleep(0.5)


@click.command("partner-acks")
@click.option("--outbox", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the partners' outboxes: DIR/<sponsor>/<partner>/ack-*.xml")
@click.option("--since", default=None, help="Only batches received since this ISO date/time "
              "(default: the last 7 days).")
def partner_acks(outbox: Path, since: str | None) -> None:
    """Write the ICH acknowledgement (MCCI_IN200101UV01: AA, AE with the findings, or AR for
    a document that could not be read) of every E2B batch received (for the sponsors given
    with ``safety --sponsor``, every sponsor by default), into its sender's outbox folder.
    Run it as often as wanted: an ACK already written is not written again. Prints one JSON
    line per ACK written."""
    from datetime import UTC, datetime, timedelta

    from safety.intake.acks import inbound_since, write_to_outbox

    settings = ready_settings()
    try:
        start = datetime.fromisoformat(since) if since else \
            datetime.now(UTC) - timedelta(days=7)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date/time: {since!r}", param_hint="--since") \
            from exc
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    with database(settings) as session:
        chosen = scope(session).sponsor_ids
        for report in inbound_since(session, start,
                                    sorted(chosen) if chosen is not None else None):
            written = write_to_outbox(session, report, outbox)
            if written is not None:
                click.echo(json.dumps({"report_id": str(report.id), "ack": str(written)}))

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
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A migration manifest (.csv or .json, docs/import.md): each file with its "
              "site or sender, original receipt date and, for a case already reported, the "
              "day each regulator was sent it; imported in the manifest's order, waited for "
              "and reconciled.")
@click.option("--site", "site_name", default=None,
              help="The site every form comes from (created if missing); default: each "
              "form's own site (Site <number>).")
@click.option("--wait", is_flag=True, help="Wait until every report is processed (exit 2 at "
              "once, importing nothing, when no worker is listening; exit 1 when the timeout "
              "passes first). Implied by --manifest.")
@click.option("--timeout", default=120, show_default=True, help="Seconds --wait waits.")
def import_(paths: tuple[str, ...], manifest: Path | None, site_name: str | None, wait: bool,
            timeout: int) -> None:
    """Import SAE forms (JSON: one form or a list of forms per file) and E2B(R3) batches
    (XML: each ICSR message becomes a report, as through the API), for the sponsor given with
    ``safety --sponsor CODE`` (or the only one), in the order given. Without it, a form goes to
    the sponsor whose registry holds its study. A folder imports every .json and .xml file
    under it.

    With ``--manifest`` (a migration): each report keeps its original receipt (E2B: C.1.4 and
    C.1.5 of its message, or the manifest's date; forms: the manifest's date) and sender; a
    historical case's obligations are recorded as submitted on the manifest's dates; the
    command waits for the workers and ends with a reconciliation (files and reports in,
    cases out), exiting 1 when any report is unaccounted for.

    Prints one JSON line per report: its id, the file, and its status; a progress bar on
    standard error when it is a terminal.
    """
    from safety.intake.manifest import ManifestEntry, ManifestError, parse_manifest
    from safety.pipeline.dispatch import QueueDispatch
    from safety.queue.relay import flush_all
    from safety.sponsors.service import sponsors

    if bool(paths) == (manifest is not None):
        raise click.UsageError("give the files to import, or --manifest FILE (not both)")
    settings = ready_settings()
    with database(settings) as session:
        several = len(sponsors(session)) > 1 and not chosen_sponsors()
        sponsor_id = None if several and manifest is None else one_sponsor(session)
    entries: list[ManifestEntry]
    if manifest is not None:
        try:
            entries = parse_manifest(manifest.read_text(encoding="utf-8"),
                                     base=manifest.parent,
                                     fmt=manifest.suffix.lower().lstrip("."))
        except (ManifestError, OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"--manifest {manifest}: {exc}") from exc
        wait = True
    else:
        entries = [ManifestEntry(0, Path(p), site_name) for p in _files(paths)]
    if wait:
        _refuse_to_wait_for_nobody(settings)
    # Enqueued in batches by the relay thread (flushed before the command ends); a report
    # the relay could not enqueue is stored and the sweep enqueues it. Each report's stages
    # run in its own job right after its intake (``safety.pipeline.jobs``), and each file is
    # handed over as soon as it is stored: the workers process the first reports while the
    # rest are still being imported.
    # A migration goes on the low-priority queue: live reports arriving meanwhile are taken
    # first; each migrated report's stages still run in its own job, right after its intake.
    dispatch = QueueDispatch(settings, relay=True, bulk=manifest is not None)
    run = _Run(settings, dispatch, sponsor_id, manifest)
    try:
        with _progress(len(entries), "Importing") as bar:
            for entry in entries:
                run.one(entry)
                bar.update(1)
    finally:
        flush_all(60.0)
    ids = [rid for f in run.files for rid in f.stored]
    failed = run.failed
    if manifest is not None:  # a report rejected with its reason is accounted for
        failed = not _reconciled(settings, run.files, timeout)
    elif wait and ids:
        for rid, status in wait_processed(settings, ids, timeout):
            click.echo(json.dumps({"report_id": str(rid), "status": status}))
            if status in ("received", "missing"):  # the timeout passed first
                failed = True
    if failed:
        sys.exit(1)


class _Run:
    """One import: the files in order, each stored and handed to the workers at once."""

    def __init__(self, settings: Settings, dispatch: Any, sponsor_id: int | None,
                 manifest: Path | None) -> None:
        from safety.review.reconciliation import FileIn

        self.settings, self.dispatch, self.sponsor_id = settings, dispatch, sponsor_id
        self.manifest = manifest
        self.files: list[FileIn] = []
        self.failed = False
        self.migration: Any = None
        if manifest is not None and sponsor_id is not None:
            from safety.intake.migration import local_run

            with database(settings) as session:
                self.migration = local_run(session, sponsor_id, str(manifest),
                                           actor="cli:import")

    def one(self, entry: Any) -> None:
        from safety.review.reconciliation import FileIn

        if self.migration is not None:  # the migration's one path (the API's too)
            from safety.intake.migration import import_file

            done = import_file(self.settings, self.migration, entry, self.dispatch)
            for line in done.lines:
                click.echo(json.dumps(line))
            self.files.append(FileIn(done.path, done.reports_in, done.stored, done.refused))
            self.failed = self.failed or done.failed
            return
        path = str(entry.path)
        got = FileIn(path, 0)
        self.files.append(got)
        if path.lower().endswith(".xml"):
            if self.sponsor_id is None:
                self._refused(got, "name the sponsor the messages are for: "
                                   "safety --sponsor CODE import ...")
                return
            self._xml(entry, got)
        else:
            self._forms(entry, got)

    def _refused(self, got: Any, reason: str, **more: Any) -> None:
        got.reports_in += 1
        got.refused.append(reason)
        click.echo(json.dumps({"file": got.path, "error": reason, **more}))
        self.failed = True

    def _xml(self, entry: Any, got: Any) -> None:
        """Each ICSR message of an E2B(R3) batch becomes a report, as through the API."""
        from safety.e2b.hl7 import E2BError
        from safety.intake.invalid import InvalidSubmission
        from safety.intake.service import Submitter, e2b_reports, reject_e2b, submit

        submitter = Submitter(actor="cli:import", sender="cli:import", site_id=None,
                              sponsor_id=self.sponsor_id or 0)
        raw = entry.path.read_bytes()
        try:
            reports = e2b_reports(submitter, raw)
            got.reports_in = len(reports)
            accepted = submit(self.settings.effective_database_url, reports, submitter,
                              self.dispatch)
        except E2BError as exc:  # stored as sent, rejected with its reason: nothing is lost
            rejected = reject_e2b(self.settings.effective_database_url, submitter, raw,
                                  exc.where, exc.reason)
            got.reports_in = 1
            got.stored.append(rejected.report.id)
            click.echo(json.dumps({"report_id": str(rejected.report.id), "file": got.path,
                                   "status": "rejected",
                                   "error": f"not a readable E2B(R3) batch: {exc}"}))
            self.failed = True
            return
        except InvalidSubmission as exc:  # nothing of the batch was stored
            got.reports_in = max(got.reports_in, 1)
            reason = f"batch refused, nothing stored: {json.dumps(exc.errors)}"
            got.refused.extend([reason] * got.reports_in)
            click.echo(json.dumps({"file": got.path, "error": "batch refused, nothing stored",
                                   "errors": exc.errors}))
            self.failed = True
            return
        for a in accepted:
            got.stored.append(a.report.id)
            click.echo(json.dumps({"report_id": str(a.report.id), "file": got.path,
                                   "message_id": a.message_id, "status": "received"}))

    def _forms(self, entry: Any, got: Any) -> None:
        """The SAE forms of a JSON file, each checked, then stored under the file's site
        (``--site``, or the form's own)."""
        from safety.demo.service import submit_forms
        from safety.intake.service import checked_forms

        try:
            data = json.loads(entry.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: too deep
            self._refused(got, f"not readable JSON: {exc}")
            return
        forms, invalid = checked_forms(data)
        got.reports_in += len(forms) + len(invalid)
        for i, messages in invalid:
            got.refused.append(f"form {i}: invalid form: {json.dumps(messages)}")
            click.echo(json.dumps({"file": got.path, "index": i, "error": "invalid form",
                                   "errors": messages}))
            self.failed = True
        try:
            ids = submit_forms(self.settings, forms, self.dispatch, sponsor_id=self.sponsor_id,
                               site_name=entry.site)
        except ValueError as exc:  # a form's study in no sponsor's registry, or in several
            raise click.UsageError(str(exc)) from exc
        for rid in ids:
            got.stored.append(rid)
            click.echo(json.dumps({"report_id": str(rid), "file": got.path,
                                   "status": "received"}))


def _reconciled(settings: Settings, files: list[Any], timeout: float) -> bool:
    """Wait until every report is done with (its stages too), then print the reconciliation:
    one JSON line, and the counts in words on standard error. True when it closes."""
    from datetime import datetime

    from safety.review.reconciliation import reconcile, settled

    ids = [rid for f in files for rid in f.stored]
    deadline = time.monotonic() + timeout
    shown = -1
    while ids:
        with database(settings) as session:
            done = settled(session, ids)
        if done != shown:
            click.echo(f"{done}/{len(ids)} reports done", err=True)
            shown = done
        if done == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    with database(settings) as session:
        rec = reconcile(session, files, datetime.now(settings.zone).date())
    out = rec.as_dict()
    click.echo(json.dumps({"reconciliation": out}, default=str))
    cases = out["cases_out"]
    click.echo(
        f"Reconciliation: {out['files']} files, {out['reports_in']} reports in; "
        f"{cases['new_case']} new cases, {cases['follow_up']} follow-ups, "
        f"{cases['resend']} identical re-sends, {cases['held']} held, "
        f"{cases['rejected']} rejected, {cases['failed']} failed; "
        f"{out['duplicates_flagged']} flagged as suspected duplicates; "
        f"{out['historical_obligations_submitted']} obligations recorded as already submitted, "
        f"{out['open_obligations']} open ({out['overdue_obligations']} overdue); "
        f"{out['unaccounted']} unaccounted"
        + ("" if rec.closes else " -- DOES NOT RECONCILE"), err=True)
    return rec.closes


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

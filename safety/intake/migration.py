"""A migration's reports stored as they were originally received: the one path of
``safety import --manifest`` and of the migration API (``/api/v1/migrations``), docs/import.md.

Each submission (a manifest's row: an E2B(R3) batch or a file of SAE forms; or one posted by
a migration client) is stored in one transaction, all its reports or none, each report with
its original receipt (:func:`safety.intake.service.migrated`), its sender and what the
migration said of it, then handed to the migration's dispatcher (the low-priority queue). The
outcome names every report stored and every one refused before storing, with its reason: the
reconciliation's "in".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.clients import get_or_create_site
from safety.config import Settings
from safety.db.session import unit_of_work
from safety.e2b.hl7 import E2BError
from safety.intake.invalid import InvalidSubmission
from safety.intake.manifest import ManifestEntry
from safety.intake.service import (
    Dispatch,
    Submitter,
    checked_forms,
    e2b_reports,
    migrated,
    original_receipt,
    reject_e2b,
    site_form_report,
    submit,
)
from safety.intake.store import (
    Incoming,
    Migration,
    MigrationRun,
    create_run,
    reserve,
    run_reports,
)
from safety.sponsors.service import profile

__all__ = ["MigrationRun", "Outcome", "Run", "api_run", "find_run", "import_e2b", "import_file",
           "import_forms", "local_run", "run_items", "start_run"]


@dataclass
class Run:
    """One migration as it is stored: the sponsor, its zone (a date is the start of that day
    there), who stores it, and where the next report goes in the import's order.

    ``reserve(n)`` gives the position before the next ``n`` reports and the submission's
    number (``safety import``: counted in memory; the API: the run's row, under its lock)."""

    sponsor_id: int
    zone: ZoneInfo
    actor: str
    label: str
    reserve: Callable[[int], tuple[int, int | None]]
    run_id: uuid.UUID | None = None
    # Site names looked up once per run, not once per form (a tenth of storing a form).
    sites: dict[str, int] = field(default_factory=dict)


def local_run(session: Session, sponsor_id: int, label: str, *, actor: str) -> Run:
    """A run counted in this process (``safety import --manifest``: one process imports the
    whole manifest, in its order)."""
    count = {"position": 0}

    def take(n: int) -> tuple[int, int | None]:
        first = count["position"]
        count["position"] += n
        return first, None

    return Run(sponsor_id, profile(session, sponsor_id).zone, actor, label, take)


def start_run(session: Session, sponsor_id: int, label: str, *, actor: str) -> MigrationRun:
    """A migration client's new run (audited); its id names it in the API."""
    return create_run(session, sponsor_id, label, actor=actor)


def api_run(settings: Settings, session: Session, run: MigrationRun, *, actor: str) -> Run:
    """A stored run, its positions reserved under the run's row lock in a transaction of
    their own (committed before the reports are stored: a position is never given twice)."""
    run_id = run.id

    def take(n: int) -> tuple[int, int | None]:
        with unit_of_work(settings) as s:
            return reserve(s, run_id, n)

    return Run(run.sponsor_id, profile(session, run.sponsor_id).zone, actor,
               f"migration {run.id}", take, run_id=run.id)


def find_run(session: Session, run_id: uuid.UUID) -> MigrationRun | None:
    """A run the session may see (another sponsor's is not found: the session is restricted
    to the caller's sponsors before this runs)."""
    found: MigrationRun | None = session.execute(
        select(MigrationRun).where(MigrationRun.id == run_id)).scalar_one_or_none()
    return found


def run_items(session: Session, run_id: uuid.UUID) -> dict[int, list[uuid.UUID]]:
    """The reports of a run by the submission that brought them (the reconciliation's files)."""
    out: dict[int, list[uuid.UUID]] = {}
    for item, rid in run_reports(session, run_id):
        out.setdefault(item, []).append(rid)
    return out


@dataclass
class Outcome:
    """What became of one submission: how many reports it held, the ids stored, those refused
    before storing (each with its reason), and one line per report for the caller to show."""

    path: str
    reports_in: int = 0
    stored: list[uuid.UUID] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    item: int | None = None
    # A submission refused whole (a value too long, a message without a date): what is wrong,
    # by field, as the API answers it (nothing was stored).
    errors: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        """Something of it was refused or rejected (accounted for, but not as a case)."""
        return bool(self.refused) or any(x.get("status") == "rejected" for x in self.lines)


def import_file(settings: Settings, run: Run, entry: ManifestEntry, dispatch: Dispatch) -> Outcome:
    """A manifest's row, read from its file."""
    path = str(entry.path)
    if entry.is_xml:
        return import_e2b(settings, run, entry, entry.path.read_bytes(), dispatch, path=path)
    try:
        data = json.loads(entry.path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        out = Outcome(path, reports_in=1)
        reason = f"not readable JSON: {exc}"
        out.refused.append(reason)
        out.lines.append({"file": path, "error": reason})
        return out
    return import_forms(settings, run, entry, data, dispatch, path=path)


def _source(run: Run, entry: ManifestEntry, path: str, what: str) -> str:
    where = f"row {entry.row}" if entry.row else "submission"
    return f"{run.label} {where}: {path} {what}"[:1000]


def import_e2b(settings: Settings, run: Run, entry: ManifestEntry, raw: bytes,
               dispatch: Dispatch, *, path: str) -> Outcome:
    """Each ICSR message of an E2B(R3) batch as a report, received when it originally was:
    the manifest's date, else its own C.1.5 (else C.1.4); sent by the manifest's sender,
    else its own N.2.r.2. A message with no date at all refuses the batch (nothing stored);
    a document that is not an ICSR batch is stored as sent and rejected with its reason."""
    out = Outcome(path)
    submitter = Submitter(actor=run.actor, sender=run.actor, site_id=None,
                          sponsor_id=run.sponsor_id)
    try:
        reports = e2b_reports(submitter, raw)
        out.reports_in = len(reports)
        # Read once per message (decoding a case is a tenth of storing it).
        receipts = [entry.received or original_receipt(incoming) for incoming, _ in reports]
        undated = {f"message {i + 1}": {"C.1.5": [
            "no original receipt date (C.1.5, C.1.4): give `received` in the manifest"]}
            for i, when in enumerate(receipts) if when is None}
        if undated:
            raise InvalidSubmission({"xml": undated})
        first, item = run.reserve(len(reports))
        out.item = item
        stamped = []
        for i, ((incoming, message_id), when) in enumerate(zip(reports, receipts,
                                                                strict=True)):
            assert when is not None  # undated messages refused the batch above
            sender = incoming.sender if entry.sender is None else f"e2b:{entry.sender}"
            stamped.append((migrated(
                replace(incoming, sender=sender), when, run.zone, first + i + 1,
                source=_source(run, entry, path, f"message {i + 1} ({message_id})"),
                original_sender=entry.sender or incoming.sender.removeprefix("e2b:"),
                submitted=entry.submitted, run_id=run.run_id, run_item=item), message_id))
        accepted = submit(settings.effective_database_url, stamped, submitter, dispatch)
    except E2BError as exc:  # stored as sent, rejected with its reason: nothing is lost
        _, item = run.reserve(1)
        out.item = item
        rejected = reject_e2b(settings.effective_database_url, submitter, raw, exc.where,
                              exc.reason, migration=_rejected_migration(run, entry, path, item))
        out.reports_in = 1
        out.stored.append(rejected.report.id)
        out.lines.append({"report_id": str(rejected.report.id), "file": path,
                          "status": "rejected",
                          "error": f"not a readable E2B(R3) batch: {exc}"})
        return out
    except InvalidSubmission as exc:  # nothing of the batch was stored
        out.reports_in = max(out.reports_in, 1)
        return _nothing_stored(out, path, "batch", out.reports_in, exc)
    for a in accepted:
        out.stored.append(a.report.id)
        out.lines.append({"report_id": str(a.report.id), "file": path,
                          "message_id": a.message_id, "status": "received"})
    return out


def _nothing_stored(out: Outcome, path: str, what: str, reports: int,
                    exc: InvalidSubmission) -> Outcome:
    """A submission refused whole (its one transaction stored nothing): each of its
    ``reports`` is counted refused, with the errors, in the reconciliation."""
    error = f"{what} refused, nothing stored"
    out.refused.extend([f"{error}: {json.dumps(exc.errors)}"] * reports)
    out.errors = exc.errors
    out.lines.append({"file": path, "error": error, "errors": exc.errors})
    return out


def _rejected_migration(run: Run, entry: ManifestEntry, path: str,
                        item: int | None) -> Migration:
    return Migration(source=_source(run, entry, path, "(not an ICSR batch)"),
                     original_sender=entry.sender, run_id=run.run_id, run_item=item)


def import_forms(settings: Settings, run: Run, entry: ManifestEntry, data: Any,
                 dispatch: Dispatch, *, path: str) -> Outcome:
    """The SAE forms of one submission (one form or a list), each checked by the form's
    contract (an invalid one is refused with its errors, the others stored), under the
    submission's site (the manifest's, else the form's own ``Site <number>``, created for
    the sponsor if missing), received on the manifest's date: all stored in one transaction."""
    out = Outcome(path)
    if entry.received is None:
        raise ValueError("received: required for SAE forms")
    forms, invalid = checked_forms(data)
    out.reports_in += len(forms) + len(invalid)
    for i, messages in invalid:
        out.refused.append(f"form {i}: invalid form: {json.dumps(messages)}")
        out.lines.append({"file": path, "index": i, "error": "invalid form",
                          "errors": messages})
    if not forms:
        return out
    site_ids = _sites(settings, run, entry, forms)
    first, item = run.reserve(len(forms))
    out.item = item
    incoming: list[Incoming] = []
    for i, (form, site_id) in enumerate(zip(forms, site_ids, strict=True)):
        submitter = Submitter(actor=run.actor, sender=f"site:{site_id}", site_id=site_id,
                              sponsor_id=run.sponsor_id)
        incoming.append(migrated(
            site_form_report(submitter, form), entry.received, run.zone, first + i + 1,
            source=_source(run, entry, path, f"form {i + 1}"), original_sender=entry.site,
            submitted=entry.submitted, run_id=run.run_id, run_item=item))
    submitter = Submitter(actor=run.actor, sender=run.actor, site_id=None,
                          sponsor_id=run.sponsor_id)
    try:
        accepted = submit(settings.effective_database_url, incoming, submitter, dispatch)
    except InvalidSubmission as exc:  # a value too long for its column: nothing stored
        return _nothing_stored(out, path, "forms", len(forms), exc)
    for a in accepted:
        out.stored.append(a.report.id)
        out.lines.append({"report_id": str(a.report.id), "file": path, "status": "received"})
    return out


def _sites(settings: Settings, run: Run, entry: ManifestEntry,
           forms: list[dict[str, Any]]) -> list[int]:
    """Each form's site id: the manifest's site, else the form's own; looked up (or created)
    once per run."""
    wanted: list[tuple[str, str | None, str | None]] = []
    for form in forms:
        site = form["site"] if isinstance(form.get("site"), dict) else {}
        study = form["study"] if isinstance(form.get("study"), dict) else {}
        name = entry.site or f"Site {site.get('number', 'demo')}"
        wanted.append((name, site.get("country"), study.get("protocol_number")))
    missing = [w for w in wanted if w[0] not in run.sites]
    if missing:
        with unit_of_work(settings) as session:
            for name, country, protocol in missing:
                if name not in run.sites:
                    found, _ = get_or_create_site(session, name, country, run.sponsor_id,
                                                  protocol=protocol, actor=run.actor)
                    run.sites[name] = found.id
    return [run.sites[name] for name, _, _ in wanted]

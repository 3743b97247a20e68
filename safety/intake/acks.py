"""Acknowledgements (ICH MCCI_IN200101UV01) for the E2B batches partners send us.

Written automatically (:func:`ack_when_complete`): as soon as every message of a batch is
processed (or held for a person: stored, not refused), the batch's ACK goes to the partner's
outbox folder, once; a batch that could not be read (``rejected``) is answered at the next
sweep (:func:`write_pending`). ICH ACK rules (E2B(R3) IG, acknowledgement message): one ACK
per batch (ACK.A.4 AA when every ICSR is accepted without error, AE when an ICSR has errors
or is not accepted, AR when the batch could not be read), one message ACK per ICSR (ACK.B.r.6
CA loaded, CR not loaded) with the errors as ACK.B.r.7 text. An ACK stays retrievable through
the API and ``safety partner-acks`` as before.

An ACK answers a batch's acceptance at the door, not its case processing: it is made from what
was stored (the raw batch, the reports of its messages and the findings of reading and checking
each one), so it can be sent as soon as the batch is stored and is the same every time it is
made. Per message: accepted without findings (CA), accepted with findings (CA, the findings as
ACK.B.r.7 text, and the batch AE). A document that could not be read at all is answered AR with
its reason (the batch was stored as one ``rejected`` report).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.e2b.ack import write_ack, write_rejection_ack
from safety.e2b.hl7 import E2BError
from safety.e2b.reader import read_batch
from safety.intake.status import DONE, ReportStatus
from safety.intake.store import Report
from safety.sponsors.service import profile

# The reports of one batch are stored in one transaction, within moments of each other.
_SAME_BATCH = timedelta(seconds=30)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class BatchAck:
    report_ids: list[uuid.UUID]  # the batch's reports, by message
    partner: str  # who the ACK goes to (the batch sender N.1.3, or our record of the sender)
    filename: str
    xml: bytes


class NotAnE2BReport(ValueError):
    """The report did not come as an E2B message: there is nothing to acknowledge."""


def batch_reports(session: Session, report: Report) -> list[Report]:
    """The reports stored from the same batch as ``report``, in message order (one report
    when the batch could not be read)."""
    if report.status == ReportStatus.REJECTED:
        return [report]
    rows = session.execute(select(Report).where(
        Report.sponsor_id == report.sponsor_id, Report.channel == "e2b",
        Report.payload_sha256 == report.payload_sha256,
        Report.api_client_id.is_not_distinct_from(report.api_client_id),
        Report.received_at.between(report.received_at - _SAME_BATCH,
                                   report.received_at + _SAME_BATCH))).scalars().all()
    by_index: dict[int, Report] = {}
    for r in sorted(rows, key=lambda r: abs(r.received_at - report.received_at)):
        index = r.payload.get("index") if isinstance(r.payload, dict) else None
        if isinstance(index, int):
            by_index.setdefault(index, r)
    mine = report.payload.get("index")
    if isinstance(mine, int):
        by_index[mine] = report
    return [by_index[i] for i in sorted(by_index)]


def report_ack(session: Session, report: Report) -> BatchAck:
    """The ACK of the batch ``report`` came in; :class:`NotAnE2BReport` for a form."""
    if report.channel != "e2b":
        raise NotAnE2BReport(f"report {report.id} came as {report.channel}, not E2B")
    our_id = profile(session, report.sponsor_id).org_code
    reports = batch_reports(session, report)
    first = reports[0]
    ack_id = str(uuid.uuid5(first.id, "ack"))
    if report.status == ReportStatus.REJECTED:
        rejected = report.payload.get("rejected") or {}
        partner = report.sender.split(":", 1)[-1]
        xml = write_rejection_ack(
            our_id=our_id, partner=partner, ack_id=ack_id, now=report.received_at,
            reason=f"not a readable E2B(R3) batch: {rejected.get('where')}: "
                   f"{rejected.get('reason')}")
        return BatchAck([report.id], partner, _filename(partner, ack_id), xml)
    try:
        received = read_batch(report.raw)
    except E2BError as exc:  # stored as readable, so read then: this code has changed since
        raise NotAnE2BReport(f"report {report.id}: its batch no longer reads: {exc}") from exc
    by_index = {r.payload.get("index"): r for r in reports}
    local_ids = [str(by_index[i].id) if i in by_index else f"{first.id}#{i}"
                 for i in range(len(received))]
    findings = [[_line(f) for f in (by_index[i].payload.get("findings") or [])]
                if i in by_index else [] for i in range(len(received))]
    partner = received[0].header.batch_sender or report.sender.split(":", 1)[-1]
    xml = write_ack(received, our_id=our_id, ack_id=ack_id, local_ids=local_ids,
                    findings=findings, now=first.received_at)
    return BatchAck([r.id for r in reports], partner, _filename(partner, ack_id), xml)


def _line(finding: dict[str, str]) -> str:
    return f"{finding.get('criterion', '-')} [{finding.get('code', '')}] " \
           f"{finding.get('message', '')}"


def _filename(partner: str, ack_id: str) -> str:
    return f"ack-{_SAFE.sub('_', partner)[:60] or 'unknown'}-{ack_id}.xml"


def write_to_outbox(session: Session, report: Report, outbox: Path) -> Path | None:
    """Put the ACK of ``report``'s batch in the partner's outbox folder
    (``<outbox>/<sponsor code>/<partner>/``), once: ``None`` when it is there already."""
    ack = report_ack(session, report)
    sponsor = profile(session, report.sponsor_id).code
    folder = outbox / sponsor / (_SAFE.sub("_", ack.partner)[:60] or "unknown")
    target = folder / ack.filename
    if target.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(ack.xml)
    partial.replace(target)
    return target


def inbound_since(session: Session, since: object, sponsor_ids: list[int] | None) -> list[Report]:
    """The first report of every E2B batch received since ``since`` (one per batch)."""
    stmt = select(Report).where(Report.channel == "e2b", Report.received_at >= since)
    if sponsor_ids is not None:
        stmt = stmt.where(Report.sponsor_id.in_(sponsor_ids))
    out = []
    for r in session.execute(stmt.order_by(Report.received_at)).scalars():
        if r.status == ReportStatus.REJECTED or (isinstance(r.payload, dict)
                                                 and r.payload.get("index") == 0):
            out.append(r)
    return out


def batch_complete(session: Session, report: Report) -> bool:
    """Whether every message of ``report``'s batch is done (processed, held or rejected):
    the ACK says what became of each, so it waits for the last."""
    if report.channel != "e2b":
        return False
    reports = batch_reports(session, report)
    expected = report.payload.get("count") if isinstance(report.payload, dict) else None
    if isinstance(expected, int) and len(reports) < expected:
        return False
    return all(r.status in DONE for r in reports)


def ack_when_complete(session: Session, report: Report, outbox: Path) -> Path | None:
    """Write the ACK of ``report``'s batch to the partner's outbox when the batch is complete
    and its ACK is not there yet; the path written, else ``None``."""
    if not batch_complete(session, report):
        return None
    return write_to_outbox(session, report, outbox)


def ack_report(session: Session, report_id: uuid.UUID, outbox: Path) -> Path | None:
    """:func:`ack_when_complete` for the report with ``report_id`` (just processed)."""
    report = session.get(Report, report_id)
    return ack_when_complete(session, report, outbox) if report is not None else None


def write_pending(session: Session, since: datetime, outbox: Path) -> list[Path]:
    """The ACKs of the batches received since ``since`` that are complete and not written
    yet (a rejected batch, or one whose worker wrote no ACK), written now."""
    out = []
    for report in inbound_since(session, since, None):
        written = ack_when_complete(session, report, outbox)
        if written is not None:
            out.append(written)
    return out

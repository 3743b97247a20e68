"""Reports: one committed row per report before anyone is told "accepted", and the only code
that changes a report's status afterwards (:func:`set_status`, :func:`record_failure`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, defer, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from safety.audit.store import append, audit_values, record
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, enum_type, utcnow
from safety.db.memo import once, recalled, remember
from safety.db.session import get_engine, get_intake_engine, normalise_url
from safety.db.tenancy import SponsorOwned
from safety.intake.failure import public_reason
from safety.intake.idempotency import check_same_body
from safety.intake.invalid import InvalidSubmission, too_long
from safety.intake.status import REPORT_STATUS, ReportStatus


class Report(SponsorOwned, Base):
    """A submission exactly as received. Immutable once stored, except its processing status.

    The regulatory clock can start at ``received_at``, so the row is committed before the API
    answers; processing happens later and only fills in the status columns.
    """

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("api_client_id", "idempotency_key"),
        Index("ix_reports_status_received", "status", "received_at"),
        Index("ix_reports_sender_case", "sender", "sender_case_id"),
    )

    # What was received never changes; only the processing columns do.
    __updatable__ = frozenset({"status", "findings", "attempts", "last_error", "enqueued_at",
                               "processed_at", "case_id", "case_version_id", "receipts"})
    __keep_rows__ = True

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(String(20))  # site_form | e2b | literature | spontaneous
    content_type: Mapped[str] = mapped_column(String(100))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    payload: Mapped[Any] = mapped_column(JSONDoc)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(200))
    sender_case_id: Mapped[str | None] = mapped_column(String(200))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    status: Mapped[ReportStatus] = mapped_column(enum_type(ReportStatus, "report_status", 20),
                                                 default=ReportStatus.RECEIVED)
    findings: Mapped[Any] = mapped_column(JSONDoc, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_versions.id", use_alter=True)
    )
    # Who received the information and when, as the report says (safety.intake.receipts):
    # [{"party", "role", "at"}], written when the report becomes a version (migration 0014).
    receipts: Mapped[Any] = mapped_column(JSONDoc, default=list, server_default="[]")


# Built once: statements with bound parameters are compiled once and cached.
_INSERT_REPORT = insert(Report.__table__)

# PostgreSQL: the report and its audit row in one statement, one round trip, sent by the driver
# directly. The API's intake path is the hottest write of the service, and the ORM session and
# two statements cost it about twice as much CPU as this.
_PG_INSERT = """
WITH r AS (
  INSERT INTO reports (id, received_at, channel, content_type, raw, payload, payload_sha256,
                       sender, sender_case_id, site_id, sponsor_id, api_client_id,
                       idempotency_key, status, findings, attempts)
  VALUES (%(id)s, %(received_at)s, %(channel)s, %(content_type)s, %(raw)s, %(payload)s, %(sha)s,
          %(sender)s, %(sender_case_id)s, %(site_id)s, %(sponsor_id)s, %(client_id)s, %(key)s,
          'received', '[]', 0)
  RETURNING id)
INSERT INTO audit_events (at, actor, action, entity_type, entity_id, sponsor_id, changes)
SELECT %(at)s, %(actor)s, 'report.received', 'reports', r.id::text, %(sponsor_id)s,
       '[{"field": "status", "from": null, "to": "received"}]'::jsonb FROM r
"""
# A migrated report: the report, its migration row and its audit row in one statement (the
# migration row was a second round trip per report, a tenth of storing a migration's form).
_PG_INSERT_MIGRATED = _PG_INSERT.replace("\nINSERT INTO audit_events", """,
m AS (
  INSERT INTO migrated_reports (report_id, sponsor_id, imported_at, source, original_sender,
                                submitted, run_id, run_item)
  SELECT r.id, %(sponsor_id)s, %(at)s, %(source)s, %(original_sender)s, %(submitted)s,
         %(run_id)s, %(run_item)s FROM r)
INSERT INTO audit_events""", 1)
_PG_BY_KEY = ("SELECT id, status, payload_sha256 FROM reports "
              "WHERE api_client_id = %s AND idempotency_key = %s")
_PG_BY_ID = "SELECT id, status, payload_sha256 FROM reports WHERE id = %s"


def lock_report(session: Session, report_id: uuid.UUID) -> Report:
    """The report, locked for its processing, with whether a migration brought it (one
    statement; in a pipeline job both are kept for :func:`locked_report` and
    :func:`migration_of`, the report's object being current in the job's transaction, which
    writes it through this object)."""
    report, migrated = session.execute(_lock_report(), {"report_id": report_id}).one()
    remember(session, ("locked-report", report.id), report)
    remember(session, ("migration-of", report.id), migrated)
    return report


@cache
def _lock_report() -> Select[Report, MigratedReport]:
    """Built once, like the other statements every report's job runs: building and keying a
    statement cost about what running it did (issue 20)."""
    return (select(Report, MigratedReport)
            .outerjoin(MigratedReport, MigratedReport.report_id == Report.id)
            .where(Report.id == bindparam("report_id")).with_for_update(of=Report)
            # The bytes as received stay in the database: processing reads the parsed payload.
            .options(defer(Report.raw)))


def migration_of(session: Session, report_id: uuid.UUID) -> MigratedReport | None:
    """The migration record of a report (None: it came in live); once per pipeline job."""
    return once(session, ("migration-of", report_id),
                lambda: session.get(MigratedReport, report_id))


def locked_report(session: Session, report_id: uuid.UUID) -> Report | None:
    """The report this pipeline job locked, current in its transaction; None outside a job
    or for another report (ask the database)."""
    report = recalled(session, ("locked-report", report_id))
    return report if isinstance(report, Report) else None


@dataclass(frozen=True)
class StoredReport:
    id: uuid.UUID
    status: str


class MigratedReport(SponsorOwned, Base):
    """A report brought in by a migration (``safety import --manifest``): its
    ``received_at`` is the original receipt, not the import; this row says when it was
    imported, from which manifest row, from whom originally, and, for a historical case, the
    day each regulator was already sent it (its obligations are recorded as submitted then).
    Immutable, as the report."""

    __tablename__ = "migrated_reports"
    __keep_rows__ = True

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(1000))
    original_sender: Mapped[str | None] = mapped_column(String(200))
    submitted: Mapped[Any] = mapped_column(JSONDoc, nullable=True)  # {regulator: date} or None
    # A migration client's run (the API) and which of its submissions brought the report in
    # (one "file" of its reconciliation); None for ``safety import --manifest``.
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        UuidKey, ForeignKey("migration_runs.id"), index=True, nullable=True)
    run_item: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MigrationRun(SponsorOwned, Base):
    """A migration client's run (``POST /api/v1/migrations``): the reports it submits keep
    their original receipt, in the order submitted (``next_position``, reserved as each
    submission is stored), and are reconciled together (``items``: submissions accepted)."""

    __tablename__ = "migration_runs"
    __updatable__ = frozenset({"next_position", "items"})
    __keep_rows__ = True

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    next_position: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Migration:
    """What a migration says of one report (stored as :class:`MigratedReport`)."""

    source: str  # the manifest and its row, the file and the message
    original_sender: str | None = None
    submitted: dict[str, str] | None = None
    run_id: uuid.UUID | None = None  # a migration client's run, and its submission
    run_item: int | None = None


def create_run(session: Session, sponsor_id: int, label: str, *, actor: str) -> MigrationRun:
    """A new migration run of the sponsor (audited)."""
    run = MigrationRun(sponsor_id=sponsor_id, label=label, created_by=actor, next_position=0,
                       items=0)
    session.add(run)
    session.flush()
    record(session, actor=actor, action="migration.run_created", entity=run,
           changes=[{"field": "label", "from": None, "to": label}])
    return run


def reserve(session: Session, run_id: uuid.UUID, reports: int) -> tuple[int, int]:
    """Reserve the next ``reports`` positions of a run and the number of its next submission,
    under the run's row lock (two submissions at once get distinct positions in the order they
    took it): (the position before the first, the submission's number)."""
    run = session.execute(select(MigrationRun).where(MigrationRun.id == run_id)
                          .with_for_update()).scalar_one()
    first = run.next_position
    run.next_position = first + reports
    run.items = run.items + 1
    session.flush()
    return first, run.items


def run_reports(session: Session, run_id: uuid.UUID) -> list[tuple[int, uuid.UUID]]:
    """Every report of a run with the submission that brought it, in the order stored."""
    rows = session.execute(
        select(MigratedReport.run_item, MigratedReport.report_id)
        .join(Report, Report.id == MigratedReport.report_id)
        .where(MigratedReport.run_id == run_id)
        .order_by(Report.received_at)).all()
    return [(int(item or 0), rid) for item, rid in rows]


@dataclass(frozen=True)
class Incoming:
    channel: str
    content_type: str
    raw: bytes
    payload: Any
    sender: str
    sender_case_id: str | None
    site_id: int | None
    sponsor_id: int
    idempotency_key: str | None = None
    # A migrated report's original receipt (None: received now) and what the migration said.
    received_at: datetime | None = None
    migration: Migration | None = None
    # ``payload`` as the JSON text it was read from (a form's UTF-8 body), when there is one:
    # PostgreSQL stores it as ``jsonb`` directly (the same value), rather than the payload
    # serialised again. None: the payload is serialised. Whoever changes ``payload`` of an
    # Incoming changes or clears this with it.
    payload_json: str | None = None


def text_limits() -> dict[str, int]:
    """The length of each bounded text column of ``reports`` (what :func:`store_report`
    refuses to exceed), by column name: read from the table, so never out of step with it."""
    return {c.name: c.type.length for c in Report.__table__.columns
            if isinstance(c.type, String) and c.type.length}


_LIMITS = text_limits()


def check_fits(reports: Sequence[Incoming]) -> None:
    """Raise :class:`InvalidSubmission` naming every value longer than its column (before
    anything is written: a database error halfway through a batch would leave half of it)."""
    errors: dict[str, Any] = {}
    for i, incoming in enumerate(reports):
        for name, limit in _LIMITS.items():
            value = getattr(incoming, name, None)
            if isinstance(value, str) and len(value) > limit:
                where = "report" if len(reports) == 1 else f"report {i + 1}"
                errors.setdefault(where, {})[name] = [too_long(limit, len(value))]
    if errors:
        raise InvalidSubmission(errors)


def _insert_in_session(session: Session, incoming: Incoming, client_id: int | None,
                       actor: str) -> tuple[StoredReport, bool]:
    """Insert the report with its audit row, uncommitted; or find the first report of a
    retried submission (same ``Idempotency-Key``). Written with two plain INSERTs: this is
    the hottest write path of the service."""
    digest = hashlib.sha256(incoming.raw).hexdigest()
    if incoming.idempotency_key and client_id is not None:
        existing = _by_key(session, client_id, incoming.idempotency_key)
        if existing is not None:
            return _same_or_conflict(existing, digest), False
    report_id = uuid.uuid4()
    # The plain INSERTs go past the session: what it still holds (an account or a site made in
    # the same transaction, with their audit events) is written first, so that the audit row
    # below takes its place in the chain after theirs (SQLite seals each event as it writes).
    session.flush()
    conn = session.connection()
    now = utcnow()
    conn.execute(_INSERT_REPORT, dict(
        id=report_id,
        received_at=incoming.received_at or now,
        channel=incoming.channel,
        content_type=incoming.content_type,
        raw=incoming.raw,
        payload=incoming.payload,
        payload_sha256=digest,
        sender=incoming.sender,
        sender_case_id=incoming.sender_case_id,
        site_id=incoming.site_id,
        sponsor_id=incoming.sponsor_id,
        api_client_id=client_id,
        idempotency_key=incoming.idempotency_key,
        status="received",
        findings=[],
        attempts=0,
    ))
    append(conn, audit_values(
        actor=actor, action="report.received", entity_type="reports", entity_id=report_id,
        sponsor_id=incoming.sponsor_id,
        changes=[{"field": "status", "from": None, "to": "received"}]))
    if incoming.migration is not None:
        m = incoming.migration
        session.add(MigratedReport(report_id=report_id, sponsor_id=incoming.sponsor_id,
                                   imported_at=now, source=m.source,
                                   original_sender=m.original_sender, submitted=m.submitted,
                                   run_id=m.run_id, run_item=m.run_item))
        session.flush()
    return StoredReport(report_id, "received"), True


def _store_all_in_session(session: Session, reports: Sequence[Incoming], client_id: int | None,
                          actor: str) -> list[tuple[StoredReport, bool]]:
    """Insert the reports and commit them together: all or none.

    Two concurrent retries of one submission race on the unique constraint of the
    ``Idempotency-Key``; the loser's whole transaction is rolled back and tried once more,
    when it finds the winner's rows.
    """
    keyed = client_id is not None and any(r.idempotency_key for r in reports)
    for attempt in (1, 2):
        try:
            out = [_insert_in_session(session, r, client_id, actor) for r in reports]
            session.commit()
            return out
        except IntegrityError:
            session.rollback()
            if attempt == 2 or not keyed:
                raise
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def _store_in_session(session: Session, incoming: Incoming, client_id: int | None,
                      actor: str) -> tuple[StoredReport, bool]:
    """Insert and commit one report with its audit row; return it and whether it is new."""
    return _store_all_in_session(session, [incoming], client_id, actor)[0]


def store_report(url: str, reports: Sequence[Incoming], client_id: int | None,
                 actor: str) -> list[tuple[StoredReport, bool]]:
    """Store the reports of one submission (a form, or every message of an E2B batch), each
    with its audit row, committed together before this returns: all of them or none. Return
    each with whether it is new. The only code that stores a report.

    A value longer than its column is refused first (:func:`check_fits`), naming it. A retried
    submission with the same ``Idempotency-Key`` returns the first reports (a key used before
    for another body is an ``IdempotencyConflict``, and nothing is stored); two concurrent
    retries race on the unique constraint and the loser returns the winner's rows.
    On PostgreSQL one report is one autocommitted statement sent by the driver directly (see
    ``_PG_INSERT``), a batch those statements in one transaction, each in a savepoint; the
    connection is not pinged first: a connection found broken (the database restarted since it
    was pooled) is replaced and the write tried once more.
    """
    check_fits(reports)
    if not reports:
        return []
    if not normalise_url(url).startswith("postgresql"):
        with Session(get_engine(url)) as session:
            return _store_all_in_session(session, reports, client_id, actor)
    import psycopg

    engine = get_intake_engine(url)
    # One id per report for both attempts: a connection can break after the statement
    # committed (the reply lost), and the retry must then find those rows rather than store
    # the reports a second time.
    report_ids = [uuid.uuid4() for _ in reports]
    for attempt in (1, 2):
        conn = engine.raw_connection()
        pg = conn.driver_connection  # psycopg's own connection (None only once closed)
        try:
            if len(reports) == 1 and reports[0].migration is None:
                return [_pg_receive(pg, reports[0], client_id, actor, report_ids[0])]
            assert pg is not None  # just taken from the pool, so open
            with pg.transaction():
                return [_pg_receive(pg, r, client_id, actor, rid, savepoint=True)
                        for r, rid in zip(reports, report_ids, strict=True)]
        except psycopg.OperationalError:
            if attempt == 2 or pg is None or not pg.broken:
                raise
            conn.invalidate()
            # A restart breaks every pooled connection: start the pool afresh, or the retry
            # takes the next dead one (connections in use elsewhere are not affected).
            engine.dispose()
        finally:
            conn.close()
    raise AssertionError("unreachable")


def store_rejected(url: str, incoming: Incoming, client_id: int | None, actor: str, *,
                   reason: str, findings: list[dict[str, str]]) -> tuple[StoredReport, bool]:
    """Store an inbound message that cannot be read (not an ICSR, not XML) exactly as it came,
    received and at once ``rejected`` with its reason and findings, both audited, committed
    together: nothing sent is lost at the door. A retry with the same ``Idempotency-Key``
    returns the first report (and a key used before for another body is an
    ``IdempotencyConflict``)."""
    check_fits([incoming])
    with Session(get_engine(url)) as session:
        for attempt in (1, 2):
            try:
                stored, created = _insert_in_session(session, incoming, client_id, actor)
                if created:
                    report = session.get_one(Report, stored.id)
                    set_status(session, report, ReportStatus.REJECTED, actor=actor,
                               reason=reason, findings=findings)
                    report.last_error = f"E2BError: {reason}"[:2000]
                    stored = StoredReport(stored.id, ReportStatus.REJECTED.value)
                session.commit()
                return stored, created
            except IntegrityError:  # a concurrent retry with the same key stored it first
                session.rollback()
                if attempt == 2 or not incoming.idempotency_key or client_id is None:
                    raise
            except BaseException:
                session.rollback()
                raise
    raise AssertionError("unreachable")


def _pg_receive(pg: Any, incoming: Incoming, client_id: int | None,
                actor: str, report_id: uuid.UUID, *,
                savepoint: bool = False) -> tuple[StoredReport, bool]:
    """One report on ``pg``: autocommitted, or (``savepoint``, inside a batch's transaction)
    in a savepoint, so that losing a race on the unique constraint undoes only this insert."""
    from psycopg.errors import UniqueViolation

    digest = hashlib.sha256(incoming.raw).hexdigest()
    keyed = incoming.idempotency_key is not None and client_id is not None
    if keyed:
        existing = pg.execute(_PG_BY_KEY, (client_id, incoming.idempotency_key)).fetchone()
        if existing is not None:
            return _same_or_conflict(_Row(*existing), digest), existing[0] == report_id
    now = utcnow()
    values = {
        "id": report_id, "at": now, "received_at": incoming.received_at or now,
        "channel": incoming.channel,
        "content_type": incoming.content_type, "raw": incoming.raw,
        # The JSON text the payload was read from, when there is one, goes as it came:
        # PostgreSQL reads it into jsonb either way, and serialising the parsed payload again
        # cost 0.05 of the 0.3 ms the client's side of this insert took (issue 20).
        "payload": (incoming.payload_json if incoming.payload_json is not None
                    else Jsonb(incoming.payload)),
        "sha": digest, "sender": incoming.sender,
        "sender_case_id": incoming.sender_case_id, "site_id": incoming.site_id,
        "sponsor_id": incoming.sponsor_id, "client_id": client_id,
        "key": incoming.idempotency_key, "actor": actor}
    m = incoming.migration
    try:
        if savepoint:
            with pg.transaction():
                if m is None:
                    pg.execute(_PG_INSERT, values)
                else:  # in the batch's transaction: with its report or not at all
                    pg.execute(_PG_INSERT_MIGRATED, {
                        **values, "source": m.source, "original_sender": m.original_sender,
                        "submitted": Jsonb(m.submitted) if m.submitted is not None else None,
                        "run_id": m.run_id, "run_item": m.run_item})
        else:
            pg.execute(_PG_INSERT, values)
    except UniqueViolation:
        if keyed:
            existing = pg.execute(_PG_BY_KEY, (client_id, incoming.idempotency_key)).fetchone()
            if existing is not None:
                return _same_or_conflict(_Row(*existing), digest), existing[0] == report_id
        mine = pg.execute(_PG_BY_ID, (report_id,)).fetchone()
        if mine is not None and mine[2] == digest:  # our first attempt committed
            return StoredReport(mine[0], mine[1]), True
        raise
    return StoredReport(report_id, "received"), True


@dataclass(frozen=True)
class _Row:
    id: uuid.UUID
    status: str
    payload_sha256: str


def _by_key(session: Session, client_id: int, key: str) -> Any:
    return session.execute(
        select(Report.id, Report.status, Report.payload_sha256)
        .where(Report.api_client_id == client_id, Report.idempotency_key == key)
    ).one_or_none()


def _same_or_conflict(existing: Any, digest: str) -> StoredReport:
    check_same_body(existing.payload_sha256, digest)
    return StoredReport(existing.id, existing.status)


# --- what became of a report ----------------------------------------------------------------


def set_status(session: Session, report: Report, to: ReportStatus, *, actor: str,
               reason: str | None = None, findings: list[dict[str, str]] | None = None,
               case_id: uuid.UUID | None = None,
               case_version_id: uuid.UUID | None = None) -> None:
    """Move a report on (``safety.intake.status``), with what it became and its audit event."""
    before = ReportStatus(report.status)
    REPORT_STATUS.check(before, to)
    report.status = to
    report.findings = findings or []
    report.case_id, report.case_version_id = case_id, case_version_id
    if to in (ReportStatus.PROCESSED, ReportStatus.HELD):
        report.processed_at = utcnow()
    record(session, actor=actor, action=f"report.{to.value}", entity=report, case_id=case_id,
           changes=[{"field": "status", "from": before.value, "to": to.value}], reason=reason)


def record_failure(session: Session, report: Report, error: str, *, final: bool,
                   actor: str) -> None:
    """An attempt to process the report failed: count it and keep the error; after the last
    attempt the report is ``failed`` (audited), for an operator to see and retry."""
    report.attempts += 1
    report.last_error = error[:2000]
    if final and report.status == ReportStatus.RECEIVED:
        # The audit trail is kept for good and read widely: the reason, not the SQL and its
        # parameters (the full error is in the worker's log and last_error).
        set_status(session, report, ReportStatus.FAILED, actor=actor,
                   reason=f"gave up after {report.attempts} attempt(s): "
                          f"{public_reason(error)}")


def mark_waiting(session: Session, report: Report, reason: str, *, actor: str) -> None:
    """The report waits for an earlier report of its stream (same sponsor, sender and sender's
    case id): it stays ``received`` and keeps why, shown with its status; audited once per
    reason, not per look."""
    if report.last_error == reason:
        return
    report.last_error = reason
    record(session, actor=actor, action="report.waiting", entity=report, reason=reason)


#: The condition selecting the reports of one stream (same sponsor, sender and sender's case
#: id): versions of one sender's case are made in receipt order, one stream at a time. Its
#: values are parameters (``stream_of``), so statements using it are built once.
STREAM: ColumnElement[bool] = and_(Report.sponsor_id == bindparam("stream_sponsor"),
                                   Report.sender == bindparam("stream_sender"),
                                   Report.sender_case_id == bindparam("stream_case"))


def stream_of(report: Report) -> dict[str, Any]:
    """The parameters of :data:`STREAM` selecting ``report``'s stream."""
    return {"stream_sponsor": report.sponsor_id, "stream_sender": report.sender,
            "stream_case": report.sender_case_id}


# --- the portal's drafts ----------------------------------------------------------------------


class PortalDraft(SponsorOwned, Base):
    """What a site user has typed into a portal form and not yet sent, kept on the server as
    they type (and when their session ends under them), so nothing typed is lost. Not part
    of the record: a draft is nobody's report until it is sent, and is deleted then."""

    __tablename__ = "portal_drafts"
    __table_args__ = (UniqueConstraint("user_id", "form_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    form_key: Mapped[str] = mapped_column(String(100))  # "new" or "followup:<report id>"
    fields: Mapped[Any] = mapped_column(JSONDoc)  # [[name, value], ...] as the form sent them
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def get_draft(session: Session, user_id: int, form_key: str) -> PortalDraft | None:
    found: PortalDraft | None = session.execute(select(PortalDraft).where(
        PortalDraft.user_id == user_id, PortalDraft.form_key == form_key)).scalar_one_or_none()
    return found


def put_draft(session: Session, *, user_id: int, sponsor_id: int, site_id: int | None,
              form_key: str, fields: list[list[str]]) -> PortalDraft:
    """Keep the user's latest typing of one form (one draft per user and form)."""
    draft = get_draft(session, user_id, form_key)
    if draft is None:
        draft = PortalDraft(user_id=user_id, sponsor_id=sponsor_id, site_id=site_id,
                            form_key=form_key, fields=fields, updated_at=utcnow())
        session.add(draft)
    else:
        draft.fields, draft.updated_at = fields, utcnow()
    session.flush()
    return draft


def drop_draft(session: Session, user_id: int, form_key: str) -> None:
    draft = get_draft(session, user_id, form_key)
    if draft is not None:
        session.delete(draft)
        session.flush()

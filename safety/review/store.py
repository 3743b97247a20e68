"""Review records: who works a case now, the electronic signatures (never updated or
deleted; see ``safety.review.signing`` for what a signature binds), and the queue's index of
the cases (``queue_entries``, ``queue_terms``: derived, rewritten whenever what it is derived
from changes)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    aliased,
    mapped_column,
    relationship,
)

from safety.accounts.store import User
from safety.audit.store import record
from safety.cases.store import Case, CaseVersion, CodedView
from safety.db.base import Base, UTCDateTime, UuidKey, utcnow
from safety.db.created import CASE, created_here
from safety.db.tenancy import SponsorOwned
from safety.dedup.store import DedupCandidate, DedupDecision, open_suspected
from safety.review import queue_index, signing
from safety.rules.obligations import OPEN_STATUSES
from safety.rules.store import ObligationRow
from safety.submissions.states import SubmissionState
from safety.submissions.store import Submission


class CaseAssignment(Base):
    """Who works a case now (one assignee per case); history lives in the audit trail."""

    __tablename__ = "case_assignments"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Signature(Base):
    """An electronic signature bound to one case version (see ``safety.review.signing``)."""

    __tablename__ = "signatures"
    __updatable__ = frozenset()
    __keep_rows__ = True

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_email: Mapped[str] = mapped_column(String(254))
    printed_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_zone: Mapped[str] = mapped_column(String(64))
    signed_at_local: Mapped[str] = mapped_column(String(40))
    data_sha256: Mapped[str] = mapped_column(String(64))
    message_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest_sha256: Mapped[str] = mapped_column(String(64))

    def manifest(self, case_number: str) -> signing.Manifest:
        return signing.Manifest(
            case_id=str(self.case_id), case_number=case_number, version=self.version,
            data_sha256=self.data_sha256, message_sha256=self.message_sha256,
            signer_id=self.user_id, signer_email=self.signer_email,
            printed_name=self.printed_name, meaning=self.meaning,
            signed_at_utc=self.signed_at, local_zone=self.local_zone,
        )


def add_signature(session: Session, case: Case, version: CaseVersion, user: User, *,
         meaning: str, now: datetime, zone: str,
         message_sha256: str | None = None) -> Signature:
    now = now.replace(microsecond=0)  # the signed instant as shown; equal in every database
    manifest = signing.Manifest(
        case_id=str(case.id), case_number=case.case_number, version=version.version,
        data_sha256=signing.content_hash(version.data), message_sha256=message_sha256,
        signer_id=user.id, signer_email=user.email, printed_name=user.printed_name,
        meaning=meaning, signed_at_utc=now, local_zone=zone,
    )
    sig = Signature(
        case_id=case.id, case_version_id=version.id, version=version.version,
        user_id=user.id, signer_email=user.email, printed_name=user.printed_name,
        meaning=meaning, signed_at=now, local_zone=zone,
        signed_at_local=manifest.signed_at_local.isoformat(),
        data_sha256=manifest.data_sha256, message_sha256=message_sha256,
        manifest_sha256=manifest.sha256(),
    )
    session.add(sig)
    session.flush()
    record(session, actor=user.actor, action="case.signed", entity=case,
           changes=[{"field": "signature", "from": None,
                     "to": {"version": version.version, "meaning": meaning,
                            "printed_name": user.printed_name,
                            "signed_at_utc": now.isoformat(),
                            "signed_at_local": sig.signed_at_local,
                            "data_sha256": sig.data_sha256,
                            "manifest_sha256": sig.manifest_sha256}}],
           reason=meaning)
    return sig


def signatures(session: Session, case_id: uuid.UUID) -> list[Signature]:
    return list(session.execute(
        select(Signature).where(Signature.case_id == case_id).order_by(Signature.signed_at)
    ).scalars())


def signature_status(case: Case, current: CaseVersion, sig: Signature,
                     current_message_sha256: str | None = None) -> signing.SignatureStatus:
    return signing.status(sig.version, sig.data_sha256, sig.manifest_sha256,
                          sig.manifest(case.case_number), case.current_version,
                          signing.content_hash(current.data), current_message_sha256)


# --- the queue's index ----------------------------------------------------------------------
#
# The queue filters, searches, sorts and pages in SQL over one row per case. What a row holds
# comes from the case, its versions (the first receipt, the current document and its coding),
# its open obligations, its duplicate candidates and its submissions; a flush that writes any
# of those marks the case, and the row is rewritten before the transaction commits (or before
# the queue is read in the same transaction). Nobody has to remember to call anything, so a
# new writer of those tables cannot leave the queue stale. (A report's job hands its first
# commit's cases to the transaction of its stages, which rewrites them once: ``hand_off``.)


class QueueEntry(SponsorOwned, Base):
    """One case as the review queue filters, searches and sorts it (derived, never edited)."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        # The default order (most urgent first): the next due date, serious first, oldest
        # first; walking this index answers the first page without sorting the queue.
        Index("ix_queue_entries_urgency", "next_due", "urgent", "first_received_at",
              "case_number"),
        Index("ix_queue_entries_received", "first_received_at", "case_number"),
        Index("ix_queue_entries_case_number", "case_number"),  # the "case" column's order
        # Filtering by state (the default view: the open states); the counts by state are
        # kept apart (``QueueCount``), not counted from here.
        Index("ix_queue_entries_case_state", "case_state", "sponsor_id"),
        Index("ix_queue_entries_study", "study"),
        # Prefix searches (LIKE 'x%'): PostgreSQL uses a b-tree for them only with
        # text_pattern_ops unless the database's collation is plain "C".
        Index("ix_queue_entries_number_key", "number_key",
              postgresql_ops={"number_key": "text_pattern_ops"}),
        Index("ix_queue_entries_sender_key", "sender_key",
              postgresql_ops={"sender_key": "text_pattern_ops"}),
        Index("ix_queue_entries_subject_key", "subject_key",
              postgresql_ops={"subject_key": "text_pattern_ops"}),
    )

    # No foreign key to cases: the index is derived, rewritten at the commit of whatever
    # changed the case, and a key check would take a share lock on the case row there, which
    # deadlocks with a transaction holding that row and waiting for one of ours (a
    # nullification racing the outbox's commit of a sent message).
    case_id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(40))
    number_key: Mapped[str] = mapped_column(String(40))
    sender_key: Mapped[str] = mapped_column(String(200))
    case_state: Mapped[str] = mapped_column(String(30))
    serious: Mapped[bool | None] = mapped_column(Boolean)
    urgent: Mapped[int] = mapped_column(Integer)  # 0 serious, 1 not (or not known)
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_due: Mapped[date | None] = mapped_column(Date)  # earliest open obligation
    products: Mapped[str] = mapped_column(Text, default="")  # suspects, one per line
    study: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    subject_key: Mapped[str | None] = mapped_column(String(200))
    coding_review: Mapped[bool] = mapped_column(Boolean, default=False)
    suspected_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    rejected_by_regulator: Mapped[bool] = mapped_column(Boolean, default=False)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def flags(self) -> tuple[str, ...]:
        return tuple(f for f in ("coding_review", "rejected_by_regulator", "suspected_duplicate")
                     if getattr(self, f))


class QueueTerm(SponsorOwned, Base):
    """A product or event term of a case's current version, folded for lookup."""

    __tablename__ = "queue_terms"
    __table_args__ = (
        # Equality (the product filter) and the loose scan of the filter's choices, which
        # walks the keys in order (text_pattern_ops could not).
        Index("ix_queue_terms_kind_key", "kind", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UuidKey, index=True)  # no key: see QueueEntry
    kind: Mapped[str] = mapped_column(String(10))  # product | event
    key: Mapped[str] = mapped_column(String(400))
    value: Mapped[str] = mapped_column(String(400))


class QueueCount(SponsorOwned, Base):
    """How many of a sponsor's cases the queue's index holds in each state: the queue's tabs.

    Counting them from ``queue_entries`` read every row of the index on every page (75 ms at
    100,000 cases, ``bench/web_queue.py``); these rows are kept by the same code that writes
    the index, in the same transaction (:func:`_refresh_chunk` notes what each rewritten row
    moved from and to; the sums are added at commit, see :func:`apply_counts`)."""

    __tablename__ = "queue_counts"

    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), primary_key=True)
    case_state: Mapped[str] = mapped_column(String(30), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer, default=0)


PENDING = "safety.review.queue_pending"
# Changes to ``queue_counts`` this transaction made and has not written yet:
# {(sponsor_id, case_state): +n or -n}.
DELTAS = "safety.review.queue_count_deltas"
CHUNK = 500


def _versions_cases(session: Session, version_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The cases of these versions: those the session holds (a version's case never
    changes), then the others in one query."""
    found: set[uuid.UUID] = set()
    unknown: set[uuid.UUID] = set()
    for vid in version_ids:
        held = session.identity_map.get(session.identity_key(CaseVersion, vid))
        if isinstance(held, CaseVersion) and held.case_id is not None:
            found.add(held.case_id)
        else:
            unknown.add(vid)
    if unknown:
        found |= set(session.scalars(select(CaseVersion.case_id)
                                     .where(CaseVersion.id.in_(unknown))))
    return found


def refresh_entries(session: Session, case_ids: Iterable[uuid.UUID],
                    flags_of: Iterable[uuid.UUID] = ()) -> None:
    """Rewrite the queue's rows of these cases from what they are derived from; of the cases
    ``flags_of`` (not among ``case_ids``) only the suspected-duplicate flag: nothing else their
    rows are derived from changed (another case's screening named them as its candidate),
    and the full rewrite read both their documents back for it (issue 20)."""
    full = set(case_ids)
    flags = set(flags_of) - full
    ids = sorted(full | flags)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        _lock(session, chunk)
        _refresh_chunk(session, [c for c in chunk if c in full])
        _refresh_flags(session, [c for c in chunk if c in flags])


def _lock(session: Session, ids: list[uuid.UUID]) -> None:
    # Two transactions rewriting one case's queue row take turns (a lock per case, in id order,
    # until commit), and the second reads what the first committed (PostgreSQL reads each
    # statement afresh), so neither writes a row computed from what it could not see. The lock
    # is an advisory one, not the case row's: a transaction that already holds a case row (a
    # nullification) and waits for a row this one holds (a submission being sent) would
    # otherwise deadlock with it at commit.
    # A case this transaction created is seen by no other before the commit: no lock needed.
    keys = [f"queue:{case_id}" for case_id in ids if not created_here(session, CASE, case_id)]
    if session.get_bind().dialect.name == "postgresql" and keys:
        # One statement for all: the function scan yields the keys in the array's order, so
        # the locks are taken one after the other in id order, as one statement per case did.
        session.execute(_LOCK, {"keys": keys})


def _refresh_chunk(session: Session, ids: list[uuid.UUID]) -> None:
    """The rows of these cases rewritten (their locks taken: ``_lock``)."""
    if not ids:
        return
    dialect = session.get_bind().dialect.name
    rows = session.execute(_facts(), {"ids": ids}).all()
    if not rows:
        return
    # The documents: the versions and views this session holds already (a job holds the one
    # it just wrote; versions and views never change once written), the others in one query
    # each.
    versions = _held_or_loaded(session, CaseVersion, {r[1] for r in rows if r[1] is not None})
    views = _held_or_loaded(session, CodedView, {r[3] for r in rows if r[3] is not None})
    deltas: dict[tuple[int, str], int] = session.info.setdefault(DELTAS, {})
    had_row = [r[0].id for r in rows if r[7] is not None]
    if had_row:  # a case without a row has no terms (they are written together)
        session.execute(_DELETE_TERMS, {"ids": had_row})
    now = utcnow()
    entries: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    for (case, cv_id, first_received, view_id, due, is_rejected, suspected, sponsor_before,
         state_before) in rows:
        cid = case.id
        cv = versions.get(cv_id) if cv_id is not None else None
        if cv is None or first_received is None:
            continue  # a case is written before its first version, in the same transaction
        view = views.get(view_id) if view_id is not None else None
        data: dict[str, Any] = (view.data if view is not None else cv.data) or {}
        products = queue_index.suspect_products(data.get("drugs"))
        subject = queue_index.subject_of(data.get("patient"))
        entries.append(dict(
            case_id=cid, sponsor_id=case.sponsor_id, case_number=case.case_number,
            number_key=queue_index.key(case.case_number),
            sender_key=queue_index.key(case.sender_case_id or ""),
            case_state=str(case.state), serious=case.serious,
            urgent=0 if case.serious else 1, first_received_at=first_received,
            next_due=due, products="\n".join(products),
            study=queue_index.study_of(data.get("study")), subject=subject,
            subject_key=queue_index.key(subject) if subject else None,
            coding_review=bool(view is not None and view.review),
            suspected_duplicate=bool(suspected), rejected_by_regulator=bool(is_rejected),
            refreshed_at=now))
        now_counted = (case.sponsor_id, str(case.state))
        counted_before = (sponsor_before, state_before) if sponsor_before is not None else None
        if counted_before != now_counted:
            if counted_before is not None:
                deltas[counted_before] = deltas.get(counted_before, 0) - 1
            deltas[now_counted] = deltas.get(now_counted, 0) + 1
        kinds = [("product", p) for p in products]
        kinds += [("event", t) for t in queue_index.event_terms(data.get("reactions"))]
        terms += [dict(case_id=cid, sponsor_id=case.sponsor_id, kind=kind,
                       key=queue_index.key(value)[:400], value=value[:400])
                  for kind, value in kinds]
    if not entries:
        return
    # Written without the ORM: one upsert for the rows, one insert for the terms. A row the
    # session holds is expired, so that a later read in this transaction sees the new one.
    session.execute(_upsert(dialect), entries)
    if terms:
        session.execute(_INSERT_TERMS, terms)
    _expire_held(session, [entry["case_id"] for entry in entries])


def _expire_held(session: Session, case_ids: Iterable[uuid.UUID]) -> None:
    """A queue row the session holds is expired, so that a later read in this transaction
    sees the new one."""
    mapper = inspect(QueueEntry)
    for case_id in case_ids:
        held = session.identity_map.get(mapper.identity_key_from_primary_key((case_id,)))
        if held is not None:
            session.expire(held)


def _refresh_flags(session: Session, ids: list[uuid.UUID]) -> None:
    """The suspected-duplicate flag of these cases' rows, computed in the statement that
    writes it (their locks taken); a case without a row yet gets its whole row."""
    if not ids:
        return
    written = set(session.scalars(_flag_update(), {"ids": ids, "now": utcnow()}))
    _expire_held(session, written)
    _refresh_chunk(session, [c for c in ids if c not in written])


@cache
def _flag_update() -> Any:
    """The flag's rule is the row's (``open_suspected``, as in ``_facts``), built once."""
    table = QueueEntry.__table__
    return (update(table).where(table.c.case_id.in_(bindparam("ids", expanding=True)))
            .values(suspected_duplicate=open_suspected(table.c.case_id),
                    refreshed_at=bindparam("now"))
            .returning(table.c.case_id))


@cache
def _facts() -> Any:
    """Everything a queue row is derived from but the document, for the cases ``:ids``, in
    one statement (built once): the case, its current version's id and first receipt, the
    current version's latest coded view, the earliest open obligation, a rejected
    submission, an undecided suspected duplicate, and what the row counted for before (read
    as committed or as this transaction wrote it; the case's lock keeps it so until commit,
    so the counts move by exactly what changes here)."""
    current_cv, first_cv = aliased(CaseVersion), aliased(CaseVersion)
    latest_view = (select(CodedView.id).where(CodedView.case_version_id == current_cv.id)
                   .order_by(CodedView.revision.desc()).limit(1).scalar_subquery())
    next_due = (select(func.min(ObligationRow.due))
                .where(ObligationRow.case_id == Case.id,
                       ObligationRow.status.in_(OPEN_STATUSES)).scalar_subquery())
    rejected = exists().where(Submission.case_id == Case.id,
                              Submission.state == SubmissionState.REJECTED)
    return (
        select(Case, current_cv.id, first_cv.received_at, latest_view, next_due, rejected,
               open_suspected(Case.id), QueueEntry.sponsor_id, QueueEntry.case_state)
        .outerjoin(current_cv, (current_cv.case_id == Case.id)
                   & (current_cv.version == Case.current_version))
        .outerjoin(first_cv, (first_cv.case_id == Case.id) & (first_cv.version == 1))
        .outerjoin(QueueEntry, QueueEntry.case_id == Case.id)
        .where(Case.id.in_(bindparam("ids", expanding=True))).order_by(Case.id))


@cache
def _upsert(dialect: str) -> Any:
    """The queue rows' upsert (executed with one parameter set per row)."""
    table = QueueEntry.__table__
    upsert: Any = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return upsert.on_conflict_do_update(
        index_elements=[table.c.case_id],
        set_={c.name: upsert.excluded[c.name] for c in table.columns if c.name != "case_id"})


_INSERT_TERMS = insert(QueueTerm.__table__)
_DELETE_TERMS = delete(QueueTerm).where(QueueTerm.case_id.in_(bindparam("ids", expanding=True)))
_LOCK = text("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7417))) "
             "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n)")


T = TypeVar("T", CaseVersion, CodedView)


def _held_or_loaded(session: Session, model: type[T], ids: set[uuid.UUID]) -> dict[uuid.UUID, T]:
    """These rows by id: those the session holds, the others in one query."""
    out: dict[uuid.UUID, T] = {}
    mapper = inspect(model)
    missing = []
    for row_id in ids:
        held = session.identity_map.get(mapper.identity_key_from_primary_key((row_id,)))
        if isinstance(held, model) and "data" in held.__dict__:
            out[row_id] = held
        else:
            missing.append(row_id)
    if missing:
        out.update({r.id: r for r in session.scalars(select(model).where(
            model.id.in_(missing)))})
    return out


def apply_pending(session: Session) -> None:
    """Bring the queue's rows of the cases this session changed up to date (before a read of
    the queue in the same transaction; commits do it by themselves)."""
    for _ in range(10):  # a refresh marks nothing new; the bound only guards a bug
        session.flush()
        pending: set[Any] = session.info.pop(PENDING, set())
        if not pending:
            return
        versions = {v for kind, v in pending if kind == "version"}
        cases = {v for kind, v in pending if kind == "case"} | _versions_cases(session, versions)
        refresh_entries(session, cases, {v for kind, v in pending if kind == "flag"})


def pending_counts(session: Session) -> dict[tuple[int, str], int]:
    """What this transaction changed in ``queue_counts`` and has not written yet."""
    deltas: dict[tuple[int, str], int] = session.info.get(DELTAS, {})
    return {k: n for k, n in deltas.items() if n}


def apply_counts(session: Session) -> None:
    """Add this transaction's count changes to ``queue_counts``, just before it commits.

    At commit, not as each row is rewritten: a counter row stays locked from its update until
    commit, and two transactions updating the same counters in different orders as they go
    would deadlock; here each transaction updates its counters once, in one order, and
    holds them only for the commit. Each update adds to the committed value (read afresh by
    PostgreSQL after the lock), so concurrent commits never lose one another's changes."""
    deltas = sorted(pending_counts(session).items())
    session.info.pop(DELTAS, None)
    if not deltas:
        return
    stmt = _add_to_count(session.get_bind().dialect.name)
    for (sponsor_id, state), n in deltas:
        session.execute(stmt, {"sponsor_id": sponsor_id, "case_state": state, "cases": n})


@cache
def _add_to_count(dialect: str) -> Any:
    """``apply_counts``' upsert, built once (every job commits counts)."""
    upsert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    table = QueueCount.__table__
    stmt = upsert(table)  # its VALUES: the parameters given (sponsor_id, case_state, cases)
    return stmt.on_conflict_do_update(index_elements=[table.c.sponsor_id, table.c.case_state],
                                      set_={"cases": table.c.cases + stmt.excluded.cases})


# What each written row tells about the cases it belongs to: ("case", id), ("version", id),
# or ("flag", id): only the case's suspected-duplicate flag may have changed.
Marks = Callable[[Any], list[tuple[str, Any]]]
_MARKS: dict[type, Marks] = {
    Case: lambda o: [("case", o.id)],
    CaseVersion: lambda o: [("case", o.case_id)],
    CodedView: lambda o: [("version", o.case_version_id)],
    ObligationRow: lambda o: [("case", o.case_id)],
    # The case named as a candidate: only its suspected-duplicate flag may change ("flag").
    DedupCandidate: lambda o: [("case", o.case_id), ("flag", o.candidate_case_id)],
    DedupDecision: lambda o: [("case", o.case_a), ("case", o.case_b)],
    Submission: lambda o: [("case", o.case_id)],
}
# The same for UPDATE and DELETE statements: the columns naming the rows' cases.
_COLUMNS: dict[type, list[tuple[str, Any]]] = {
    Case: [("case", Case.id)],
    CaseVersion: [("case", CaseVersion.case_id)],
    CodedView: [("version", CodedView.case_version_id)],
    ObligationRow: [("case", ObligationRow.case_id)],
    DedupCandidate: [("case", DedupCandidate.case_id),
                     ("flag", DedupCandidate.candidate_case_id)],
    DedupDecision: [("case", DedupDecision.case_a), ("case", DedupDecision.case_b)],
    Submission: [("case", Submission.case_id)],
}


def _mark(session: Session, marks: Iterable[tuple[str, Any]]) -> None:
    pending: set[Any] = session.info.setdefault(PENDING, set())
    pending.update((kind, value) for kind, value in marks if value is not None)


# ``Session.info`` key: the versions and coded views this transaction wrote, held until it
# ends. The session's identity map holds a clean object only while something else does, and a
# job's stages let go of the version and the view they wrote before the commit rewrites the
# queue row from them: without this, the rewrite read both documents back (two statements
# and their JSON) although they cannot have changed (issue 20).
HELD = "safety.review.held_documents"
# A bound on what one transaction holds (a bulk import writes thousands of versions): past
# it, the rewrite reads the others back, as before.
HOLD_AT_MOST = 1000


@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, _context: Any) -> None:
    held: list[Any] | None = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        marks = _MARKS.get(type(obj))
        if marks is not None:
            _mark(session, _held_cases(session, marks(obj)))
        if isinstance(obj, CaseVersion | CodedView) and obj not in session.deleted:
            held = session.info.setdefault(HELD, []) if held is None else held
            if len(held) < HOLD_AT_MOST:
                held.append(obj)


@event.listens_for(Session, "after_transaction_end")
def _let_go(session: Session, transaction: Any) -> None:
    """What a transaction held is let go when it ends (commit or rollback), never kept for the
    next one: a later transaction reads the rows as they are then."""
    if transaction.parent is None:
        session.info.pop(HELD, None)


def _held_cases(session: Session, marks: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """A version's mark as its case's when the session holds the version now (while the
    flush runs, its writer does): the commit then need not look the case up."""
    out = []
    for kind, value in marks:
        held = session.identity_map.get(session.identity_key(CaseVersion, value)) \
            if kind == "version" and value is not None else None
        out.append(("case", held.case_id) if isinstance(held, CaseVersion)
                   and held.case_id is not None else (kind, value))
    return out


@event.listens_for(Session, "do_orm_execute")
def _mark_bulk(state: ORMExecuteState) -> None:
    """An UPDATE or DELETE statement on a table the queue is derived from: the cases of the
    rows it is about to touch, read with the same condition first."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    columns = _COLUMNS.get(state.bind_mapper.class_)
    if columns is None:
        return
    where = state.statement.whereclause  # type: ignore[attr-defined]
    for kind, column in columns:
        query = select(column).distinct()
        if where is not None:
            query = query.where(where)
        _mark(state.session, ((kind, v) for v in state.session.scalars(query)))


# ``Session.info`` key: a set the commit adds the changed cases to instead of rewriting their
# rows, for a later transaction of the same job to rewrite (``hand_off``).
HANDED_OFF = "safety.review.queue_handed_off"


def hand_off(session: Session, into: set[uuid.UUID]) -> None:
    """This transaction's commit adds the cases it changed to ``into`` instead of rewriting
    their queue rows: the caller runs another transaction right after it (a report's job:
    the version's stages) and has that one rewrite them (``take_over``), once. A rollback
    adds nothing; the rows are derived, so a rewrite later reads all there is."""
    session.info[HANDED_OFF] = into


def take_over(session: Session, case_ids: Iterable[uuid.UUID]) -> None:
    """Rewrite these cases' queue rows at this transaction's commit (cases another
    transaction handed off), with those this one changes."""
    _mark(session, (("case", c) for c in case_ids))


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    handed: set[uuid.UUID] | None = session.info.get(HANDED_OFF)
    if handed is not None:
        session.flush()  # what the commit would flush marks its cases too
        pending: set[Any] = session.info.pop(PENDING, set())
        versions = {v for kind, v in pending if kind == "version"}
        # Handed over as whole rows (flags too: a later transaction rewrites them).
        handed |= {v for kind, v in pending if kind in ("case", "flag")} \
            | _versions_cases(session, versions)
    else:
        apply_pending(session)  # flushes first: what the commit would flush marks its cases
    apply_counts(session)


@event.listens_for(Session, "after_rollback")
def _forget_counts(session: Session) -> None:
    """What a rolled-back transaction would have counted is gone with its rows."""
    session.info.pop(DELTAS, None)

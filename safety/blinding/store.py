"""The treatment-assignment compartment and the unblinding record.

``treatment_assignments`` is read only through :func:`read_assignments`, which writes an
audit event for every read (who, which study and subjects, why); the module that owns the
unblinding status (:class:`UnblindingStatus`) is this one. What the rules and the outputs
read about a case is the *result* of an unblinding (``placebo`` or the product id), a plain
fact of the case's record, not the randomisation list.

The compartment is a database role's (PostgreSQL): the application's role holds no privilege
on ``treatment_assignments`` (``__compartment__``, ``safety.db.roles``); this module reads and
writes it through a connection of its own as the unblinded role
(``Settings.unblinded_database_url``, carried in the session's ``info``), while the audit
event goes into the caller's transaction as every other. Without that URL (SQLite, one user;
or a single-role PostgreSQL) the caller's own connection is used: the compartment is then
logical only, this module being the only code that touches the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.audit.store import record
from safety.blinding.randomisation import Assignment
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, enum_type, utcnow
from safety.db.created import CASE, none_yet
from safety.db.session import COMPARTMENT_URL, session_scope
from safety.db.tenancy import SponsorOwned
from safety.statemachine import StateMachine


class UnblindingStatus(StrEnum):
    REQUESTED = "requested"
    REVEALED = "revealed"


UNBLINDING = StateMachine[UnblindingStatus]("unblinding", {
    UnblindingStatus.REQUESTED: frozenset({UnblindingStatus.REVEALED}),
})


class UnblindingKind(StrEnum):
    SUSAR = "susar"  # one subject, a case meeting SUSAR criteria on blinded information
    END_OF_STUDY = "end_of_study"  # every subject, after database lock (DSUR, ICH E2F 2.5)


class TreatmentAssignment(SponsorOwned, Base):
    """One subject's arm, as the IWRS randomisation list gives it (the compartment)."""

    __tablename__ = "treatment_assignments"
    __keep_rows__ = True
    __compartment__ = True  # the application's role gets no privilege on it (db.roles)
    __updatable__ = frozenset({"arm", "treatment", "strength", "kits", "imported_at",
                               "imported_by"})

    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(100), primary_key=True)
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    arm: Mapped[str] = mapped_column(String(200))
    treatment: Mapped[str] = mapped_column(String(100))
    strength: Mapped[str] = mapped_column(String(100), default="")
    kits: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200))


class Unblinding(SponsorOwned, Base):
    """A request to break the blind for one case's subject, and its result once revealed."""

    __tablename__ = "unblindings"
    __keep_rows__ = True
    __updatable__ = frozenset({"status", "revealed_at", "revealed_by", "reveal_reason",
                               "signature_meaning", "result"})

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(100))
    kind: Mapped[UnblindingKind] = mapped_column(enum_type(UnblindingKind, "unblinding_kind",
                                                           20))
    status: Mapped[UnblindingStatus] = mapped_column(
        enum_type(UnblindingStatus, "unblinding_status", 20))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(200))
    request_reason: Mapped[str] = mapped_column(Text)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revealed_by: Mapped[str | None] = mapped_column(String(200))
    reveal_reason: Mapped[str | None] = mapped_column(Text)
    signature_meaning: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(100))  # "placebo" or a product id


@contextmanager
def _compartment(session: Session) -> Iterator[Session]:
    """The connection that may touch ``treatment_assignments``: the unblinded role's, in a
    transaction of its own (committed when the block ends), else the caller's session."""
    url = session.info.get(COMPARTMENT_URL)
    if not url:
        yield session
        return
    with session_scope(url) as inner:
        yield inner


def save_assignments(session: Session, sponsor_id: int, protocol: str,
                     assignments: Sequence[Assignment], actor: str) -> int:
    """Insert or replace the study's assignments (a re-exported list supersedes); audited
    by count, never by value (the audit trail is read by blinded people too). The audit event
    is added first, so that nothing is written to the compartment when it cannot be."""
    record(session, actor=actor, action="randomisation.imported", entity=_StudyRef(protocol),
           sponsor_id=sponsor_id,
           changes=[{"field": "subjects", "from": None, "to": len(assignments)},
                    {"field": "protocol", "from": None, "to": protocol}])
    session.flush()
    with _compartment(session) as compartment:
        for a in assignments:
            row = compartment.get(TreatmentAssignment, (sponsor_id, protocol, a.subject))
            if row is None:
                row = TreatmentAssignment(sponsor_id=sponsor_id, protocol=protocol,
                                          subject=a.subject)
                compartment.add(row)
            row.arm, row.treatment, row.strength = a.arm, a.treatment, a.strength
            row.kits = list(a.kits)
            row.imported_at, row.imported_by = utcnow(), actor
        compartment.flush()
    return len(assignments)


def read_assignments(session: Session, sponsor_id: int, protocol: str,
                     subjects: Sequence[str] | None, *, actor: str, purpose: str,
                     case_id: uuid.UUID | None = None) -> list[Assignment]:
    """The compartment's only read: every call is an audit event naming who, which study,
    which subjects and why (``subjects`` None: the whole study)."""
    stmt = select(TreatmentAssignment).where(TreatmentAssignment.sponsor_id == sponsor_id,
                                             TreatmentAssignment.protocol == protocol)
    if subjects is not None:
        stmt = stmt.where(TreatmentAssignment.subject.in_(list(subjects)))
    with _compartment(session) as compartment:
        found = [Assignment(r.subject, r.arm, r.treatment, r.strength, tuple(r.kits))
                 for r in compartment.scalars(stmt.order_by(TreatmentAssignment.subject))]
    record(session, actor=actor, action="randomisation.read", case_id=case_id,
           sponsor_id=sponsor_id, entity=_StudyRef(protocol),
           reason=purpose,
           changes=[{"field": "subjects", "from": None,
                     "to": [a.subject for a in found] if subjects is not None
                     else len(found)}])
    return found


class _StudyRef:
    """The audit event's entity for a read of a study's list (no row of its own)."""

    __tablename__ = "treatment_assignments"

    def __init__(self, protocol: str) -> None:
        self.id = protocol


def open_request(session: Session, case_id: uuid.UUID) -> Unblinding | None:
    if none_yet(session, Unblinding, (CASE, case_id), case_id=case_id):
        return None
    return session.scalar(_OPEN_REQUEST, {"case_id": case_id})


# Built once: every job of a follow-up version asks (issue 20).
_OPEN_REQUEST = (select(Unblinding).where(Unblinding.case_id == bindparam("case_id"))
                 .order_by(Unblinding.requested_at.desc()).limit(1))


def request_unblinding(session: Session, *, sponsor_id: int, case_id: uuid.UUID | None,
                       protocol: str, subject: str, kind: UnblindingKind, actor: str,
                       reason: str, now: datetime) -> Unblinding:
    """Ask for the blind to be broken (idempotent per case: an existing request is kept)."""
    if case_id is not None:
        existing = open_request(session, case_id)
        if existing is not None:
            return existing
    row = Unblinding(sponsor_id=sponsor_id, case_id=case_id, protocol=protocol,
                     subject=subject, kind=kind, status=UnblindingStatus.REQUESTED,
                     requested_at=now, requested_by=actor, request_reason=reason)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="unblinding.requested", entity=row, reason=reason,
           changes=[{"field": "status", "from": None, "to": UnblindingStatus.REQUESTED.value}])
    return row


def reveal(session: Session, row: Unblinding, assignment: Assignment, *, actor: str,
           reason: str, meaning: str, now: datetime) -> Unblinding:
    """Record the revealed result on the request; the status moves requested -> revealed."""
    UNBLINDING.check(row.status, UnblindingStatus.REVEALED)
    row.status = UnblindingStatus.REVEALED
    row.revealed_at, row.revealed_by, row.reveal_reason = now, actor, reason
    row.signature_meaning, row.result = meaning, assignment.treatment
    record(session, actor=actor, action="unblinding.revealed", entity=row, reason=reason,
           changes=[{"field": "status", "from": UnblindingStatus.REQUESTED.value,
                     "to": UnblindingStatus.REVEALED.value},
                    {"field": "signature_meaning", "from": None, "to": meaning}])
    return row


def revealed(session: Session, case_id: uuid.UUID) -> tuple[datetime, str] | None:
    """When the blind was broken for the case's subject and what they received (the latest
    reveal), for the case history the rules replay."""
    if none_yet(session, Unblinding, (CASE, case_id), case_id=case_id):
        return None
    row = session.execute(_REVEALED, {"case_id": case_id}).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return row[0], row[1]


_REVEALED = (select(Unblinding.revealed_at, Unblinding.result).where(
    Unblinding.case_id == bindparam("case_id"), Unblinding.status == UnblindingStatus.REVEALED)
    .order_by(Unblinding.revealed_at.desc()).limit(1))


def unblinded_result(session: Session, case_id: uuid.UUID) -> str | None:
    """What the subject of the case received, once revealed: ``placebo`` or a product id."""
    return session.scalar(select(Unblinding.result).where(
        Unblinding.case_id == case_id, Unblinding.status == UnblindingStatus.REVEALED)
        .order_by(Unblinding.revealed_at.desc()).limit(1))

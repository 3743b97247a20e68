"""Persistence of deduplication indexes and decisions (SQLAlchemy).

Retrieval is always an index lookup: blocking keys and identifiers are rows keyed by
``(key, case_id)``, so "cases sharing any of these keys" is a range scan of the primary key per
key, never a scan of the cases. The profile row lets a candidate be scored without decoding its
case version. Rows describe each case's *current* version and are replaced when a new version
is indexed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    bindparam,
    case,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from safety.cases.model import CaseVersionData
from safety.cases.versioning import Identity, identity
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, enum_type, utcnow
from safety.db.created import CASE, VERSION, none_yet
from safety.db.memo import once
from safety.db.tenancy import SponsorOwned
from safety.dedup.blocking import (
    KEYS_VERSION,
    MAX_BUCKET,
    MIN_SHARED,
    blocking_keys,
    is_strong,
    rank_candidates,
)
from safety.dedup.decisions import DECIDED, Pair, PairDecision, pair
from safety.dedup.matching import (
    MAX_CANDIDATES,
    IdLookup,
    KeyLookup,
    MatchResult,
    match_report,
)
from safety.dedup.profile import Profile, build_profile
from safety.dedup.scoring import Model

KEY_LENGTH = 120


class DedupProfile(SponsorOwned, Base):
    """The comparison profile and identifiers of a case's current version."""

    __tablename__ = "dedup_profiles"

    case_id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True)
    case_version_id: Mapped[uuid.UUID | None] = mapped_column(UuidKey)
    profile: Mapped[Any] = mapped_column(JSONDoc)
    identity: Mapped[Any] = mapped_column(JSONDoc)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                 server_default=func.now())
    # The blocking-key scheme the row and its keys were built with (``KEYS_VERSION``; NULL:
    # before schemes were numbered). Rows of another scheme are found by no new report's keys
    # until re-indexed (``safety.dedup.service.reindex``).
    keys_version: Mapped[int | None] = mapped_column(Integer)
    # Why the row must be re-indexed although its scheme is current (NULL: nothing due), e.g.
    # ``release MedDRA 27.1``: the activation of a dictionary release changes the concepts its
    # event and drug keys are made of (``mark_for_reindex``, migration 0019).
    reindex_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_dedup_profiles_keys_version", "sponsor_id", "keys_version"),
                      Index("ix_dedup_profiles_reindex_reason", "sponsor_id",
                            "reindex_reason"))


class DedupBlockKey(SponsorOwned, Base):
    """One blocking key of one case.

    The lookup index is ``(sponsor_id, key, case_id)`` (migration 0019): a key's cases of one
    sponsor are a range of it, read without visiting the table (an index-only scan), so a
    lookup can stop after a bucket's first rows (``candidate_rows``). It replaced the index
    on ``sponsor_id`` alone, which one sponsor's lookups could not use.
    """

    __tablename__ = "dedup_block_keys"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"))

    __table_args__ = (Index("ix_dedup_block_keys_case_id", "case_id"),
                      Index("ix_dedup_block_keys_sponsor_key", "sponsor_id", "key", "case_id"))


class DedupIdentifier(SponsorOwned, Base):
    """One identifier a case is known under or cites (``sid:``, ``rid:``, ``wid:``, ``lid:``)."""

    __tablename__ = "dedup_identifiers"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH + 100), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True)

    __table_args__ = (Index("ix_dedup_identifiers_case_id", "case_id"),)


class DedupDecision(SponsorOwned, Base):
    """A physician's decision on a pair (``case_a`` < ``case_b``): confirmed or rejected."""

    __tablename__ = "dedup_decisions"

    case_a: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True)
    case_b: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True)
    decision: Mapped[PairDecision] = mapped_column(enum_type(PairDecision, "pair_decision", 20))
    master_case_id: Mapped[uuid.UUID | None] = mapped_column(UuidKey)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_dedup_decisions_case_b", "case_b"),)


class DedupCandidate(SponsorOwned, Base):
    __tablename__ = "dedup_candidates"

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    candidate_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    suspected: Mapped[bool] = mapped_column(Boolean)
    rule: Mapped[str | None] = mapped_column(String(100))
    explanation: Mapped[Any] = mapped_column(JSONDoc, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


TABLES = [DedupProfile.__table__, DedupBlockKey.__table__, DedupIdentifier.__table__,
          DedupDecision.__table__]


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def index_case(
    session: Session, case_id: str | uuid.UUID, case: CaseVersionData, sponsor_id: int,
    case_version_id: str | uuid.UUID | None = None,
) -> None:
    """Store (or replace) the profile, blocking keys and identifiers of a case version, in
    its sponsor's index (matching never crosses sponsors)."""
    cid = _uuid(case_id)
    profile = build_profile(case)
    ident = identity(case)
    old = None if none_yet(session, DedupProfile, (CASE, cid), case_id=cid) \
        else session.get(DedupProfile, cid)
    if old is not None:
        merged = Identity.from_json(old.identity)
        ident = Identity(sender=merged.sender or ident.sender, own=merged.own | ident.own,
                         cited=merged.cited | ident.cited)
    if old is not None:  # keys and identifiers are written only with the profile (here)
        session.execute(_DELETE_KEYS, {"case_id": cid})
        session.execute(_DELETE_IDENTIFIERS, {"case_id": cid})
    row = DedupProfile(
        case_id=cid, sponsor_id=sponsor_id,
        case_version_id=_uuid(case_version_id) if case_version_id else None,
        profile=profile.to_json(), identity=ident.to_json(), indexed_at=utcnow(),
        keys_version=KEYS_VERSION, reindex_reason=None,
    )
    # Onto the row read above (held by ``old``), else new: what ``merge`` did, without its
    # second read of a row already known to be absent.
    if old is not None:
        session.merge(row)
    else:
        session.add(row)
    session.flush()
    # Many rows of two columns: one statement each, without the ORM (nothing reads them back
    # as objects in the transaction that writes them).
    keys = [{"key": k[:KEY_LENGTH], "case_id": cid, "sponsor_id": sponsor_id}
            for k in blocking_keys(profile)]
    if keys:
        session.execute(_INSERT_KEYS, keys)
    identifiers = [{"key": k, "case_id": cid, "sponsor_id": sponsor_id} for k in ident.keys()]
    if identifiers:
        session.execute(_INSERT_IDENTIFIERS, identifiers)


_INSERT_KEYS = insert(DedupBlockKey.__table__)
_DELETE_KEYS = delete(DedupBlockKey).where(DedupBlockKey.case_id == bindparam("case_id"))
_DELETE_IDENTIFIERS = delete(DedupIdentifier).where(DedupIdentifier.case_id
                                                    == bindparam("case_id"))
_INSERT_IDENTIFIERS = insert(DedupIdentifier.__table__)


def _stale(sponsor_id: int) -> Any:
    return (DedupProfile.sponsor_id == sponsor_id) & or_(
        DedupProfile.keys_version.is_(None), DedupProfile.keys_version != KEYS_VERSION,
        DedupProfile.reindex_reason.is_not(None))


MARK_BATCH = 20000


def mark_for_reindex(session: Session, reason: str, batch: int = MARK_BATCH) -> int:
    """Mark every current-scheme profile not yet due (of every sponsor) as due for
    re-indexing, ``reason`` saying why; how many were marked. Batched (one bounded UPDATE per
    ``batch`` rows, in the caller's transaction, so the marks commit with what caused them)
    and idempotent: a row already due stays as it is, and a second call marks nothing."""
    total = 0
    while True:
        due = (select(DedupProfile.case_id)
               .where(DedupProfile.keys_version == KEYS_VERSION,
                      DedupProfile.reindex_reason.is_(None))
               .limit(batch).scalar_subquery())
        result = session.execute(update(DedupProfile).where(DedupProfile.case_id.in_(due))
                                 .values(reindex_reason=reason[:200])
                                 .execution_options(synchronize_session=False))
        n = int(getattr(result, "rowcount", 0))  # a CursorResult for an UPDATE
        total += n
        if n < batch:
            return total


def stale_reasons(session: Session, sponsor_id: int) -> list[tuple[str, int]]:
    """Why the sponsor's profiles are due for re-indexing: (reason, count), the older key
    scheme counted as ``key scheme``."""
    scheme = case((or_(DedupProfile.keys_version.is_(None),
                       DedupProfile.keys_version != KEYS_VERSION), "key scheme"),
                  else_=DedupProfile.reindex_reason)
    rows = session.execute(select(scheme, func.count()).where(_stale(sponsor_id))
                           .group_by(scheme).order_by(scheme))
    return [(str(reason), int(n)) for reason, n in rows]


def count_stale(session: Session, sponsor_id: int) -> int:
    """How many of the sponsor's profiles were indexed with another blocking-key scheme."""
    return session.scalar(select(func.count()).select_from(DedupProfile)
                          .where(_stale(sponsor_id))) or 0


def stale_profiles(session: Session, sponsor_id: int,
                   limit: int) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """Up to ``limit`` of the sponsor's profiles of another scheme: (case, indexed version)."""
    rows = session.execute(select(DedupProfile.case_id, DedupProfile.case_version_id)
                           .where(_stale(sponsor_id)).order_by(DedupProfile.case_id)
                           .limit(limit))
    return [(cid, cvid) for cid, cvid in rows]


def rekey_stored(session: Session, case_id: uuid.UUID) -> None:
    """Rebuild the blocking keys of a profile whose case version is gone, from the stored
    profile itself (its events and drugs stay as they were compared then)."""
    row = session.get_one(DedupProfile, case_id)
    session.execute(delete(DedupBlockKey).where(DedupBlockKey.case_id == case_id))
    session.add_all(DedupBlockKey(key=k[:KEY_LENGTH], case_id=case_id,
                                  sponsor_id=row.sponsor_id)
                    for k in blocking_keys(Profile.from_json(row.profile)))
    row.keys_version = KEYS_VERSION
    row.reindex_reason = None
    session.flush()


def id_lookup(session: Session, sponsor_id: int) -> IdLookup:
    """The identifier lookup ``match_report`` needs, over the sponsor's index."""

    def lookup(keys: frozenset[str]) -> list[tuple[str, Identity]]:
        if not keys:
            return []
        rows = session.execute(_IDENTIFIED, {"keys": sorted(keys), "sponsor_id": sponsor_id})
        return [(str(cid), Identity.from_json(doc)) for cid, doc in rows]

    return lookup


# Built once (every report's screening runs it; building and keying it cost about what
# running it did, issue 20).
_IDENTIFIED = select(DedupProfile.case_id, DedupProfile.identity).where(
    DedupProfile.case_id.in_(select(DedupIdentifier.case_id).where(
        DedupIdentifier.key.in_(bindparam("keys", expanding=True)),
        DedupIdentifier.sponsor_id == bindparam("sponsor_id"))))


def _buckets(session: Session, keys: list[str], sponsor_id: int,
             max_bucket: int) -> dict[str, list[str]]:
    """Per key, the first ``max_bucket`` + 1 of the sponsor's cases carrying it (one index
    range each; enough to tell a bucket too full to use)."""
    return {key: [str(cid) for cid in session.scalars(
        select(DedupBlockKey.case_id).where(DedupBlockKey.sponsor_id == sponsor_id,
                                            DedupBlockKey.key == key).limit(max_bucket + 1))]
            for key in keys}


def candidate_rows(session: Session, keys: Iterable[str], sponsor_id: int,
                   limit: int = MAX_CANDIDATES,
                   max_bucket: int = MAX_BUCKET) -> list[tuple[str, dict[str, Any]]]:
    """The cases worth scoring for these blocking keys, best first, with their stored
    profiles: ``blocking.rank_candidates`` over the sponsor's index.

    On PostgreSQL one statement: per key an index-only range of at most ``max_bucket`` + 1
    rows of ``(sponsor_id, key, case_id)`` (a LATERAL subquery), keys whose range is full
    dropped, the evidence summed per case, the best ``limit`` joined to their profiles. So
    the work per report is bounded by keys x (max_bucket + 1) index entries and ``limit``
    profiles however many cases are held. Elsewhere (the embedded SQLite database) the same
    rule in Python over one query per key.
    """
    keys = sorted({k[:KEY_LENGTH] for k in keys})
    if not keys:
        return []
    if session.get_bind().dialect.name != "postgresql":
        ids = rank_candidates(_buckets(session, keys, sponsor_id, max_bucket), limit,
                              max_bucket)
        if not ids:
            return []
        docs: dict[uuid.UUID, dict[str, Any]] = {cid: doc for cid, doc in session.execute(
            select(DedupProfile.case_id, DedupProfile.profile)
            .where(DedupProfile.case_id.in_([uuid.UUID(i) for i in ids])))}
        return [(i, docs[uuid.UUID(i)]) for i in ids if uuid.UUID(i) in docs]
    rows = session.execute(_candidate_statement(), {
        "keys": keys, "weights": [MIN_SHARED if is_strong(k) else 1 for k in keys],
        "sponsor": sponsor_id, "bucket": max_bucket + 1, "max_bucket": max_bucket,
        "min_shared": MIN_SHARED, "limit": limit})
    return [(str(cid), doc) for cid, doc in rows]


@cache
def _candidate_statement() -> Any:
    """``candidate_rows``' statement, built once: every value is a bound parameter (the keys
    and their weights as two arrays), so SQLAlchemy compiles it once per process (a statement
    with the keys inlined as VALUES rows was compiled for every report: a quarter of the
    lookup's time). Over the tables, not the mapped classes: the sponsor is a parameter of
    its own, and the session's sponsor filter (``safety.db.tenancy``), added to statements
    on mapped classes, would make the cached statement a new one at each execution."""
    keys_t, profiles_t = DedupBlockKey.__table__, DedupProfile.__table__
    wanted = func.unnest(bindparam("keys", type_=ARRAY(String)),
                         bindparam("weights", type_=ARRAY(Integer))
                         ).table_valued(column("key", String), column("w", Integer)
                                        ).render_derived(name="wanted")
    bucket = (select(keys_t.c.case_id)
              .where(keys_t.c.sponsor_id == bindparam("sponsor"), keys_t.c.key == wanted.c.key)
              .limit(bindparam("bucket")).lateral("bucket"))
    hits = (select(wanted.c.w, bucket.c.case_id,
                   func.count().over(partition_by=wanted.c.key).label("n"))
            .select_from(wanted.join(bucket, true())).cte("hits"))
    shared = func.sum(hits.c.w).label("shared")
    rarest = func.min(hits.c.n).label("rarest")
    ranked = (select(hits.c.case_id, shared, rarest)
              .where(hits.c.n <= bindparam("max_bucket"))
              .group_by(hits.c.case_id).having(shared >= bindparam("min_shared"))
              .order_by(shared.desc(), rarest, hits.c.case_id)
              .limit(bindparam("limit")).cte("ranked"))
    return (select(ranked.c.case_id, profiles_t.c.profile)
            .join(profiles_t, (profiles_t.c.case_id == ranked.c.case_id)
                  & (profiles_t.c.sponsor_id == bindparam("sponsor")))
            .order_by(ranked.c.shared.desc(), ranked.c.rarest, ranked.c.case_id))


def candidate_ids(session: Session, keys: Iterable[str], sponsor_id: int,
                  limit: int = MAX_CANDIDATES) -> list[str]:
    """Cases sharing enough blocking keys, best first (``candidate_rows`` without profiles)."""
    return [cid for cid, _ in candidate_rows(session, keys, sponsor_id, limit)]


def key_lookup(session: Session, sponsor_id: int, limit: int = MAX_CANDIDATES) -> KeyLookup:
    """The blocking-key lookup ``match_report`` needs, over the sponsor's index."""

    def lookup(keys: frozenset[str]) -> list[tuple[str, Profile]]:
        return [(cid, Profile.from_json(doc))
                for cid, doc in candidate_rows(session, keys, sponsor_id, limit)]

    return lookup


def decided_with(
    session: Session, case_id: str | uuid.UUID,
    decisions: tuple[PairDecision, ...] = (PairDecision.REJECTED,)
) -> set[str]:
    """Cases a physician already decided about together with ``case_id``."""
    cid = _uuid(case_id)
    if none_yet(session, DedupDecision, (CASE, cid), case_a=cid) \
            and none_yet(session, DedupDecision, (CASE, cid), case_b=cid):
        return set()
    rows = session.execute(_DECIDED_WITH, {"decisions": list(decisions), "case_id": cid})
    return {str(b if a == cid else a) for a, b in rows}


_DECIDED_WITH = select(DedupDecision.case_a, DedupDecision.case_b).where(
    DedupDecision.decision.in_(bindparam("decisions", expanding=True)),
    (DedupDecision.case_a == bindparam("case_id")) | (DedupDecision.case_b == bindparam("case_id")))


def rejected_with(session: Session, case_id: str | uuid.UUID) -> set[str]:
    """Cases a physician rejected as duplicates of ``case_id``."""
    return decided_with(session, case_id, (PairDecision.REJECTED,))


def confirmed_under(session: Session, master_case_id: uuid.UUID) -> list[tuple[uuid.UUID,
                                                                              uuid.UUID]]:
    """The pairs a physician confirmed as duplicates with this case as their master (once
    per pipeline job, which decides none: each message drafted asked again)."""
    return once(session, ("confirmed-under", master_case_id), lambda: [
        (a, b) for a, b in session.execute(_CONFIRMED_UNDER, {"master": master_case_id})])


_CONFIRMED_UNDER = select(DedupDecision.case_a, DedupDecision.case_b).where(
    DedupDecision.decision == PairDecision.CONFIRMED,
    DedupDecision.master_case_id == bindparam("master"))


def record_decision(
    session: Session, a: str, b: str, decision: PairDecision, decided_by: str, sponsor_id: int,
    master: str | None = None
) -> Pair:
    """Remember a decision on a pair (replacing an earlier one on the same pair)."""
    decision = PairDecision(decision)
    x, y = pair(str(a), str(b))
    session.merge(DedupDecision(case_a=_uuid(x), case_b=_uuid(y), sponsor_id=sponsor_id,
                                decision=decision,
                                master_case_id=_uuid(master) if master else None,
                                decided_by=decided_by, decided_at=utcnow()))
    session.flush()
    return (x, y)


def match_stored(
    session: Session, case: CaseVersionData, model: Model, sponsor_id: int,
    case_id: str | None = None, limit: int = 20, retrieve: int = MAX_CANDIDATES,
) -> MatchResult:
    """``match_report`` against the database, minus pairs a physician already decided.

    ``retrieve`` candidates (best by shared blocking keys) are scored; the best ``limit`` are
    returned with their explanation.

    Rejected pairs are never offered again; confirmed ones are already linked.
    """
    rejected = decided_with(session, case_id, DECIDED) if case_id else set()
    return match_report(case, id_lookup=id_lookup(session, sponsor_id),
                        key_lookup=key_lookup(session, sponsor_id, retrieve), model=model,
                        self_id=case_id,
                        rejected=rejected, limit=limit)


def save_candidates(session: Session, case_id: uuid.UUID, case_version_id: uuid.UUID,
                    result: MatchResult, sponsor_id: int) -> list[DedupCandidate]:
    """Replace this version's candidates (the stage is idempotent). The delete only when
    there is something to delete: a version screened the first time has none, and the delete
    cost two more statements (the queue reads first which cases it touches)."""
    if not none_yet(session, DedupCandidate, (VERSION, case_version_id),
                    case_version_id=case_version_id) and session.scalar(
            select(DedupCandidate.id).where(
                DedupCandidate.case_version_id == case_version_id).limit(1)) is not None:
        session.execute(delete(DedupCandidate).where(
            DedupCandidate.case_version_id == case_version_id))
    rows = []
    for c in result.candidates:
        j = c.to_json()
        row = DedupCandidate(case_id=case_id, case_version_id=case_version_id,
                             sponsor_id=sponsor_id,
                             candidate_case_id=uuid.UUID(c.case_id), score=c.score,
                             suspected=c.suspected, rule=c.rule,
                             explanation=j.get("explanation", []))
        session.add(row)
        rows.append(row)
    return rows


def open_candidates(session: Session, case_id: uuid.UUID, decided: set[str],
                    suspected_only: bool = False) -> list[DedupCandidate]:
    """Undecided candidate pairs involving this case, highest score first.

    A pair is found when the later of its two cases is screened, so it is stored on that case;
    the earlier case shows it too (with ``case_id`` and ``candidate_case_id`` read from its
    side), or the physician working the earlier case would never see it.
    """
    latest = session.scalar(select(DedupCandidate.case_version_id)
                            .where(DedupCandidate.case_id == case_id)
                            .order_by(DedupCandidate.created_at.desc()).limit(1))
    rows: list[DedupCandidate] = []
    if latest is not None:
        rows += session.scalars(select(DedupCandidate).where(
            DedupCandidate.case_version_id == latest))
    rows += session.scalars(select(DedupCandidate).where(
        DedupCandidate.candidate_case_id == case_id, DedupCandidate.suspected.is_(True)))
    best: dict[uuid.UUID, DedupCandidate] = {}
    for r in rows:
        other = r.candidate_case_id if r.case_id == case_id else r.case_id
        if str(other) in decided or (suspected_only and not r.suspected):
            continue
        if other not in best or r.score > best[other].score:
            best[other] = r
    return sorted(best.values(), key=lambda r: -r.score)


def open_suspected(case_id: Any) -> ColumnElement[bool]:
    """Whether the case (a column or value) has an undecided suspected pair, as one SQL
    condition: what ``open_candidates(session, case_id, decided_with(session, case_id,
    DECIDED), suspected_only=True)`` finds something for, without the three statements per
    case (the queue's index asks it for every case it rewrites). The same rule: the case's
    own candidates from its latest screened version, and the suspected rows naming it as
    the candidate, less the pairs a physician decided either way."""
    table = DedupCandidate.__table__
    own, latest, theirs = table.alias("oc_own"), table.alias("oc_latest"), table.alias("oc_in")
    decisions = DedupDecision.__table__.alias("oc_decided")

    # Each subquery names the tables it reads and takes every other from the statements
    # around it (``correlate_except``): left to itself, a subquery two levels down would
    # read the case's table afresh instead of the row it is asked about.
    def undecided(a: Any, b: Any) -> ColumnElement[bool]:
        return ~exists().where(
            decisions.c.decision.in_(DECIDED),
            or_(and_(decisions.c.case_a == a, decisions.c.case_b == b),
                and_(decisions.c.case_a == b, decisions.c.case_b == a))
        ).correlate_except(decisions)

    latest_version = (select(latest.c.case_version_id).where(latest.c.case_id == case_id)
                      .order_by(latest.c.created_at.desc()).limit(1)
                      .correlate_except(latest).scalar_subquery())
    return or_(
        exists().where(own.c.case_id == case_id, own.c.suspected.is_(True),
                       own.c.case_version_id == latest_version,
                       undecided(case_id, own.c.candidate_case_id)).correlate_except(own),
        exists().where(theirs.c.candidate_case_id == case_id, theirs.c.suspected.is_(True),
                       undecided(case_id, theirs.c.case_id)).correlate_except(theirs))


def other_case(row: DedupCandidate, case_id: uuid.UUID) -> uuid.UUID:
    return row.candidate_case_id if row.case_id == case_id else row.case_id

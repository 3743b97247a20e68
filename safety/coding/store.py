"""Persistence of terminology releases (SQLAlchemy).

Several releases of a family coexist (a recode compares two of them); exactly one per family
is active, and coding uses the active one. A release is stored whole — concepts, edges,
synonyms, list memberships, MedDRA primary paths — and read back into the same in-memory
:class:`~safety.coding.terminology.Terminology` a loader produces.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.coding.autocoder import Autocoder
from safety.coding.bundled import bundled_autocoder, with_semantic
from safety.coding.loading import detect, load_path
from safety.coding.medical_lists import read_pt_list
from safety.coding.open_dictionary import DRUGS_FAMILY, EVENTS_FAMILY
from safety.coding.paths import curation_dir
from safety.coding.terminology import (
    Concept,
    Release,
    Synonym,
    Terminology,
    TerminologyError,
)
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, utcnow
from safety.db.memo import memoising, once

CODE = 40


class TerminologyRelease(Base):
    """One loaded dictionary release; ``active`` marks the one coding uses in its family."""

    __tablename__ = "terminology_releases"

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    family: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(40))
    checksum: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    concept_count: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[Any] = mapped_column(JSONDoc, default=dict)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        UniqueConstraint("family", "version", "language", "checksum"),
        Index("ix_terminology_releases_family_active", "family", "active"),
    )


class TerminologyConcept(Base):
    __tablename__ = "terminology_concepts"

    release_id: Mapped[uuid.UUID] = mapped_column(
        UuidKey, ForeignKey("terminology_releases.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(12), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    abbrev: Mapped[str | None] = mapped_column(String(20))


class TerminologyEdge(Base):
    """Child→parent link; substance→substance edges are active-moiety links."""

    __tablename__ = "terminology_edges"

    release_id: Mapped[uuid.UUID] = mapped_column(
        UuidKey, ForeignKey("terminology_releases.id", ondelete="CASCADE"), primary_key=True
    )
    child_level: Mapped[str] = mapped_column(String(12), primary_key=True)
    child_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    parent_level: Mapped[str] = mapped_column(String(12), primary_key=True)
    parent_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=True)


class TerminologyPrimaryPath(Base):
    """MedDRA's primary PT→HLT→HLGT→SOC path (``primary_soc_fg`` = Y in mdhier.asc)."""

    __tablename__ = "terminology_primary_paths"

    release_id: Mapped[uuid.UUID] = mapped_column(
        UuidKey, ForeignKey("terminology_releases.id", ondelete="CASCADE"), primary_key=True
    )
    pt_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    hlt_code: Mapped[str] = mapped_column(String(CODE))
    hlgt_code: Mapped[str] = mapped_column(String(CODE))
    soc_code: Mapped[str] = mapped_column(String(CODE))


class TerminologySynonym(Base):
    __tablename__ = "terminology_synonyms"
    __table_args__ = (CheckConstraint("origin <> 'team' OR sponsor_id IS NOT NULL",
                                      name="team_synonym_has_sponsor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[uuid.UUID] = mapped_column(
        UuidKey, ForeignKey("terminology_releases.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(CODE))
    level: Mapped[str] = mapped_column(String(12))
    origin: Mapped[str] = mapped_column(String(20))
    # A synonym the team adds is its sponsor's; the dictionary's own have none.
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id"), index=True)
    auto: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TerminologyMembership(Base):
    """A code on a named list (IME, DME, an SMQ) within a release."""

    __tablename__ = "terminology_memberships"

    release_id: Mapped[uuid.UUID] = mapped_column(
        UuidKey, ForeignKey("terminology_releases.id", ondelete="CASCADE"), primary_key=True
    )
    list_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)


TABLES = [
    TerminologyRelease.__table__,
    TerminologyConcept.__table__,
    TerminologyEdge.__table__,
    TerminologyPrimaryPath.__table__,
    TerminologySynonym.__table__,
    TerminologyMembership.__table__,
]
BATCH = 5000


def _bulk(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        if chunk:
            session.execute(insert(table), chunk)


def save(session: Session, terms: Terminology, activate: bool = True, by: str = "") -> uuid.UUID:
    """Store ``terms`` as a new release; a release already stored (same checksum) is reused."""
    rel = terms.release
    existing = session.execute(
        select(TerminologyRelease).where(
            TerminologyRelease.family == rel.family,
            TerminologyRelease.version == rel.version,
            TerminologyRelease.language == rel.language,
            TerminologyRelease.checksum == rel.checksum,
        )
    ).scalar_one_or_none()
    if existing is not None:
        if activate:
            set_active(session, existing.id)
        return existing.id
    row = TerminologyRelease(
        id=uuid.uuid4(), family=rel.family, version=rel.version, language=rel.language,
        checksum=rel.checksum, source=rel.source, active=False,
        concept_count=len(terms.concepts), counts=terms.counts(), loaded_by=by,
    )
    session.add(row)
    session.flush()
    rid = row.id
    _bulk(session, TerminologyConcept.__table__, [
        {"release_id": rid, "level": c.level, "code": c.code, "name": c.name,
         "current": c.current, "abbrev": c.abbrev}
        for c in terms.concepts.values()
    ])
    edges = {
        (e.child, e.parent): e.primary for e in terms.edges
    }
    for child, parent in terms.moieties.items():
        edges[(("substance", child), ("substance", parent))] = True
    _bulk(session, TerminologyEdge.__table__, [
        {"release_id": rid, "child_level": c[0], "child_code": c[1], "parent_level": p[0],
         "parent_code": p[1], "is_primary": primary}
        for (c, p), primary in edges.items()
    ])
    _bulk(session, TerminologyPrimaryPath.__table__, [
        {"release_id": rid, "pt_code": pt, "hlt_code": h, "hlgt_code": g, "soc_code": s}
        for pt, (h, g, s) in terms.primary_paths.items()
    ])
    _bulk(session, TerminologySynonym.__table__, [
        {"release_id": rid, "text": s.text, "code": s.code, "level": s.level,
         "origin": s.origin, "auto": s.auto, "added_by": s.added_by, "reason": s.reason}
        for s in terms.synonyms
    ])
    _bulk(session, TerminologyMembership.__table__, [
        {"release_id": rid, "list_name": name, "code": code}
        for name, codes in terms.memberships.items() for code in codes
    ])
    if activate:
        set_active(session, rid)
    return rid


def set_active(session: Session, release_id: uuid.UUID) -> None:
    row = session.get(TerminologyRelease, release_id)
    if row is None:
        raise TerminologyError(f"release {release_id} not stored")
    session.execute(
        update(TerminologyRelease)
        .where(TerminologyRelease.family == row.family)
        .values(active=False)
    )
    row.active = True
    session.flush()


_ACTIVE = select(TerminologyRelease).where(TerminologyRelease.active.is_(True))  # built once


def active_release(session: Session, family: str) -> TerminologyRelease | None:
    """The family's active release. In a pipeline job every family's is read at once, once
    (``safety.db.memo``): coding asked for four (MedDRA, the open events dictionary, WHODrug,
    the open drugs dictionary), one statement each, for every report."""
    if memoising(session):
        return once(session, "active-releases", lambda: {
            r.family: r for r in session.scalars(_ACTIVE)}).get(family)
    return session.execute(
        select(TerminologyRelease).where(
            TerminologyRelease.family == family, TerminologyRelease.active.is_(True)
        )
    ).scalar_one_or_none()


def list_releases(session: Session) -> list[TerminologyRelease]:
    return list(
        session.execute(
            select(TerminologyRelease).order_by(
                TerminologyRelease.family, TerminologyRelease.loaded_at
            )
        ).scalars()
    )


def read(session: Session, release_id: uuid.UUID, sponsor_id: int | None = None) -> Terminology:
    """A stored release with the dictionary's synonyms and, for a sponsor, the synonyms its
    team added (another sponsor's never)."""
    row = session.get(TerminologyRelease, release_id)
    if row is None:
        raise TerminologyError(f"release {release_id} not stored")
    terms = Terminology(Release(row.family, row.version, row.language, row.checksum, row.source))
    for c in session.execute(
        select(TerminologyConcept).where(TerminologyConcept.release_id == release_id)
    ).scalars():
        terms.add(Concept(c.code, c.name, c.level, c.current, c.abbrev))
    for e in session.execute(
        select(TerminologyEdge).where(TerminologyEdge.release_id == release_id)
    ).scalars():
        if e.child_level == "substance" and e.parent_level == "substance":
            terms.moieties[e.child_code] = e.parent_code
        else:
            terms.link((e.child_level, e.child_code), (e.parent_level, e.parent_code),
                       e.is_primary)
    for p in session.execute(
        select(TerminologyPrimaryPath).where(TerminologyPrimaryPath.release_id == release_id)
    ).scalars():
        terms.primary_paths[p.pt_code] = (p.hlt_code, p.hlgt_code, p.soc_code)
    for s in session.execute(
        select(TerminologySynonym).where(
            TerminologySynonym.release_id == release_id,
            (TerminologySynonym.sponsor_id.is_(None)) | (TerminologySynonym.sponsor_id
                                                          == sponsor_id))
    ).scalars():
        terms.synonyms.append(
            Synonym(s.text, s.code, s.level, s.origin, s.auto, s.added_by, s.reason)
        )
    for m in session.execute(
        select(TerminologyMembership).where(TerminologyMembership.release_id == release_id)
    ).scalars():
        terms.memberships.setdefault(m.list_name, set()).add(m.code)
    return terms


_coders: dict[tuple[uuid.UUID, Path, int | None, int | None, Path | None], Autocoder] = {}
_coders_lock = threading.Lock()
EVENT_FAMILIES = ("MedDRA", EVENTS_FAMILY)
DRUG_FAMILIES = ("WHODrug", DRUGS_FAMILY)


def active_autocoder(session: Session, kind: str, dictionaries: Path,
                     sponsor_id: int | None = None, *,
                     semantic_index: Path | None = None) -> Autocoder:
    """The autocoder for the active release (MedDRA/WHODrug first, then the stored open
    dictionary) with the sponsor's team synonyms, else the open dictionary in ``dictionaries``
    (``settings.dictionaries``), whose curation lists and thresholds every release is coded
    with. Indexes are built once per release, folder, sponsor and set of synonyms, in each
    process: a synonym the team adds (in any process) is in the next coder asked for.

    ``semantic_index`` (``settings.semantic_index``: the folder when semantic coding is on)
    gives the events coder semantic retrieval when the extra is installed; the pipeline asks
    for it, so a warm worker holds the model and the index once.
    """
    for family in EVENT_FAMILIES if kind == "events" else DRUG_FAMILIES:
        release = active_release(session, family)
        if release is None:
            continue
        index = semantic_index if kind == "events" else None
        key = (release.id, dictionaries, sponsor_id, _latest_synonym(session, release.id,
                                                                      sponsor_id), index)
        with _coders_lock:
            coder = _coders.get(key)
            if coder is None:
                coder = with_semantic(Autocoder(read(session, release.id, sponsor_id), kind,
                                                curation=curation_dir(dictionaries)), index)
                for old in [k for k in _coders if k[:3] == key[:3] and k[4] == key[4]]:
                    del _coders[old]  # superseded: the sponsor's synonyms changed
                _coders[key] = coder
        return coder
    return bundled_autocoder(kind, dictionaries, semantic_index)


def _latest_synonym(session: Session, release_id: uuid.UUID,
                    sponsor_id: int | None) -> int | None:
    """The newest synonym the sponsor's coder of the release holds (rows are only added)."""
    return session.scalar(select(func.max(TerminologySynonym.id)).where(
        TerminologySynonym.release_id == release_id,
        TerminologySynonym.sponsor_id.is_(None) | (TerminologySynonym.sponsor_id == sponsor_id)))


def attach_pt_list(session: Session, path: Path, list_name: str | None = None) -> list[str]:
    """Attach an IME/DME-style CSV to the active MedDRA release; returns status lines."""
    release = active_release(session, "MedDRA")
    if release is None:
        raise TerminologyError(f"{path.name}: load and activate a MedDRA release first")
    name = list_name or path.stem.upper()
    codes = read_pt_list(path)
    known = set(
        session.execute(
            select(TerminologyConcept.code).where(
                TerminologyConcept.release_id == release.id, TerminologyConcept.level == "PT"
            )
        ).scalars()
    )
    session.execute(
        delete(TerminologyMembership).where(
            TerminologyMembership.release_id == release.id,
            TerminologyMembership.list_name == name,
        )
    )
    _bulk(session, TerminologyMembership.__table__, [
        {"release_id": release.id, "list_name": name, "code": c} for c in sorted(codes)
    ])
    unknown = sorted(codes - known)
    lines = [f"{name}: {len(codes)} PTs attached to MedDRA {release.version}"]
    if unknown:
        lines.append(f"{name}: {len(unknown)} codes are not PTs of that release: {unknown[:10]}")
    return lines


def load_into(
    session: Session, path: Path, activate: bool = True, list_name: str | None = None,
    by: str = "cli",
) -> list[str]:
    """``safety dictionary load PATH``: store what PATH holds; returns status lines."""
    if detect(path) == "pt_list":
        return attach_pt_list(session, path, list_name)
    lines = []
    for terms in load_path(path):
        rid = save(session, terms, activate=activate, by=by)
        counts = ", ".join(f"{k}={v}" for k, v in sorted(terms.counts().items()))
        state = "active" if activate else "inactive"
        lines.append(f"{terms.release.family} {terms.release.version} ({state}) {rid}: {counts}")
    return lines


def add_team_synonym(
    session: Session, family: str, text: str, code: str, level: str, added_by: str, reason: str,
    sponsor_id: int,
) -> TerminologySynonym:
    """A physician's confirmed coding decision becomes a team synonym of the active release,
    for the sponsor of the case (a team synonym never codes another sponsor's cases).

    The caller records the audit event in the same transaction (``safety.audit.record``).
    """
    release = active_release(session, family)
    if release is None:
        raise TerminologyError(f"no active {family} release")
    exists = session.get(TerminologyConcept, (release.id, level, code))
    if exists is None:
        raise TerminologyError(f"{family} {release.version}: {level} {code} does not exist")
    row = TerminologySynonym(
        release_id=release.id, text=text, code=code, level=level, origin="team", auto=True,
        added_by=added_by, reason=reason, sponsor_id=sponsor_id,
    )
    session.add(row)
    session.flush()
    return row

"""Persistence of the registry (products, statuses, studies) and of RSI versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from safety.db.base import Base, JSONDoc, UTCDateTime, enum_type, utcnow
from safety.db.generations import GenerationCache
from safety.db.memo import once
from safety.db.tenancy import SponsorOwned
from safety.products.registry import JurisdictionStatus, Product, Registry, Status, Study
from safety.products.rsi import RsiLibrary, RsiVersion
from safety.sponsors.store import generation_query, registry_generation

# Each sponsor's registry and RSI as its newest committed registry generation says, kept by
# the process between transactions and jobs (``safety.db.generations``; docs/decisions.md,
# "What a job may keep"). Sealed: every caller gets the same objects.
_REGISTRIES: GenerationCache[Registry] = GenerationCache()
_RSI: GenerationCache[RsiLibrary] = GenerationCache()
T = TypeVar("T")


class ProductRow(SponsorOwned, Base):
    __tablename__ = "products"

    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    substances: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    aliases: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    statuses: Mapped[list[ProductStatusRow]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductStatusRow.id"
    )


class ProductStatusRow(SponsorOwned, Base):
    """Status of a product in one jurisdiction with its IND/CTA or MA numbers."""

    __tablename__ = "product_statuses"
    __table_args__ = (
        UniqueConstraint("sponsor_id", "product_id", "jurisdiction", "status"),
        ForeignKeyConstraint(["sponsor_id", "product_id"], ["products.sponsor_id", "products.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(String(100))
    jurisdiction: Mapped[str] = mapped_column(String(10))
    status: Mapped[Status] = mapped_column(enum_type(Status, "product_status", 20))
    numbers: Mapped[list[str]] = mapped_column(JSONDoc, default=list)

    product: Mapped[ProductRow] = relationship(back_populates="statuses")


class StudyRow(SponsorOwned, Base):
    __tablename__ = "studies"

    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    jurisdictions: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    ind_numbers: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    products: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    blinded: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RsiVersionRow(SponsorOwned, Base):
    """One RSI version (IB or a country's label) with the PT codes it lists as expected."""

    __tablename__ = "rsi_versions"
    __table_args__ = (
        UniqueConstraint("sponsor_id", "product_id", "reference", "effective_from"),
        ForeignKeyConstraint(["sponsor_id", "product_id"], ["products.sponsor_id", "products.id"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(String(100), index=True)
    reference: Mapped[str] = mapped_column(String(30))
    version: Mapped[str] = mapped_column(String(50))
    effective_from: Mapped[date] = mapped_column(Date)
    document: Mapped[str] = mapped_column(Text, default="")
    expected_pts: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def save_registry(session: Session, reg: Registry, sponsor_id: int) -> None:
    """Insert or replace every product and study of ``reg`` for the sponsor (CSV/JSON
    import)."""
    for p in reg.products.values():
        row = session.get(ProductRow, (sponsor_id, p.id)) or ProductRow(sponsor_id=sponsor_id,
                                                                         id=p.id)
        row.name, row.substances, row.aliases = p.name, list(p.substances), list(p.aliases)
        # A status the product keeps is updated in place: replacing it with a new row would
        # insert the new row before deleting the old one, which breaks the unique constraint
        # on (product, jurisdiction, status) when a registry is loaded again (issue 17:
        # ``safety demo`` on a database ``serve --demo`` had set up).
        kept = {(r.jurisdiction, Status(r.status)): r for r in row.statuses}
        statuses = []
        for js in p.statuses:
            status_row = kept.pop((js.jurisdiction, js.status), None) or ProductStatusRow(
                sponsor_id=sponsor_id, jurisdiction=js.jurisdiction, status=js.status.value)
            status_row.numbers = list(js.numbers)
            statuses.append(status_row)
        row.statuses = statuses  # the ones left in ``kept`` are deleted (delete-orphan)
        session.add(row)
    for s in reg.studies.values():
        srow = session.get(StudyRow, (sponsor_id, s.protocol)) or StudyRow(
            sponsor_id=sponsor_id, protocol=s.protocol)
        srow.title, srow.jurisdictions = s.title, list(s.jurisdictions)
        srow.ind_numbers, srow.products = list(s.ind_numbers), list(s.products)
        srow.blinded = s.blinded
        session.add(srow)


def sponsors_of_study(session: Session, protocol: str) -> list[int]:
    """The sponsors whose registry holds a study with this protocol number (one, normally)."""
    return list(session.scalars(select(StudyRow.sponsor_id).where(StudyRow.protocol == protocol)
                                .order_by(StudyRow.sponsor_id)))


def load_registry(session: Session, sponsor_id: int) -> Registry:
    """The sponsor's products and studies (no other sponsor's: registries never mix), sealed
    (``Registry.seal``: shared, never to be changed). Read once per registry generation by
    the process (``_REGISTRIES``), looked up once per pipeline job (``safety.db.memo``: no
    stage changes a registry). Web requests and commands use the kept copy too: without a
    memo each call reads the generation in the caller's transaction (one statement for the
    registry's three), so a caller sees what its transaction would have read, its own
    uncommitted writes included (those move its generation past any kept one); a session
    limited to some sponsors reads as before."""
    return _kept(session, "registry", _REGISTRIES, sponsor_id,
                 lambda: _read_registry(session, sponsor_id).seal())


def _read_registry(session: Session, sponsor_id: int) -> Registry:
    reg = Registry()
    # Every product's statuses in one more query (a query per product before).
    for row in session.scalars(select(ProductRow).where(ProductRow.sponsor_id == sponsor_id)
                               .options(selectinload(ProductRow.statuses))):
        reg.add_product(Product(
            id=row.id, name=row.name, substances=tuple(row.substances or ()),
            aliases=tuple(row.aliases or ()),
            statuses=tuple(JurisdictionStatus(s.jurisdiction, Status(s.status),
                                              tuple(s.numbers or ())) for s in row.statuses),
        ))
    for srow in session.scalars(select(StudyRow).where(StudyRow.sponsor_id == sponsor_id)):
        reg.add_study(Study(srow.protocol, tuple(srow.jurisdictions or ()),
                            tuple(srow.ind_numbers or ()), tuple(srow.products or ()),
                            srow.blinded, srow.title))
    return reg


def has_product(session: Session, sponsor_id: int, product_id: str) -> bool:
    """Whether the sponsor's registry holds the product (another sponsor's never counts)."""
    return session.get(ProductRow, (sponsor_id, product_id)) is not None


def rsi_version_at(session: Session, sponsor_id: int, product_id: str, reference: str,
                   effective_from: date) -> RsiVersion | None:
    """The version already recorded for the product and reference from that day, if any: one
    document is in force from a given day, so a second one with the same start is refused."""
    row = session.scalar(select(RsiVersionRow).where(
        RsiVersionRow.sponsor_id == sponsor_id, RsiVersionRow.product_id == product_id,
        RsiVersionRow.reference == reference, RsiVersionRow.effective_from == effective_from))
    if row is None:
        return None
    return RsiVersion(row.product_id, row.reference, row.version, row.effective_from,
                      frozenset(row.expected_pts or ()), row.document)


def save_rsi_version(session: Session, v: RsiVersion, sponsor_id: int) -> RsiVersionRow:
    row = RsiVersionRow(sponsor_id=sponsor_id, product_id=v.product_id, reference=v.reference,
                        version=v.version, effective_from=v.effective_from,
                        document=v.document, expected_pts=sorted(v.expected_pts))
    session.add(row)
    return row


def load_rsi(session: Session, sponsor_id: int) -> RsiLibrary:
    """The sponsor's reference safety information, every version, sealed; as
    ``load_registry``: once per registry generation, looked up once per pipeline job."""
    return _kept(session, "rsi", _RSI, sponsor_id, lambda: _read_rsi(session, sponsor_id).seal())


def _kept(session: Session, name: str, kept: GenerationCache[T], sponsor_id: int,
          read: Callable[[], T]) -> T:
    """``read()`` as the sponsor's registry generation in this transaction says: kept by the
    process per generation, looked up once per pipeline job."""
    return once(session, (name, sponsor_id), lambda: kept.get(
        session, sponsor_id, registry_generation(session, sponsor_id),
        generation_query(sponsor_id), read))


def _read_rsi(session: Session, sponsor_id: int) -> RsiLibrary:
    lib = RsiLibrary()
    for row in session.scalars(select(RsiVersionRow).where(
            RsiVersionRow.sponsor_id == sponsor_id)):
        lib.add(RsiVersion(row.product_id, row.reference, row.version, row.effective_from,
                           frozenset(row.expected_pts or ()), row.document))
    return lib

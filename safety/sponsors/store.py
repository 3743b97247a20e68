"""The sponsors a CRO works for, with their configuration (``safety.sponsors.profile``)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow
from safety.db.memo import once, remember
from safety.sponsors.profile import SponsorProfile, profile_from_columns


class Sponsor(Base):
    """A sponsor: the tenant every case, report, product, study, site, obligation and message
    belongs to. Never deleted: its records are."""

    __tablename__ = "sponsors"
    __keep_rows__ = True
    # Written by the database alone (migration 0021's triggers): see ``registry_generation``;
    # every other column may change (``__updatable__``, set below the class).
    __set_by_database__ = frozenset({"registry_generation"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    org_code: Mapped[str] = mapped_column(String(40))
    case_prefix: Mapped[str] = mapped_column(String(10), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    sender: Mapped[Any] = mapped_column(JSONDoc, default=dict)
    gateways: Mapped[Any] = mapped_column(JSONDoc, default=dict)
    reporting: Mapped[Any] = mapped_column(JSONDoc, default=list)
    # Choices where the law is ambiguous (``RulesOptions``; migration 0007).
    rules: Mapped[Any] = mapped_column(JSONDoc, default=dict, server_default="{}")
    # E2B senders acting for the sponsor (``Partner``; migration 0014).
    partners: Mapped[Any] = mapped_column(JSONDoc, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One more at every insert, update or delete of a row of the sponsor's registry or RSI,
    # in the writing transaction (triggers, migration 0021): what a worker's copy of them is
    # keyed by (``safety.products.store``). Never written by the application.
    registry_generation: Mapped[int] = mapped_column(Integer, server_default="0")

    def profile(self) -> SponsorProfile:
        return profile_from_columns(
            code=self.code, name=self.name, org_code=self.org_code,
            case_prefix=self.case_prefix, timezone=self.timezone, sender=self.sender,
            gateways=self.gateways, reporting=self.reporting, rules=self.rules,
            partners=self.partners)


Sponsor.__updatable__ = frozenset(
    c.name for c in Sponsor.__table__.columns) - Sponsor.__set_by_database__


def sponsor_by_code(session: Session, code: str) -> Sponsor | None:
    return session.execute(select(Sponsor).where(Sponsor.code == code.strip().upper())
                           ).scalar_one_or_none()


def all_sponsors(session: Session) -> list[Sponsor]:
    return list(session.execute(select(Sponsor).order_by(Sponsor.code)).scalars())


def _generation_key(sponsor_id: int) -> tuple[str, int]:
    return ("registry-generation", sponsor_id)


@lru_cache(maxsize=1024)
def generation_query(sponsor_id: int) -> Select[int]:
    """Built once per sponsor (a statement is immutable): every job's registry lookup passes
    it, and building and keying it cost about what running it did (issue 20)."""
    return select(Sponsor.registry_generation).where(Sponsor.id == sponsor_id)


def registry_generation(session: Session, sponsor_id: int) -> int:
    """The sponsor's registry generation as this transaction reads it (a pipeline job: as its
    profile read it, ``read_profile``; elsewhere one statement)."""
    return once(session, _generation_key(sponsor_id),
                lambda: session.scalars(generation_query(sponsor_id)).one())


_PROFILE = select(
    Sponsor.code, Sponsor.name, Sponsor.org_code, Sponsor.case_prefix, Sponsor.timezone,
    Sponsor.sender, Sponsor.gateways, Sponsor.reporting, Sponsor.rules, Sponsor.partners,
    Sponsor.registry_generation).where(Sponsor.id == bindparam("sponsor_id"))


def read_profile(session: Session, sponsor_id: int) -> SponsorProfile:
    """The sponsor's profile, read in one statement that also reads its registry generation
    (remembered for ``registry_generation`` in a job). Columns, not the ``Sponsor`` object:
    the session's identity map may hold it as an earlier transaction read it (sessions keep
    objects at commit), and the generation must be this transaction's."""
    row = session.execute(_PROFILE, {"sponsor_id": sponsor_id}).one()
    remember(session, _generation_key(sponsor_id), row.registry_generation)
    return profile_from_columns(
        code=row.code, name=row.name, org_code=row.org_code, case_prefix=row.case_prefix,
        timezone=row.timezone, sender=row.sender, gateways=row.gateways,
        reporting=row.reporting, rules=row.rules, partners=row.partners)

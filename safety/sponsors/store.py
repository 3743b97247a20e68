"""The sponsors a CRO works for, with their configuration (``safety.sponsors.profile``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow
from safety.sponsors.profile import SponsorProfile, profile_from_columns


class Sponsor(Base):
    """A sponsor: the tenant every case, report, product, study, site, obligation and message
    belongs to. Never deleted: its records are."""

    __tablename__ = "sponsors"
    __keep_rows__ = True

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

    def profile(self) -> SponsorProfile:
        return profile_from_columns(
            code=self.code, name=self.name, org_code=self.org_code,
            case_prefix=self.case_prefix, timezone=self.timezone, sender=self.sender,
            gateways=self.gateways, reporting=self.reporting, rules=self.rules,
            partners=self.partners)


def sponsor_by_code(session: Session, code: str) -> Sponsor | None:
    return session.execute(select(Sponsor).where(Sponsor.code == code.strip().upper())
                           ).scalar_one_or_none()


def all_sponsors(session: Session) -> list[Sponsor]:
    return list(session.execute(select(Sponsor).order_by(Sponsor.code)).scalars())

"""Who may send and who may log in: organisations, sites, API clients and web users.

Users are never deleted (deactivate or lock instead), so audit events and signatures keep
pointing at the person who made them; API client rows stay after revocation so reports keep
pointing at the client that sent them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safety.accounts.roles import ClientRole, Role
from safety.db.base import Base, UTCDateTime, enum_type, utcnow


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="organisation")


class Site(Base):
    """A clinical site (or a partner) that submits reports; the unit of data scoping."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="sites")


class ApiClient(Base):
    """A bearer token holder. Only the SHA-256 of the token is stored; the token is shown once.

    ``role`` is ``site`` (sees and submits for its own site only) or ``safety`` (the safety
    team's integrations: sees every case).
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[ClientRole] = mapped_column(enum_type(ClientRole, "client_role", 20),
                                             default=ClientRole.SITE)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site | None] = relationship()


class User(Base):
    """A person who logs in to the web workspace. Never deleted: deactivate or lock instead,
    so that audit events and signatures keep pointing at the person who made them."""

    __tablename__ = "users"
    __keep_rows__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    printed_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role", 30))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_reason: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site | None] = relationship()

    @property
    def actor(self) -> str:
        return f"user:{self.id}:{self.email}"

    @property
    def locked(self) -> bool:
        return self.locked_at is not None

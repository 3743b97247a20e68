"""Who may send and who may log in: sites, API clients and web users, and which sponsors
each works for.

Users are never deleted (deactivate or lock instead), so audit events and signatures keep
pointing at the person who made them; API client rows stay after revocation so reports keep
pointing at the client that sent them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safety.accounts.roles import ClientRole, Role
from safety.db.base import Base, JSONDoc, UTCDateTime, enum_type, utcnow
from safety.db.tenancy import SponsorOwned


class Site(SponsorOwned, Base):
    """A clinical site of one of a sponsor's studies (or a partner) that submits reports: the
    unit of data scoping for site staff. Its sponsor is the tenant of everything it sends."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("sponsor_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    protocol: Mapped[str | None] = mapped_column(String(100))  # the study it works on
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiClient(Base):
    """A bearer token holder. Only the SHA-256 of the token is stored; the token is shown once.

    ``role``: ``site`` (submits and sees its own site's reports only), ``partner`` (sends E2B
    messages for one sponsor, under the sender ids it is bound to), ``safety`` (the safety
    team's integrations: every case of the sponsors it is granted, ``api_client_sponsors``)
    or ``migration`` (brings one sponsor's legacy reports in, ``/api/v1/migrations``).
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[ClientRole] = mapped_column(enum_type(ClientRole, "client_role", 20),
                                             default=ClientRole.SITE)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    senders: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # a partner's N.2.r.2
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site | None] = relationship()


class ApiClientSponsor(Base):
    """A client works for this sponsor (a site or partner client for exactly one)."""

    __tablename__ = "api_client_sponsors"

    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), primary_key=True,
                                            index=True)


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


class UserSponsorRole(Base):
    """What a person may do for one sponsor: a physician may review for sponsors A and B while
    a processor works only for C. Site staff work for their site's sponsor; an administrator
    manages accounts and needs a grant to see any sponsor's cases."""

    __tablename__ = "user_sponsor_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), primary_key=True,
                                            index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "grant_role", 30))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

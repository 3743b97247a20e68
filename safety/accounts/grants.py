"""What a person may do for which sponsor. A grant gives a role for one sponsor (a physician
may review for sponsors A and B while a processor works only for C); site staff work for their
site's sponsor; an administrator manages accounts everywhere and sees a sponsor's cases only
with a grant. Every grant and its withdrawal is audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.policy import UserError
from safety.accounts.roles import Permission, Role, can, parse_role
from safety.accounts.store import Site, User, UserSponsorRole
from safety.audit.store import record


def grants(session: Session, user: User) -> dict[int, Role]:
    """The user's role per sponsor."""
    if user.role == Role.SITE_SUBMITTER:
        site = session.get(Site, user.site_id) if user.site_id is not None else None
        return {site.sponsor_id: Role.SITE_SUBMITTER} if site is not None else {}
    return {g.sponsor_id: Role(g.role) for g in session.scalars(
        select(UserSponsorRole).where(UserSponsorRole.user_id == user.id))}


def role_for(session: Session, user: User, sponsor_id: int) -> Role | None:
    return grants(session, user).get(sponsor_id)


def sponsors_with(session: Session, user: User, permission: Permission) -> frozenset[int]:
    """The sponsors for which the user holds ``permission``."""
    return frozenset(s for s, role in grants(session, user).items() if can(role, permission))


def grant(session: Session, user: User, sponsor_id: int, role: Role | str, *,
          actor: str) -> None:
    """Give the user ``role`` for the sponsor (replacing the one it had there)."""
    role_ = parse_role(role)
    if role_ is Role.SITE_SUBMITTER or user.role == Role.SITE_SUBMITTER:
        raise UserError("site staff work for their site's sponsor: no grants")
    row = session.get(UserSponsorRole, (user.id, sponsor_id))
    before = Role(row.role).value if row is not None else None
    if before == role_.value:
        return
    if row is None:
        session.add(UserSponsorRole(user_id=user.id, sponsor_id=sponsor_id, role=role_))
    else:
        row.role = role_
    record(session, actor=actor, action="user.granted", entity=user, sponsor_id=sponsor_id,
           changes=[{"field": "role", "from": before, "to": role_.value}])


def withdraw(session: Session, user: User, sponsor_id: int, *, actor: str) -> None:
    row = session.get(UserSponsorRole, (user.id, sponsor_id))
    if row is None:
        return
    before = Role(row.role).value
    session.delete(row)
    record(session, actor=actor, action="user.grant_withdrawn", entity=user,
           sponsor_id=sponsor_id, changes=[{"field": "role", "from": before, "to": None}])

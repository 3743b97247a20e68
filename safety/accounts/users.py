"""Web users: creating them, logging in, locking and unlocking, passwords.

Every change writes an audit event in the same transaction: account creation, lock and unlock,
failed and successful logins, password changes, failed signature passwords.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from safety.accounts.grants import grant
from safety.accounts.policy import (
    BAD_CREDENTIALS,
    LOCKED,
    PASSWORD_METHOD,
    UserError,
    check_password_policy,
    locks_after,
    normalise_email,
)
from safety.accounts.roles import check_site_scope, parse_role
from safety.accounts.store import User
from safety.audit.store import record


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def create_user(session: Session, *, email: str, role: str, password: str,
                printed_name: str, site_id: int | None, actor: str,
                sponsor_ids: Iterable[int] = ()) -> User:
    """A new account; staff get ``role`` for each of ``sponsor_ids`` (``safety.accounts.
    grants``), site staff work for their site's sponsor."""
    email = normalise_email(email)
    role_ = parse_role(role)
    check_site_scope(role_, site_id)
    check_password_policy(password)
    if not printed_name.strip():
        raise UserError("printed name is required (it appears on signatures)")
    if get_user_by_email(session, email) is not None:
        raise UserError(f"a user with email {email!r} already exists")
    user = User(email=email, role=role_.value, site_id=site_id,
                printed_name=printed_name.strip(), password_hash=hash_password(password),
                failed_logins=0, active=True)
    session.add(user)
    session.flush()
    record(session, actor=actor, action="user.created", entity=user,
           changes=[{"field": "role", "from": None, "to": role_.value},
                    {"field": "site_id", "from": None, "to": site_id},
                    {"field": "printed_name", "from": None, "to": user.printed_name}])
    for sponsor_id in sorted(set(sponsor_ids)):
        grant(session, user, sponsor_id, role_, actor=actor)
    return user


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.email)).scalars())


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None


def authenticate(session: Session, email: str, password: str, *, now: datetime) -> LoginResult:
    """Check a login; count failures and lock the account after ``MAX_FAILED_LOGINS``."""
    try:
        user = get_user_by_email(session, normalise_email(email))
    except UserError:
        user = None
    if user is None:
        return LoginResult(None, BAD_CREDENTIALS)
    if user.locked or not user.active:
        record(session, actor=user.actor, action="user.login_refused", entity=user,
               reason="account locked" if user.locked else "account inactive")
        return LoginResult(None, LOCKED)
    if not check_password_hash(user.password_hash, password):
        before = user.failed_logins
        user.failed_logins = before + 1
        changes = [{"field": "failed_logins", "from": before, "to": user.failed_logins}]
        if locks_after(user.failed_logins):
            user.locked_at = now
            user.lock_reason = f"{user.failed_logins} failed logins"
            changes.append({"field": "locked_at", "from": None, "to": now.isoformat()})
        record(session, actor=user.actor, action="user.login_failed", entity=user,
               changes=changes)
        return LoginResult(None, LOCKED if user.locked else BAD_CREDENTIALS)
    if user.failed_logins:
        record(session, actor=user.actor, action="user.login", entity=user,
               changes=[{"field": "failed_logins", "from": user.failed_logins, "to": 0}])
    else:
        record(session, actor=user.actor, action="user.login", entity=user)
    user.failed_logins = 0
    user.last_login_at = now
    return LoginResult(user)


def verify_signing_password(session: Session, user: User, password: str, *,
                            now: datetime) -> bool:
    """The second signature component (21 CFR 11.200(a)); failures count toward lockout."""
    if user.locked or not user.active:
        return False
    if check_password_hash(user.password_hash, password):
        return True
    before = user.failed_logins
    user.failed_logins = before + 1
    changes = [{"field": "failed_logins", "from": before, "to": user.failed_logins}]
    if locks_after(user.failed_logins):
        user.locked_at = now
        user.lock_reason = f"{user.failed_logins} failed password checks"
        changes.append({"field": "locked_at", "from": None, "to": now.isoformat()})
    record(session, actor=user.actor, action="signature.password_failed", entity=user,
           changes=changes)
    return False


def set_locked(session: Session, user: User, locked: bool, *, actor: str, now: datetime,
               reason: str | None = None) -> None:
    if locked == user.locked:
        return
    before = user.locked_at.isoformat() if user.locked_at else None
    if locked:
        user.locked_at, user.lock_reason = now, reason or "locked by an administrator"
    else:
        user.locked_at, user.lock_reason = None, None
        user.failed_logins = 0
    record(session, actor=actor, action="user.locked" if locked else "user.unlocked",
           entity=user, reason=reason,
           changes=[{"field": "locked_at", "from": before,
                     "to": user.locked_at.isoformat() if user.locked_at else None}])


def set_password(session: Session, user: User, password: str, *, actor: str,
                 now: datetime) -> None:
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    record(session, actor=actor, action="user.password_set", entity=user,
           changes=[{"field": "password_hash", "from": "(hidden)", "to": "(hidden)"}])


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def logged_out(session: Session, user: User) -> None:
    record(session, actor=user.actor, action="user.logout", entity=user)

"""Web users: creating them, logging in, locking and unlocking, passwords.

Every change writes an audit event in the same transaction: account creation, lock and unlock,
failed and successful logins, throttled logins, password changes, failed signature passwords.
A failed login for an address with no account has no record to attach an event to; it is
logged (``safety.accounts``), and counted by the throttle like any other.

The login throttle (``safety.accounts.policy``) keeps its counters in Redis, in fixed windows
(``LoginCounters``). If Redis cannot be reached, logins go on unthrottled and the failure is
logged: the password check's own cost and the lock after ``LOCK_AFTER_FAILED_LOGINS`` (kept in
the database) still bound guessing, and nobody is shut out by an outage.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import structlog
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from safety.accounts.grants import grant
from safety.accounts.policy import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    BAD_CREDENTIALS,
    FAMILIAR_DAYS,
    LOCKED,
    PAIR_MEMORY_SECONDS,
    PASSWORD_METHOD,
    THROTTLED,
    Counters,
    Throttle,
    UserError,
    check_password_policy,
    delay_after,
    locks_after,
    normalise_email,
    signature_failures_lock,
    throttle,
)
from safety.accounts.roles import check_site_scope, parse_role
from safety.accounts.store import User
from safety.audit.store import AuditEvent, record

log = structlog.get_logger("safety.accounts")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


# Checked when no account has the address typed, so that an unknown address costs the same
# scrypt as a wrong password: the time of the answer does not tell which addresses exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(24))


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
    retry_after: int = 0  # seconds, when the try was throttled


class LoginCounters:
    """The throttle's counters for one typed address (the account, found or not) and one
    client address, in Redis. Fixed windows: the failure that starts a window gives its
    counter the window's expiry, later ones only count; a counter found without an expiry
    (its process died between the two) is not trusted, and gets one at the next failure.
    Every Redis error is logged and read as "no counts"."""

    def __init__(self, redis: Redis, email: str, address: str) -> None:
        self.redis = redis
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        self.pair = f"login:pair:{account}:{address}"
        self.wait = f"login:wait:{account}:{address}"
        self.by_address = f"login:addr:{address}"
        self.by_account = f"login:acct:{account}"
        self.familiar = f"login:seen:{account}:{address}"
        self.noted = f"login:noted:{account}:{address}"

    def read(self) -> Counters:
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.ttl(self.wait)
            pipe.get(self.by_address)
            pipe.ttl(self.by_address)
            pipe.get(self.by_account)
            pipe.ttl(self.by_account)
            pipe.exists(self.familiar)
            wait, a_n, a_ttl, c_n, c_ttl, seen = pipe.execute()
        except RedisError as exc:
            log.warning("login.throttle_unavailable", error=repr(exc))
            return Counters()
        a_ttl, c_ttl = int(a_ttl), int(c_ttl)
        return Counters(pair_wait=max(int(wait), 0),
                        address_failures=int(a_n or 0) if a_ttl > 0 else 0,
                        address_window_left=max(a_ttl, 0),
                        account_failures=int(c_n or 0) if c_ttl > 0 else 0,
                        account_window_left=max(c_ttl, 0), familiar=bool(seen))

    def failed(self, counts: Counters) -> int:
        """Count a failure; return the wait it sets before this pair's next try."""
        windows = [(self.by_address, ADDRESS_LIMIT.window_seconds)]
        if not counts.familiar:  # the owner's own slips do not bring the account limit on
            windows.append((self.by_account, ACCOUNT_LIMIT.window_seconds))
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(self.pair)
            pipe.expire(self.pair, PAIR_MEMORY_SECONDS)
            for key, _ in windows:
                pipe.incr(key)
                pipe.ttl(key)
            answers = pipe.execute()
            pipe = self.redis.pipeline(transaction=False)
            for i, (key, seconds) in enumerate(windows):
                if int(answers[3 + 2 * i]) == -1:  # no expiry yet: this failure opens a window
                    pipe.expire(key, seconds)
            delay = delay_after(int(answers[0]))
            if delay:
                pipe.set(self.wait, 1, ex=delay)
            if len(pipe):
                pipe.execute()
        except RedisError as exc:
            log.warning("login.throttle_unavailable", error=repr(exc))
            return 0
        return delay

    def succeeded(self) -> None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.delete(self.pair, self.wait)
            pipe.set(self.familiar, 1, ex=FAMILIAR_DAYS * 86400)
            pipe.execute()
        except RedisError as exc:
            log.warning("login.throttle_unavailable", error=repr(exc))

    def first_refusal(self, refused: Throttle) -> bool:
        """Whether this is the first try that ``refused`` turns away (audited once, not at
        every try it refuses)."""
        try:
            return bool(self.redis.set(f"{self.noted}:{refused.rule}", 1, ex=refused.seconds,
                                       nx=True))
        except RedisError:
            return True


def authenticate(session: Session, email: str, password: str, *, now: datetime,
                 address: str, redis: Redis) -> LoginResult:
    """Check a login from the client ``address``: throttled tries are refused before the
    password is checked; an unknown address costs the same as a wrong password."""
    try:
        user = get_user_by_email(session, normalise_email(email))
    except UserError:
        user = None
    counters = LoginCounters(redis, email, address)
    counts = counters.read()
    refused = throttle(counts)
    if refused is not None:
        if user is not None and counters.first_refusal(refused):
            record(session, actor=user.actor, action="user.login_throttled", entity=user,
                   reason=f"too many failed logins ({refused.rule} limit) from {address}; "
                          f"tries refused for {refused.seconds} s")
        else:  # an unknown account, or a refusal already audited in this episode
            log.info("login.throttled", rule=refused.rule, address=address,
                     seconds=refused.seconds, account="known" if user else "unknown")
        return LoginResult(None, THROTTLED.format(seconds=refused.seconds),
                           retry_after=refused.seconds)
    if not check_password_hash(user.password_hash if user else _DUMMY_HASH, password) \
            or user is None:
        wait = counters.failed(counts)
        if user is None:
            log.info("login.failed", account="unknown", address=address)
        else:
            _login_failed(session, user, address, wait, now)
        return LoginResult(None, BAD_CREDENTIALS)
    if user.locked or not user.active:  # told only to whoever knows the password
        record(session, actor=user.actor, action="user.login_refused", entity=user,
               reason=("account locked" if user.locked else "account inactive")
               + f"; from {address}")
        return LoginResult(None, LOCKED)
    counters.succeeded()
    if user.failed_logins:
        record(session, actor=user.actor, action="user.login", entity=user,
               changes=[{"field": "failed_logins", "from": user.failed_logins, "to": 0}],
               reason=f"from {address}")
    else:
        record(session, actor=user.actor, action="user.login", entity=user,
               reason=f"from {address}")
    user.failed_logins = 0
    user.last_login_at = now
    return LoginResult(user)


def _login_failed(session: Session, user: User, address: str, wait: int,
                  now: datetime) -> None:
    """Count a wrong password in the account's row; lock it at ``LOCK_AFTER_FAILED_LOGINS``."""
    before = user.failed_logins
    user.failed_logins = before + 1
    changes = [{"field": "failed_logins", "from": before, "to": user.failed_logins}]
    if locks_after(user.failed_logins) and not user.locked:
        user.locked_at = now
        user.lock_reason = f"{user.failed_logins} failed logins in a row"
        changes.append({"field": "locked_at", "from": None, "to": now.isoformat()})
    record(session, actor=user.actor, action="user.login_failed", entity=user,
           changes=changes, reason=f"wrong password from {address}"
           + (f"; next try from there in {wait} s" if wait else ""))


def verify_signing_password(session: Session, user: User, password: str, *,
                            now: datetime) -> bool:
    """The second signature component (21 CFR 11.200(a)). Whoever types it holds the session,
    so ``MAX_FAILED_SIGNATURES`` wrong ones since the user's login lock the account."""
    if user.locked or not user.active:
        return False
    if check_password_hash(user.password_hash, password):
        return True
    this_session = _signature_failures_since(session, user, user.last_login_at) + 1
    before = user.failed_logins
    user.failed_logins = before + 1
    changes = [{"field": "failed_logins", "from": before, "to": user.failed_logins}]
    if signature_failures_lock(this_session):
        user.locked_at = now
        user.lock_reason = f"{this_session} wrong passwords at signing"
        changes.append({"field": "locked_at", "from": None, "to": now.isoformat()})
    record(session, actor=user.actor, action="signature.password_failed", entity=user,
           changes=changes)
    return False


def _signature_failures_since(session: Session, user: User, since: datetime | None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == User.__tablename__, AuditEvent.entity_id == str(user.id),
        AuditEvent.action == "signature.password_failed")
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    return int(session.execute(query).scalar_one())


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

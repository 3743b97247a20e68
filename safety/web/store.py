"""Persistence for the web workspace: users, case assignments and electronic signatures.

Every change here writes an audit event in the same transaction (``safety.audit.record``):
account creation, lock and unlock, failed and successful logins, assignments, workflow
transitions and signatures. Signatures, like audit events, are never updated or deleted.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    Uuid,
    event,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from safety.accounts.roles import check_site_scope, parse_role
from safety.accounts.store import Site
from safety.audit.store import record
from safety.cases.store import Case, CaseVersion
from safety.cases.workflow import Change, ReviewFacts
from safety.db.base import Base, ImmutableRowError, UTCDateTime, utcnow
from safety.review import signing
from safety.web.sources import DEFAULT_SOURCES, ReviewSources

MAX_FAILED_LOGINS = 5
MIN_PASSWORD_LENGTH = 12
# werkzeug's scrypt (n=2**15, r=8, p=1): memory-hard, in the standard library via hashlib.
PASSWORD_METHOD = "scrypt"


class User(Base):
    """A person who logs in to the web workspace. Never deleted: deactivate or lock instead,
    so that audit events and signatures keep pointing at the person who made them."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    printed_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
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


class CaseAssignment(Base):
    """Who works a case now (one assignee per case); history lives in the audit trail."""

    __tablename__ = "case_assignments"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Signature(Base):
    """An electronic signature bound to one case version (see ``safety.review.signing``)."""

    __tablename__ = "signatures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_email: Mapped[str] = mapped_column(String(254))
    printed_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_zone: Mapped[str] = mapped_column(String(64))
    signed_at_local: Mapped[str] = mapped_column(String(40))
    data_sha256: Mapped[str] = mapped_column(String(64))
    message_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest_sha256: Mapped[str] = mapped_column(String(64))

    def manifest(self, case_number: str) -> signing.Manifest:
        return signing.Manifest(
            case_id=str(self.case_id), case_number=case_number, version=self.version,
            data_sha256=self.data_sha256, message_sha256=self.message_sha256,
            signer_id=self.user_id, signer_email=self.signer_email,
            printed_name=self.printed_name, meaning=self.meaning,
            signed_at_utc=self.signed_at, local_zone=self.local_zone,
        )


@event.listens_for(Session, "before_flush")
def _signatures_are_immutable(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, Signature) and session.is_modified(obj):
            raise ImmutableRowError("Signature rows are immutable")
    for obj in session.deleted:
        if isinstance(obj, Signature | User):
            raise ImmutableRowError(f"{type(obj).__name__} rows are never deleted")


# --- users ----------------------------------------------------------------------------------


class UserError(ValueError):
    """A user could not be created or changed; the message names the field and the reason."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise UserError(f"email {email!r} is not an address")
    return email


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise UserError("password must not start or end with white space")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def site_by_name(session: Session, name: str) -> Site:
    site = session.execute(select(Site).where(Site.name == name)).scalars().first()
    if site is None:
        raise UserError(f"no site named {name!r} (create it with `safety site add`)")
    return site


def create_user(session: Session, *, email: str, role: str, password: str,
                printed_name: str, site_id: int | None, actor: str) -> User:
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


# Same words whether the address is unknown or the password wrong: no account enumeration.
BAD_CREDENTIALS = "Unknown email or wrong password."
LOCKED = "This account is locked. Ask an administrator to unlock it."


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
        if user.failed_logins >= MAX_FAILED_LOGINS:
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
    if user.failed_logins >= MAX_FAILED_LOGINS:
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


# --- cases ----------------------------------------------------------------------------------


def assignee_of(session: Session, case_id: uuid.UUID) -> User | None:
    row = session.get(CaseAssignment, case_id)
    return row.user if row else None


def assign(session: Session, case: Case, user: User, *, actor: str) -> None:
    row = session.get(CaseAssignment, case.id)
    before = row.user.email if row else None
    if row is not None and row.user_id == user.id:
        return
    if row is None:
        session.add(CaseAssignment(case_id=case.id, user_id=user.id))
    else:
        row.user_id, row.assigned_at = user.id, utcnow()
    record(session, actor=actor, action="case.assigned", entity=case,
           changes=[{"field": "assignee", "from": before, "to": user.email}])


def apply_change(session: Session, case: Case, change: Change, *, actor: str) -> None:
    """Write a planned workflow transition and its audit event in one transaction."""
    if case.state != change.from_state:
        raise ImmutableRowError(
            f"case {case.case_number} moved to {case.state!r} meanwhile; reload and retry")
    case.state = change.to_state
    record(session, actor=actor, action=f"case.{change.transition}", entity=case,
           changes=[{"field": "state", "from": change.from_state, "to": change.to_state}],
           reason=change.reason)


def versions(session: Session, case_id: uuid.UUID) -> list[CaseVersion]:
    return list(session.execute(
        select(CaseVersion).where(CaseVersion.case_id == case_id).order_by(CaseVersion.version)
    ).scalars())


def sign(session: Session, case: Case, version: CaseVersion, user: User, *,
         meaning: str, now: datetime, zone: str,
         message_sha256: str | None = None) -> Signature:
    now = now.replace(microsecond=0)  # the signed instant as shown; equal in every database
    manifest = signing.Manifest(
        case_id=str(case.id), case_number=case.case_number, version=version.version,
        data_sha256=signing.content_hash(version.data), message_sha256=message_sha256,
        signer_id=user.id, signer_email=user.email, printed_name=user.printed_name,
        meaning=meaning, signed_at_utc=now, local_zone=zone,
    )
    sig = Signature(
        case_id=case.id, case_version_id=version.id, version=version.version,
        user_id=user.id, signer_email=user.email, printed_name=user.printed_name,
        meaning=meaning, signed_at=now, local_zone=zone,
        signed_at_local=manifest.signed_at_local.isoformat(),
        data_sha256=manifest.data_sha256, message_sha256=message_sha256,
        manifest_sha256=manifest.sha256(),
    )
    session.add(sig)
    session.flush()
    record(session, actor=user.actor, action="case.signed", entity=case,
           changes=[{"field": "signature", "from": None,
                     "to": {"version": version.version, "meaning": meaning,
                            "printed_name": user.printed_name,
                            "signed_at_utc": now.isoformat(),
                            "signed_at_local": sig.signed_at_local,
                            "data_sha256": sig.data_sha256,
                            "manifest_sha256": sig.manifest_sha256}}],
           reason=meaning)
    return sig


def signatures(session: Session, case_id: uuid.UUID) -> list[Signature]:
    return list(session.execute(
        select(Signature).where(Signature.case_id == case_id).order_by(Signature.signed_at)
    ).scalars())


def message_sha256(session: Session, case: Case, current: CaseVersion,
                   sources: ReviewSources) -> str | None:
    if sources.message is None:
        return None
    message = sources.message(session, case, current)
    return None if message is None else hashlib.sha256(message).hexdigest()


def signature_status(case: Case, current: CaseVersion, sig: Signature,
                     current_message_sha256: str | None = None) -> signing.SignatureStatus:
    return signing.status(sig.version, sig.data_sha256, sig.manifest_sha256,
                          sig.manifest(case.case_number), case.current_version,
                          signing.content_hash(current.data), current_message_sha256)


def review_facts(session: Session, case: Case, current: CaseVersion,
                 sources: ReviewSources = DEFAULT_SOURCES) -> ReviewFacts:
    """What the workflow guards may know today; a count no area provides yet is ``None``."""
    signed = None
    message = message_sha256(session, case, current, sources)
    for sig in reversed(signatures(session, case.id)):
        if signature_status(case, current, sig, message).valid:
            signed = sig.version
            break
    reactions = len((current.data or {}).get("reactions") or [])
    return ReviewFacts(
        state=case.state, current_version=case.current_version, signed_version=signed,
        reactions=reactions,
        unconfirmed_coding=sources.count("unconfirmed_coding", session, case, current),
        open_duplicates=sources.count("open_duplicates", session, case, current),
        conformance_errors=sources.count("conformance_errors", session, case, current),
        open_obligations=sources.count("open_obligations", session, case, current),
    )


def state_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Case.state, func.count()).group_by(Case.state))
    return {state: n for state, n in rows}

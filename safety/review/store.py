"""Review records: who works a case now, and the electronic signatures (never updated or
deleted; see ``safety.review.signing`` for what a signature binds)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from safety.accounts.store import User
from safety.audit.store import record
from safety.cases.store import Case, CaseVersion
from safety.db.base import Base, UTCDateTime, utcnow
from safety.review import signing


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
    __updatable__ = frozenset()
    __keep_rows__ = True

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


def add_signature(session: Session, case: Case, version: CaseVersion, user: User, *,
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


def signature_status(case: Case, current: CaseVersion, sig: Signature,
                     current_message_sha256: str | None = None) -> signing.SignatureStatus:
    return signing.status(sig.version, sig.data_sha256, sig.manifest_sha256,
                          sig.manifest(case.case_number), case.current_version,
                          signing.content_hash(current.data), current_message_sha256)

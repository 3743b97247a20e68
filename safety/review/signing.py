"""What an electronic signature of approval records and binds to (21 CFR Part 11).

- §11.50: the signed record shows the signer's printed name, the date and time of signing and
  the meaning of the signature; we keep the time in UTC and in the signer's local zone.
- §11.70: the signature is linked to its record so it cannot be excised, copied or
  transferred: we bind it to the case id, the exact version and the SHA-256 of that version's
  canonical JSON (and of the E2B message once one is generated), and hash the whole manifest.
- §11.200(a): a non-biometric signature uses two components (user id and password); the
  password is asked again at every signing, not inferred from the session.

A later version of the case has a different number and content hash, so the signature no
longer matches the case: :func:`status` says so and the shell shows it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

APPROVAL_MEANING = "medically reviewed and approved for submission"


def canonical_json(data: Any) -> bytes:
    """One byte sequence per JSON value, so the same content always hashes the same."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """The signed statement. Its hash is stored with the signature row."""

    case_id: str
    case_number: str
    version: int
    data_sha256: str
    message_sha256: str | None
    signer_id: int
    signer_email: str
    printed_name: str
    meaning: str
    signed_at_utc: datetime
    local_zone: str

    @property
    def signed_at_local(self) -> datetime:
        return self.signed_at_utc.astimezone(ZoneInfo(self.local_zone))

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id, "case_number": self.case_number, "version": self.version,
            "data_sha256": self.data_sha256, "message_sha256": self.message_sha256,
            "signer_id": self.signer_id, "signer_email": self.signer_email,
            "printed_name": self.printed_name, "meaning": self.meaning,
            "signed_at_utc": self.signed_at_utc.isoformat(),
            "signed_at_local": self.signed_at_local.isoformat(),
            "local_zone": self.local_zone,
        }

    def sha256(self) -> str:
        return content_hash(self.as_dict())


def local_zone(candidate: str | None, fallback: str) -> str:
    """The signer's IANA zone when the browser sent a valid one, else the organisation's."""
    if candidate:
        try:
            ZoneInfo(candidate)
            return candidate
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


@dataclass(frozen=True)
class SignatureStatus:
    valid: bool
    reason: str


def status(signed_version: int, signed_data_sha256: str, stored_manifest_sha256: str,
           manifest: Manifest, current_version: int, current_data_sha256: str,
           current_message_sha256: str | None = None) -> SignatureStatus:
    """Whether a stored signature still holds for the case as it is now, and why not.

    A message hash is compared only when the signature bound one: before the E2B area stores
    messages, signatures bind the case content alone."""
    if manifest.sha256() != stored_manifest_sha256:
        return SignatureStatus(False, "the signature record does not match its manifest hash")
    if current_version != signed_version:
        return SignatureStatus(
            False, f"signed version {signed_version}; the case is now version "
                   f"{current_version}")
    if current_data_sha256 != signed_data_sha256:
        return SignatureStatus(False, "the signed version's content has changed since signing")
    if manifest.message_sha256 is not None and current_message_sha256 != manifest.message_sha256:
        return SignatureStatus(False, "the E2B message differs from the one signed")
    return SignatureStatus(True, f"valid for version {signed_version}")

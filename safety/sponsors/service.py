"""Adding and configuring the sponsors a CRO works for. Every change is audited field by field
(who, when, from → to), because a sponsor's configuration decides what its regulators receive:
the sender block, the gateway identifiers, the worldwide case ids, the day-0 time zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.audit.store import AuditEvent, record
from safety.cases.store import case_number_with_prefix
from safety.db.memo import once
from safety.sponsors.profile import (
    ProfileError,
    RulesOptions,
    SponsorProfile,
    check_code,
    check_org_code,
    check_prefix,
    check_timezone,
    gateways_from_json,
    partners_from_json,
    reporting_from_json,
    rules_options_from_json,
    sender_or_error,
)
from safety.sponsors.sender import SenderProfileError, load_installation_sender
from safety.sponsors.store import Sponsor, all_sponsors, read_profile, sponsor_by_code

SETTINGS = ("name", "org_code", "case_prefix", "timezone", "sender", "gateways", "reporting",
            "rules", "partners")


class SponsorError(ValueError):
    """A sponsor that cannot be added or configured; the message names the setting."""


def _checked(name: str, value: Any) -> Any:
    """The stored form of one setting, checked (``ProfileError`` names it)."""
    if name == "name":
        text = str(value or "").strip()
        if not text:
            raise ProfileError("name: required")
        return text
    if name == "org_code":
        return check_org_code(str(value))
    if name == "case_prefix":
        return check_prefix(str(value))
    if name == "timezone":
        return check_timezone(str(value))
    if name == "sender":
        sender = sender_or_error(value)
        return sender.to_json() if sender is not None else {}
    if name == "gateways":
        return {k: g.to_json() for k, g in gateways_from_json(value).items()}
    if name == "reporting":
        return [r.to_json() for r in reporting_from_json(value)]
    if name == "rules":
        return rules_options_from_json(value).to_json()
    if name == "partners":
        return [p.to_json() for p in partners_from_json(value)]
    raise ProfileError(f"{name}: not a sponsor setting (known: {', '.join(SETTINGS)})")


def _refuse_taken_prefix(session: Session, prefix: str, sponsor_id: int | None) -> None:
    """A case number must name one case: a prefix another sponsor holds, or once held and
    numbered cases with, would give this sponsor's cases numbers that may already exist
    (each sponsor's sequence starts at 1)."""
    if any(s.case_prefix == prefix and s.id != sponsor_id for s in all_sponsors(session)):
        raise SponsorError(f"case_prefix: {prefix!r} is another sponsor's")
    used = case_number_with_prefix(session, prefix, sponsor_id)
    if used is not None:
        raise SponsorError(f"case_prefix: {prefix!r} numbers another sponsor's cases "
                           f"(e.g. {used}); choose a prefix no case has")


def add_sponsor(session: Session, *, code: str, name: str, org_code: str, case_prefix: str,
                timezone: str = "UTC", actor: str, **more: Any) -> Sponsor:
    try:
        code = check_code(code)
        values = {n: _checked(n, v) for n, v in {
            "name": name, "org_code": org_code, "case_prefix": case_prefix,
            "timezone": timezone, **more}.items()}
    except ProfileError as exc:
        raise SponsorError(str(exc)) from None
    if sponsor_by_code(session, code) is not None:
        raise SponsorError(f"code: a sponsor {code!r} exists already")
    _refuse_taken_prefix(session, values["case_prefix"], None)
    sponsor = Sponsor(code=code, **{"sender": {}, "gateways": {}, "reporting": [],
                                         "partners": [],
                                         "rules": RulesOptions().to_json(), **values})
    session.add(sponsor)
    session.flush()
    record(session, actor=actor, action="sponsor.created", entity=sponsor,
           changes=[{"field": n, "from": None, "to": v} for n, v in values.items()])
    return sponsor


def configure(session: Session, sponsor: Sponsor, changes: Mapping[str, Any], *,
              actor: str, reason: str | None = None) -> list[dict[str, Any]]:
    """Change some settings; returns the audited changes (nothing for a value unchanged)."""
    done = []
    try:
        checked = {n: _checked(n, v) for n, v in changes.items()}
    except ProfileError as exc:
        raise SponsorError(str(exc)) from None
    if "case_prefix" in checked:
        _refuse_taken_prefix(session, checked["case_prefix"], sponsor.id)
    for name, value in checked.items():
        before = getattr(sponsor, name)
        if before == value:
            continue
        setattr(sponsor, name, value)
        done.append({"field": name, "from": before, "to": value})
    if done:
        record(session, actor=actor, action="sponsor.configured", entity=sponsor, changes=done,
               reason=reason)
    return done


def sponsors(session: Session, ids: frozenset[int] | None = None) -> list[Sponsor]:
    """The sponsors (those in ``ids`` when given), by code."""
    return [s for s in all_sponsors(session) if ids is None or s.id in ids]


def find(session: Session, code: str) -> Sponsor:
    sponsor = sponsor_by_code(session, code)
    if sponsor is None:
        raise SponsorError(f"no sponsor {code.strip().upper()!r}")
    return sponsor


def sponsor_id_for(session: Session, code: str, among: frozenset[int]) -> int | None:
    """The id of the sponsor with this code, if it is one of ``among``."""
    sponsor = sponsor_by_code(session, code)
    return sponsor.id if sponsor is not None and sponsor.id in among else None


def profile(session: Session, sponsor_id: int) -> SponsorProfile:
    """The checked configuration of one sponsor (once per pipeline job: ``safety.db.memo``)."""
    return once(session, ("sponsor-profile", sponsor_id),
                lambda: read_profile(session, sponsor_id))


def show(sponsor: Sponsor) -> dict[str, Any]:
    return {"id": sponsor.id, "code": sponsor.code, "name": sponsor.name,
            "org_code": sponsor.org_code, "case_prefix": sponsor.case_prefix,
            "timezone": sponsor.timezone, "sender": sponsor.sender or {},
            "gateways": sponsor.gateways or {}, "reporting": sponsor.reporting or [],
            "rules": rules_options_from_json(sponsor.rules).to_json(),
            "partners": sponsor.partners or []}


def sponsor_audit(session: Session, sponsor: Sponsor, limit: int = 50) -> list[AuditEvent]:
    """The changes made to the sponsor's configuration, newest first."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == Sponsor.__tablename__,
                                 AuditEvent.entity_id == str(sponsor.id))
        .order_by(AuditEvent.id.desc()).limit(limit)))


def migration_defaults(org_code: str, timezone: str,
                       sender_profile: Path) -> dict[str, object]:
    """What a single-organisation installation was configured with: the migration that makes
    sponsors the tenants (0004) gives it to the sponsor its data moves into.

    Read only when that migration runs (a callable: every command of an embedded installation
    passes it to the upgrade, and a file left behind afterwards concerns nobody). Raises
    :class:`SponsorError`, naming the setting, for what no sponsor could be configured with:
    an organisation code with no 2 to 40 letters or digits, or a sender block the installation
    itself could not have read. Nothing is dropped in silence, and the migration has changed
    nothing yet when it stops.
    """

    def default_sponsor() -> dict[str, object]:
        # The installation's worldwide ids (C.1.8.1) carried these letters and digits.
        code = re.sub(r"[^A-Z0-9]", "", org_code.upper())
        try:
            check_org_code(code)
        except ProfileError:
            raise SponsorError(
                f"SAFETY_ORG_CODE {org_code!r} cannot be the DEFAULT sponsor's organisation "
                "code: it needs 2 to 40 letters or digits (the organisation part of the "
                "worldwide case id, C.1.8.1)") from None
        try:
            sender = load_installation_sender(sender_profile)
        except SenderProfileError as exc:
            raise SponsorError(
                f"SAFETY_SENDER_PROFILE: the sender block the DEFAULT sponsor is migrated "
                f"with cannot be read: {exc}. Correct the file (or remove it and configure "
                "the sender later with `safety sponsor configure DEFAULT --sender FILE`), "
                "then upgrade again") from None
        return {"org_code": org_code, "timezone": timezone,
                "sender": sender.to_json() if sender is not None else {}}

    return {"default_sponsor": default_sponsor}

"""What a CRO keeps per sponsor: how the sponsor's cases are numbered and identified, who sends
its reports, through which gateway identifiers, to which regulators in which capacity, and in
which time zone its clock starts.

- **Worldwide case id** (E2B(R3) C.1.8.1): ``<country>-<organisation code>-<number>`` with the
  sponsor's own organisation code (ICH E2B(R3) IG 3.3.2), and the sponsor's case number prefix
  for the human case number.
- **Sender block** (C.3): the sponsor's, on every message (``safety.sponsors.sender``).
- **Gateway identifiers** per regulator: batch sender and receiver (N.1.3, N.1.4), message
  sender and receiver (N.2.r.2, N.2.r.3). FDA and EMA receivers are published (ICH/FDA/EU
  implementation guides, ``safety/e2b/data/destinations.json``); the sender ids are the
  sponsor's gateway registration. MHRA and Health Canada identifiers come only from here.
- **Capacities**: which regulators the sponsor reports to and as what (IND/CTA holder,
  marketing authorisation holder, per country).
- **Time zone** for day 0: the calendar date a receipt falls on is the sponsor's (its SOPs).
- **Partners**: the E2B senders (N.2.r.2) that act for the sponsor under a safety data exchange
  agreement (affiliate, licence partner, vendor), whose own receipt of a case (C.1.4, C.1.5)
  starts the sponsor's clock (ICH E2D 4.1; GVP Module VI.B.7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safety.sponsors.sender import SenderProfile, SenderProfileError, sender_from_json

REGULATORS = ("fda", "ema", "mhra", "hc")  # the E2B regions of safety.submissions.routing
CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,19}")
ORG_CODE = re.compile(r"[A-Z0-9]{2,40}")
PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")
GATEWAY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


class ProfileError(ValueError):
    """A sponsor setting that cannot be used; the message names the setting."""


class Capacity(StrEnum):
    IND_HOLDER = "ind_holder"  # sponsor of an IND (21 CFR 312)
    CTA_HOLDER = "cta_holder"  # sponsor of a clinical trial authorisation (EU CTR, UK, HC)
    MAH = "mah"  # marketing authorisation holder


@dataclass(frozen=True)
class Gateway:
    """One regulator's transmission identifiers for this sponsor. A receiver left out is the
    regulator's published one where there is one (FDA, EMA)."""

    sender_id: str  # N.1.3 and N.2.r.2: the sponsor's registration at the gateway
    batch_receiver: str | None = None  # N.1.4
    message_receiver: str | None = None  # N.2.r.3

    def to_json(self) -> dict[str, str | None]:
        return {"sender_id": self.sender_id, "batch_receiver": self.batch_receiver,
                "message_receiver": self.message_receiver}


@dataclass(frozen=True)
class Reporting:
    """The sponsor reports to ``regulator`` as ``capacity`` (for ``countries``, where a
    capacity is national, e.g. a marketing authorisation)."""

    regulator: str
    capacity: Capacity
    countries: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"regulator": self.regulator, "capacity": self.capacity.value,
                "countries": list(self.countries)}


class UkFollowUp(StrEnum):
    """How the sponsor reads SI 2004/1031 reg. 33(2) (the 8-day report after a fatal or
    life-threatening UK SUSAR) since its 2026 amendment: owed after every 7-day report, or only
    when the 7-day report was filed incomplete (as EU CTR Art. 42(2) second subparagraph)."""

    ALWAYS = "always"
    IF_INCOMPLETE = "if_incomplete"


@dataclass(frozen=True)
class RulesOptions:
    """The sponsor's documented choices where the law is ambiguous (docs/rules.md, "Choices
    per sponsor"); each default is the reading that never misses a report."""

    uk_ct_followup: UkFollowUp = UkFollowUp.ALWAYS

    def to_json(self) -> dict[str, str]:
        return {"uk_ct_followup": self.uk_ct_followup.value}


RULES_OPTIONS: dict[str, type[StrEnum]] = {"uk_ct_followup": UkFollowUp}


def rules_options_from_json(data: object) -> RulesOptions:
    if data in (None, {}):
        return RulesOptions()
    if not isinstance(data, dict):
        raise ProfileError("rules: expected an object {option: value}")
    unknown = set(data) - set(RULES_OPTIONS)
    if unknown:
        raise ProfileError(f"rules: unknown options {sorted(unknown)} "
                           f"(known: {', '.join(RULES_OPTIONS)})")
    value = data.get("uk_ct_followup", UkFollowUp.ALWAYS.value)
    try:
        uk = UkFollowUp(str(value))
    except ValueError:
        raise ProfileError(f"rules.uk_ct_followup: {value!r} is not one of "
                           f"{', '.join(u.value for u in UkFollowUp)}") from None
    return RulesOptions(uk_ct_followup=uk)


PARTNER_ROLES = ("affiliate", "licence_partner", "vendor")  # safety.rules.day0.ReceiverRole


@dataclass(frozen=True)
class Partner:
    """An E2B sender acting for the sponsor: a report it sends carries its own receipt date
    (C.1.4 first received, C.1.5 most recent), which is the sponsor's day 0 when earliest:
    ICH E2D 4.1 (day zero: "the date on which the MAH — or any personnel ... including
    contractual partners — first receives" the minimum information) and GVP Module VI.B.7
    ("where the MAH has set up contractual arrangements with a person or an organisation
    ... the clock starts from the date of receipt by that person or organisation")."""

    sender: str  # the N.2.r.2 message sender identifier, as the report records it after e2b:
    name: str
    role: str  # one of PARTNER_ROLES

    def to_json(self) -> dict[str, str]:
        return {"sender": self.sender, "name": self.name, "role": self.role}


def partners_from_json(data: object) -> tuple[Partner, ...]:
    if data in (None, []):
        return ()
    if not isinstance(data, list):
        raise ProfileError("partners: expected a list of {sender, name, role}")
    out: list[Partner] = []
    for i, item in enumerate(data):
        where = f"partners[{i}]"
        if not isinstance(item, dict):
            raise ProfileError(f"{where}: expected an object {{sender, name, role}}")
        unknown = set(item) - {"sender", "name", "role"}
        if unknown:
            raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
        sender = item.get("sender")
        if not isinstance(sender, str) or not GATEWAY_ID.fullmatch(sender.strip()):
            raise ProfileError(f"{where}.sender: {sender!r} is not an E2B sender identifier "
                               "(N.2.r.2)")
        name = item.get("name") or sender
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ProfileError(f"{where}.name: a name of 1 to 200 characters")
        role = item.get("role")
        if role not in PARTNER_ROLES:
            raise ProfileError(f"{where}.role: {role!r} is not one of "
                               f"{', '.join(PARTNER_ROLES)}")
        if any(p.sender == sender.strip() for p in out):
            raise ProfileError(f"{where}.sender: {sender!r} is listed twice")
        out.append(Partner(sender.strip(), name.strip(), str(role)))
    return tuple(out)


@dataclass(frozen=True)
class SponsorProfile:
    code: str
    name: str
    org_code: str
    case_prefix: str
    timezone: str = "UTC"
    sender: SenderProfile | None = None
    gateways: Mapping[str, Gateway] = field(default_factory=dict)
    reporting: tuple[Reporting, ...] = ()
    rules: RulesOptions = field(default_factory=RulesOptions)
    partners: tuple[Partner, ...] = ()

    def partner(self, sender: str) -> Partner | None:
        """The partner whose E2B sender id is ``sender`` (with or without ``e2b:``)."""
        key = sender.removeprefix("e2b:")
        return next((p for p in self.partners if p.sender == key), None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def gateway(self, regulator: str) -> Gateway | None:
        return self.gateways.get(regulator)

    def reports_to(self, regulator: str) -> bool:
        return any(r.regulator == regulator for r in self.reporting)


def _upper_matching(value: str, pattern: re.Pattern[str], message: str) -> str:
    value = value.strip().upper()
    if not pattern.fullmatch(value):
        raise ProfileError(message.format(value=value))
    return value


def check_code(value: str, what: str = "code") -> str:
    return _upper_matching(value, CODE,
                           what + ": {value!r} must be 2-20 capitals, digits, '-' or '_'")


def check_org_code(value: str) -> str:
    return _upper_matching(value, ORG_CODE, "org_code: {value!r} must be 2-40 capitals or "
                           "digits (it is the organisation part of the worldwide case id, "
                           "C.1.8.1)")


def check_prefix(value: str) -> str:
    return _upper_matching(value, PREFIX, "case_prefix: {value!r} must be a capital letter "
                           "then up to 9 capitals or digits")


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(f"timezone: {value!r} is not an IANA time zone "
                           "(e.g. Europe/London)") from None
    return value


def sender_or_error(data: object) -> SenderProfile | None:
    if data in (None, {}):
        return None
    try:
        return sender_from_json(data)
    except SenderProfileError as exc:
        raise ProfileError(str(exc)) from None


def gateways_from_json(data: object) -> dict[str, Gateway]:
    if data in (None, {}):
        return {}
    if not isinstance(data, dict):
        raise ProfileError("gateways: expected an object {regulator: {sender_id, ...}}")
    out: dict[str, Gateway] = {}
    for regulator, value in data.items():
        where = f"gateways.{regulator}"
        if regulator not in REGULATORS:
            raise ProfileError(f"{where}: unknown regulator (known: {', '.join(REGULATORS)})")
        if not isinstance(value, dict) or not isinstance(value.get("sender_id"), str):
            raise ProfileError(f"{where}: sender_id (N.1.3/N.2.r.2) is required")
        unknown = set(value) - {"sender_id", "batch_receiver", "message_receiver"}
        if unknown:
            raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
        ids = {k: value.get(k) for k in ("sender_id", "batch_receiver", "message_receiver")}
        for key, given in ids.items():
            if given is not None and (not isinstance(given, str)
                                      or not GATEWAY_ID.fullmatch(given)):
                raise ProfileError(f"{where}.{key}: {given!r} is not a gateway identifier")
        out[regulator] = Gateway(ids["sender_id"] or "", ids["batch_receiver"],
                                 ids["message_receiver"])
    return out


def reporting_from_json(data: object) -> tuple[Reporting, ...]:
    if data in (None, []):
        return ()
    if not isinstance(data, list):
        raise ProfileError("reporting: expected a list of {regulator, capacity, countries}")
    out = []
    for i, item in enumerate(data):
        where = f"reporting[{i}]"
        if not isinstance(item, dict):
            raise ProfileError(f"{where}: expected an object")
        regulator = item.get("regulator")
        if regulator not in REGULATORS:
            raise ProfileError(f"{where}.regulator: {regulator!r} is not one of "
                               f"{', '.join(REGULATORS)}")
        try:
            capacity = Capacity(str(item.get("capacity")))
        except ValueError:
            raise ProfileError(f"{where}.capacity: one of "
                               f"{', '.join(c.value for c in Capacity)}") from None
        countries = item.get("countries") or []
        if not isinstance(countries, list) or not all(
                isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in countries):
            raise ProfileError(f"{where}.countries: ISO 3166 alpha-2 codes")
        out.append(Reporting(str(regulator), capacity, tuple(countries)))
    return tuple(out)


def profile_from_columns(*, code: str, name: str, org_code: str, case_prefix: str,
                         timezone: str, sender: object, gateways: object,
                         reporting: object, rules: object = None,
                         partners: object = None) -> SponsorProfile:
    """The profile from its stored form (every value checked again)."""
    return SponsorProfile(
        code=code, name=name, org_code=org_code, case_prefix=case_prefix, timezone=timezone,
        sender=sender_or_error(sender), gateways=gateways_from_json(gateways),
        reporting=reporting_from_json(reporting), rules=rules_options_from_json(rules),
        partners=partners_from_json(partners))

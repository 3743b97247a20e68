"""Day 0 and the other clock anchors of a case version.

Regulators count calendar days from the date on which the organisation (anyone in it, including
contractors) first held the information. A date needs a time zone: a report received at 23:30 in
New York is already the next day in London. We keep the instant in UTC together with the zone the
organisation documented (``SAFETY_TIMEZONE``, which the callers pass in from their settings) and
derive the calendar date, so a later change of zone never rewrites a stored instant, and every
explanation can say which zone was used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safety.cases.values import PartialDate

DEFAULT_ZONE = "UTC"


class AnchorKind(StrEnum):
    """The moments a rule's clock may start from."""

    FIRST_RECEIPT = "first_receipt"
    SIGNIFICANT_FOLLOWUP = "significant_followup"
    SPONSOR_DETERMINATION = "sponsor_determination"
    FATAL_LT_AWARENESS = "fatal_lt_awareness"
    # The sponsor first held the information that makes the case reportable, when that came
    # later than the first receipt through its own causality opinion (``later_awareness``):
    # "after the sponsor became aware of the reaction" (CTR Art. 42(2)), "first aware"
    # (SI 2004/1031 regs 33-34), "after becoming aware of the information" (C.05.014(1)).
    REPORTABLE_AWARENESS = "reportable_awareness"
    # A completion report's own start: the report it completes was filed (or, until it is,
    # the day it is due). Not a fact of the case, so never one of :class:`Anchors`.
    INITIAL_REPORT = "initial_report"


CASE_ANCHORS = frozenset(AnchorKind) - {AnchorKind.INITIAL_REPORT}

ANCHOR_LABELS = {
    AnchorKind.FIRST_RECEIPT: "organisation first received a valid case",
    AnchorKind.SIGNIFICANT_FOLLOWUP: "significant follow-up information received",
    AnchorKind.SPONSOR_DETERMINATION: "sponsor determined the case qualifies",
    AnchorKind.FATAL_LT_AWARENESS: "organisation became aware of a fatal/life-threatening outcome",
    AnchorKind.REPORTABLE_AWARENESS: "sponsor's later assessment made the case reportable",
    AnchorKind.INITIAL_REPORT: "the report it completes was filed",
}


class AssessedAs(StrEnum):
    """What a later sponsor assessment decided, when it is what made the case reportable."""

    CAUSALITY = "causality"
    EXPECTEDNESS = "expectedness"


def later_awareness(through: AssessedAs, on: Anchor) -> Anchor | None:
    """The ``reportable_awareness`` anchor a later sponsor assessment sets (``None``: day 0
    stays at the receipt of the information).

    - Causality: the case becomes a suspected adverse *reaction* only when someone suspects the
      causal link. When the investigator did not, the sponsor becomes aware of a reaction on
      the day of its own opinion: "after the sponsor became aware of the reaction" (Reg.
      536/2014 Art. 42(2); Annex III 2.1: the sponsor may upgrade, never downgrade, the
      investigator's causality), "first aware of the reaction" (SI 2004/1031 regs 33-34),
      "after becoming aware of the information" (C.05.014(1)).
    - Expectedness: never. Whether a reaction is listed is a comparison of information the
      sponsor already holds (the case, from its receipt) with its own reference safety
      information (the IB it wrote); no new information reaches it. Health Canada's GUI-0100
      (C.05.014 interpretation) has seriousness, expectedness and causality assessed "when they
      become aware"; ICH E2A III.B minimum criteria make a case reportable once it "can be
      identified as serious and unexpected". The time the sponsor takes to read its own IB is
      inside the 7 or 15 days, not before them (second reading of later-11, eu-ctr-07,
      uk-ct-04; docs/decisions.md "A later expectedness assessment does not move day 0").

    FDA's 15-day report is a different text: 312.32(c)(1) counts "after the sponsor determines
    that the information qualifies", whatever was determined (``SPONSOR_DETERMINATION``)."""
    if through is AssessedAs.EXPECTEDNESS:
        return None
    return replace(on, kind=AnchorKind.REPORTABLE_AWARENESS)


class Day0Error(ValueError):
    """An anchor cannot be turned into a calendar date; the message names the anchor."""


def org_zone(name: str | None = None) -> ZoneInfo:
    """The zone ``name`` (UTC when not given). The organisation's zone is a setting: callers pass
    ``settings.timezone``, so the same case gives the same day 0 in every process."""
    key = name or DEFAULT_ZONE
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Day0Error(f"timezone: unknown time zone {key!r}") from exc


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date of a UTC instant in ``zone``."""
    if instant.tzinfo is None:
        raise Day0Error("anchor instant is naive; anchors must be timezone-aware")
    return instant.astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class Anchor:
    """One clock anchor: the UTC instant (when known), the zone, and the derived date.

    ``instant`` is ``None`` when the source only gave a calendar date (E2B C.1.4 is often a bare
    date); then ``day`` is that date as reported and no zone conversion is possible or needed.
    """

    kind: AnchorKind
    day: date
    instant: datetime | None = None
    zone: str = DEFAULT_ZONE
    by: str = ""  # who received it (a receipt by party), when known

    @classmethod
    def at(cls, kind: AnchorKind, instant: datetime, zone: ZoneInfo | str, by: str = "") -> Anchor:
        tz = zone if isinstance(zone, ZoneInfo) else org_zone(zone)
        if instant.tzinfo is None:
            raise Day0Error(f"{kind.value}: naive datetime; give a timezone-aware instant")
        utc = instant.astimezone(UTC)
        return cls(kind=kind, day=local_date(utc, tz), instant=utc, zone=tz.key, by=by)

    @classmethod
    def from_partial(
        cls, kind: AnchorKind, value: PartialDate, zone: ZoneInfo | str
    ) -> Anchor:
        """Anchor from a case date; a date without a day cannot start a clock."""
        tz = zone if isinstance(zone, ZoneInfo) else org_zone(zone)
        dt = value.to_datetime()
        if dt is not None:
            return cls.at(kind, dt, tz)
        d = value.to_date()
        if d is None:
            raise Day0Error(
                f"{kind.value}: {value.isoformat()!r} has no day; day 0 needs a full date"
            )
        return cls(kind=kind, day=d, instant=None, zone=tz.key)

    def shifted(self, days: int) -> Anchor:
        delta = timedelta(days=days)
        inst = self.instant + delta if self.instant else None
        return Anchor(self.kind, self.day + delta, inst, self.zone, self.by)

    def describe(self) -> str:
        """``2026-02-27 (organisation first received a valid case, Europe/London)``."""
        label = ANCHOR_LABELS[self.kind]
        if self.by:
            label = f"{label}: received by {self.by}"
        if self.instant is None:
            return f"{self.day.isoformat()} ({label}, date as reported)"
        when = self.instant.strftime("%Y-%m-%dT%H:%MZ")
        return f"{self.day.isoformat()} ({label}, {when} in {self.zone})"


@dataclass(frozen=True, slots=True)
class Anchors:
    """Every anchor a rule may need for one case version; ``None`` when not (yet) reached."""

    first_receipt: Anchor
    significant_followup: Anchor | None = None
    sponsor_determination: Anchor | None = None
    fatal_lt_awareness: Anchor | None = None
    reportable_awareness: Anchor | None = None
    # The receipts by party that ``first_receipt`` was chosen from (empty: given directly).
    receipts: tuple[Receipt, ...] = ()

    def __post_init__(self) -> None:
        later = self.reportable_awareness
        if later is not None and later.day < self.first_receipt.day:
            raise Day0Error(
                f"reportable_awareness: {later.day.isoformat()} is before the first receipt "
                f"{self.first_receipt.day.isoformat()}; the information that made the case "
                "reportable cannot arrive before the case")

    def get(self, kind: AnchorKind) -> Anchor | None:
        anchor: Anchor | None = getattr(self, kind.value, None)  # fields are named by kinds
        return anchor

    def shifted(self, days: int) -> Anchors:
        """The same anchors moved by ``days`` (used by property tests and what-if tools)."""
        def move(a: Anchor | None) -> Anchor | None:
            return a.shifted(days) if a else None

        return Anchors(
            self.first_receipt.shifted(days),
            significant_followup=move(self.significant_followup),
            sponsor_determination=move(self.sponsor_determination),
            fatal_lt_awareness=move(self.fatal_lt_awareness),
            reportable_awareness=move(self.reportable_awareness),
        )

    def receipt_note(self) -> str | None:
        """Which of several receipts set day 0 (``None`` when first receipt was given as such or
        there was one receipt only: the Day 0 line of each obligation names its receiver)."""
        if len(self.receipts) < 2:
            return None
        fr = self.first_receipt
        others = "; ".join(r.describe() for r in self.receipts)
        return (f"Day 0 {fr.day.isoformat()} set by the earliest of {len(self.receipts)} "
                f"receipts: {fr.by} (GVP VI.B.7; ICH E2D day zero: the first receipt by the "
                f"sponsor or anyone acting for it). Receipts: {others}")


class ReceiverRole(StrEnum):
    """Who received the information, among those whose receipt starts the sponsor's clock:
    GVP VI.B.7 "any personnel of the marketing authorisation holder, including medical
    representatives and contractors"; partners by their safety data exchange agreement."""

    SPONSOR = "sponsor"
    AFFILIATE = "affiliate"
    LICENCE_PARTNER = "licence_partner"
    VENDOR = "vendor"  # CRO, call centre, literature or case-processing vendor


@dataclass(frozen=True, slots=True)
class Receipt:
    """One receipt of the case's information by a party: an instant with its offset (or
    ``day``, a bare date as reported, when no time is known)."""

    party: str
    role: ReceiverRole
    instant: datetime | None = None
    day: date | None = None

    def __post_init__(self) -> None:
        if (self.instant is None) == (self.day is None):
            raise Day0Error(f"receipt by {self.party!r}: give either an instant or a date")
        if self.instant is not None and self.instant.tzinfo is None:
            raise Day0Error(f"receipt by {self.party!r}: naive datetime; give its time zone")

    @property
    def who(self) -> str:
        return f"{self.party} ({self.role.value.replace('_', ' ')})"

    def anchor(self, zone: ZoneInfo | str) -> Anchor:
        if self.instant is not None:
            org = Anchor.at(AnchorKind.FIRST_RECEIPT, self.instant, zone, by=self.who)
            return replace(org, day=receipt_day(self.instant, org.day))
        assert self.day is not None  # __post_init__: one of the two
        tz = zone if isinstance(zone, ZoneInfo) else org_zone(zone)
        return Anchor(AnchorKind.FIRST_RECEIPT, self.day, None, tz.key, by=self.who)

    def describe(self) -> str:
        when = (self.instant.isoformat() if self.instant is not None
                else f"{self.day} (date as reported)")
        return f"{self.who} at {when}"


def receipt_day(instant: datetime, org_day: date) -> date:
    """The calendar day a receipt starts the clock on: the earlier of the receiver's own date
    (the instant in the offset it was recorded with) and its date in the organisation's zone.

    No text names a time zone. Day 0 is the day the information reached the sponsor or anyone
    acting for it (ICH E2D 4.1; GVP Module VI.B.7, "brought to the attention of ... any
    personnel of the marketing authorisation holder, including ... contractors"; C.05.014(1)
    "becoming aware"; Reg. 536/2014 Art. 42(2) "became aware"): on the receiver's calendar that
    is its own local date. The organisation's documented zone (PIPA's answer on ICSR receipt
    dates across time zones: "a consistent and documented approach") may give the next day
    when the receiver is west of it; counting from that later day would make the report late on
    the receiver's and the regulator's calendars. The earlier of the two is never late on
    either (docs/decisions.md, "Day 0 across time zones"; scenarios partners-12, -14)."""
    return min(instant.date(), org_day)


def first_of(receipts: Sequence[Receipt], zone: ZoneInfo | str) -> Anchor:
    """Day 0: the earliest receipt's calendar day (:func:`receipt_day`: the receiver's own date
    or the organisation's, whichever is earlier). A bare date counts as reported."""
    if not receipts:
        raise Day0Error("receipts: at least one receipt is needed")
    anchors = [r.anchor(zone) for r in receipts]
    return min(anchors, key=lambda a: (a.day, a.instant or datetime.min.replace(tzinfo=UTC)))


def receipts_anchors(
    receipts: Sequence[Receipt], zone: ZoneInfo | str, others: Anchors | None = None
) -> Anchors:
    """``others`` (if given) with first receipt the earliest of ``receipts``, which are kept for
    the explanation."""
    first = first_of(receipts, zone)
    if others is None:
        return Anchors(first, receipts=tuple(receipts))
    return replace(others, first_receipt=first, receipts=tuple(receipts))


def receipt_from_json(data: object, where: str = "receipt") -> Receipt:
    """A receipt from ``{"party", "role", "at"}`` (``at``: an ISO instant with its offset, or a
    date); errors name the field."""
    if not isinstance(data, dict):
        raise Day0Error(f"{where}: expected an object with party, role and at")
    party = data.get("party")
    if not isinstance(party, str) or not party.strip():
        raise Day0Error(f"{where}.party: expected a non-empty string")
    try:
        role = ReceiverRole(str(data.get("role")))
    except ValueError:
        allowed = ", ".join(r.value for r in ReceiverRole)
        raise Day0Error(f"{where}.role: {data.get('role')!r} is not one of {allowed} (only a "
                        "receipt by the sponsor or someone acting for it starts the clock)"
                        ) from None
    at = data.get("at")
    if not isinstance(at, str):
        raise Day0Error(f"{where}.at: expected an ISO date or instant with its offset")
    try:
        instant = datetime.fromisoformat(at) if "T" in at else None
        day = None if instant is not None else date.fromisoformat(at)
    except ValueError as exc:
        raise Day0Error(f"{where}.at: {exc}") from exc
    if instant is not None and instant.tzinfo is None:
        raise Day0Error(f"{where}.at: {at!r} has no offset; give the receiver's time zone")
    return Receipt(party.strip(), role, instant=instant, day=day)

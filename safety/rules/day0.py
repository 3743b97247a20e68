"""Day 0 and the other clock anchors of a case version.

Regulators count calendar days from the date on which the organisation (anyone in it, including
contractors) first held the information. A date needs a time zone: a report received at 23:30 in
New York is already the next day in London. We keep the instant in UTC together with the zone the
organisation documented (``SAFETY_TIMEZONE``, which the callers pass in from their settings) and
derive the calendar date, so a later change of zone never rewrites a stored instant, and every
explanation can say which zone was used.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    # A completion report's own start: the report it completes was filed (or, until it is,
    # the day it is due). Not a fact of the case, so never one of :class:`Anchors`.
    INITIAL_REPORT = "initial_report"


CASE_ANCHORS = frozenset(AnchorKind) - {AnchorKind.INITIAL_REPORT}

ANCHOR_LABELS = {
    AnchorKind.FIRST_RECEIPT: "organisation first received a valid case",
    AnchorKind.SIGNIFICANT_FOLLOWUP: "significant follow-up information received",
    AnchorKind.SPONSOR_DETERMINATION: "sponsor determined the case qualifies",
    AnchorKind.FATAL_LT_AWARENESS: "organisation became aware of a fatal/life-threatening outcome",
    AnchorKind.INITIAL_REPORT: "the report it completes was filed",
}


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

    @classmethod
    def at(cls, kind: AnchorKind, instant: datetime, zone: ZoneInfo | str) -> Anchor:
        tz = zone if isinstance(zone, ZoneInfo) else org_zone(zone)
        if instant.tzinfo is None:
            raise Day0Error(f"{kind.value}: naive datetime; give a timezone-aware instant")
        utc = instant.astimezone(UTC)
        return cls(kind=kind, day=local_date(utc, tz), instant=utc, zone=tz.key)

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
        return Anchor(self.kind, self.day + delta, inst, self.zone)

    def describe(self) -> str:
        """``2026-02-27 (organisation first received a valid case, Europe/London)``."""
        label = ANCHOR_LABELS[self.kind]
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

    def get(self, kind: AnchorKind) -> Anchor | None:
        anchor: Anchor | None = getattr(self, kind.value, None)  # fields are named by kinds
        return anchor

    def shifted(self, days: int) -> Anchors:
        """The same anchors moved by ``days`` (used by property tests and what-if tools)."""
        return Anchors(
            self.first_receipt.shifted(days),
            *(a.shifted(days) if a else None for a in (
                self.significant_followup, self.sponsor_determination, self.fatal_lt_awareness)),
        )

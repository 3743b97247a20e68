"""Value types every case field is built from: null flavours and partial dates.

E2B(R3) distinguishes a value that is *absent* (the element is simply not sent) from a value
that is *null-flavoured* (the element is sent with ``nullFlavor="UNK"`` etc.). A reporter who was
asked for the birth date and did not know it (ASKU) tells a reviewer something different from a
form that never asked. We keep that distinction all the way from intake to export: a field is
``None`` when absent and a :class:`NullFlavor` when null-flavoured.

Dates in safety reports are often partial ("March 2024"). A :class:`PartialDate` keeps exactly
the precision that was reported so that export writes ``202403`` and never invents a day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum


class NullFlavor(StrEnum):
    """HL7 v3 null flavours allowed by ICH E2B(R3) (IG section 3.3.4)."""

    NI = "NI"  # no information
    MSK = "MSK"  # masked (privacy)
    UNK = "UNK"  # unknown
    NA = "NA"  # not applicable
    ASKU = "ASKU"  # asked but unknown
    NASK = "NASK"  # not asked
    NINF = "NINF"  # negative infinity
    PINF = "PINF"  # positive infinity
    OTH = "OTH"  # other


_PRECISIONS = ("year", "month", "day", "hour", "minute", "second")
_HL7_LENGTHS = {4: 1, 6: 2, 8: 3, 10: 4, 12: 5, 14: 6}
_ISO_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)
_HL7_RE = re.compile(r"^(?P<digits>\d{4,14})(?:\.\d+)?(?P<tz>[+-]\d{4})?$")


class PartialDateError(ValueError):
    """A date string that is not a valid (partial) date."""


@dataclass(frozen=True, order=False, slots=True)
class PartialDate:
    """A calendar date or date-time known only to some precision.

    ``tz_offset_minutes`` is only meaningful when an hour is present; it records the offset the
    source gave (E2B allows ``+0100`` suffixes) so a round trip keeps it.
    """

    year: int
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    tz_offset_minutes: int | None = None

    def __post_init__(self) -> None:
        parts = [self.month, self.day, self.hour, self.minute, self.second]
        seen_none = False
        for p in parts:
            if p is None:
                seen_none = True
            elif seen_none:
                raise PartialDateError("a partial date cannot skip a component")
        if not 1 <= self.year <= 9999:
            raise PartialDateError(f"year {self.year} out of range")
        # Validate by building the most precise real datetime the components allow.
        try:
            datetime(
                self.year,
                self.month or 1,
                self.day or 1,
                self.hour or 0,
                self.minute or 0,
                self.second or 0,
            )
        except ValueError as exc:
            raise PartialDateError(str(exc)) from exc

    @property
    def precision(self) -> str:
        """The finest component present: ``year`` … ``second``."""
        values = (self.year, self.month, self.day, self.hour, self.minute, self.second)
        n = sum(1 for v in values if v is not None)
        return _PRECISIONS[n - 1]

    @property
    def is_full_date(self) -> bool:
        return self.day is not None

    def earliest(self) -> date:
        """The first calendar day this partial date could mean."""
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        """The last calendar day this partial date could mean."""
        if self.day is not None:
            return date(self.year, self.month or 1, self.day)
        if self.month is not None:
            nxt = date(self.year + (self.month == 12), self.month % 12 + 1, 1)
            return nxt - timedelta(days=1)
        return date(self.year, 12, 31)

    def to_date(self) -> date | None:
        """The exact calendar date, or ``None`` when the day is not known."""
        return self.earliest() if self.day is not None else None

    # --- ISO 8601 (our JSON form) -------------------------------------------------------
    def isoformat(self) -> str:
        s = f"{self.year:04d}"
        if self.month is not None:
            s += f"-{self.month:02d}"
        if self.day is not None:
            s += f"-{self.day:02d}"
        if self.hour is not None:
            s += f"T{self.hour:02d}"
            if self.minute is not None:
                s += f":{self.minute:02d}"
            if self.second is not None:
                s += f":{self.second:02d}"
            if self.tz_offset_minutes is not None:
                s += _fmt_offset(self.tz_offset_minutes, colon=True)
        return s

    @classmethod
    def parse_iso(cls, text: str) -> PartialDate:
        m = _ISO_RE.match(text.strip())
        if not m:
            raise PartialDateError(
                f"{text!r} is not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM"
            )
        g = m.groupdict()
        tz = g.pop("tz")
        values = {k: int(v) for k, v in g.items() if v is not None}
        offset = None
        if tz:
            offset = 0 if tz == "Z" else _parse_offset(tz)
        return cls(tz_offset_minutes=offset, **values)

    # --- HL7 TS (E2B form) ----------------------------------------------------------------
    def to_hl7(self) -> str:
        s = f"{self.year:04d}"
        for v in (self.month, self.day, self.hour, self.minute, self.second):
            if v is None:
                break
            s += f"{v:02d}"
        if self.hour is not None and self.tz_offset_minutes is not None:
            s += _fmt_offset(self.tz_offset_minutes, colon=False)
        return s

    @classmethod
    def parse_hl7(cls, text: str) -> PartialDate:
        m = _HL7_RE.match(text.strip())
        if not m or len(m.group("digits")) not in _HL7_LENGTHS:
            raise PartialDateError(f"{text!r} is not an HL7 date (CCYY[MM[DD[HH[MM[SS]]]]])")
        d = m.group("digits")
        comps = [int(d[0:4])] + [int(d[i : i + 2]) for i in range(4, len(d), 2)]
        names = ("year", "month", "day", "hour", "minute", "second")
        values = dict(zip(names, comps, strict=False))
        tz = m.group("tz")
        return cls(tz_offset_minutes=_parse_offset(tz) if tz else None, **values)

    @classmethod
    def from_date(cls, d: date) -> PartialDate:
        return cls(d.year, d.month, d.day)

    @classmethod
    def from_datetime(cls, dt: datetime) -> PartialDate:
        offset = None
        if dt.tzinfo is not None:
            off = dt.utcoffset() or timedelta(0)
            offset = int(off.total_seconds() // 60)
        return cls(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, offset)

    def to_datetime(self) -> datetime | None:
        """An aware datetime when the hour is known (offset assumed UTC if not given)."""
        if self.hour is None:
            return None
        tz = timezone(timedelta(minutes=self.tz_offset_minutes or 0))
        return datetime(
            self.year, self.month or 1, self.day or 1, self.hour,
            self.minute or 0, self.second or 0, tzinfo=tz,
        )

    def __str__(self) -> str:
        return self.isoformat()


def _fmt_offset(minutes: int, *, colon: bool) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}:{m:02d}" if colon else f"{sign}{h:02d}{m:02d}"


def _parse_offset(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4]))

"""Report lifecycle semantics of E2B(R3): initial, follow-up, amendment, nullification.

ICH E2B(R3) IG rules applied here:
- every version keeps the worldwide unique case id (C.1.8.1) of the first transmission;
- a follow-up carries new information, so its date of most recent information (C.1.5) moves on;
- an amendment (C.1.11.1 = 2) corrects without new information, so C.1.5 stays as it was;
- a nullification (C.1.11.1 = 1) needs a reason (C.1.11.2) and ends the case: nothing may
  follow it.
"""

from __future__ import annotations

import copy
from enum import StrEnum

from safety.cases.model import CaseVersionData
from safety.cases.values import NullFlavor, PartialDate


class ReportKind(StrEnum):
    INITIAL = "initial"
    FOLLOW_UP = "follow-up"
    AMENDMENT = "amendment"
    NULLIFICATION = "nullification"


class LifecycleError(ValueError):
    """A version that would break the E2B(R3) lifecycle; names the element (C.1.x)."""


NULLIFIED = "1"
AMENDED = "2"


def prepare(previous: CaseVersionData | None, current: CaseVersionData, kind: ReportKind, *,
            most_recent: PartialDate | None = None, reason: str | None = None,
            in_place: bool = False) -> CaseVersionData:
    """The version to transmit, derived from the last transmitted one (``previous``).

    Returns a copy of ``current`` with C.1.8.1, C.1.5 and C.1.11 set as the kind requires;
    ``in_place``: ``current`` itself, changed (a caller that gives it up saves the copy).
    """
    out = current if in_place else copy.deepcopy(current)
    a = out.admin
    if kind is ReportKind.INITIAL:
        if previous is not None:
            raise LifecycleError("C.1.11: an initial report cannot follow a transmitted version")
        a.nullification_code = None
        a.nullification_reason = None
        if a.worldwide_case_id is None:
            a.worldwide_case_id = a.sender_safety_report_id
        if a.most_recent_received is None:
            a.most_recent_received = most_recent or a.first_received
        return out
    if previous is None:
        raise LifecycleError(f"C.1.11: a {kind} needs the previously transmitted version")
    prev = previous.admin
    if prev.nullification_code == NULLIFIED:
        raise LifecycleError("C.1.11.1: the case was nullified; no further report may follow")
    if a.worldwide_case_id not in (None, prev.worldwide_case_id):
        raise LifecycleError(
            f"C.1.8.1: worldwide case id {a.worldwide_case_id!r} differs from the transmitted "
            f"{prev.worldwide_case_id!r}; it must never change")
    a.worldwide_case_id = prev.worldwide_case_id
    a.first_received = prev.first_received
    if kind is ReportKind.FOLLOW_UP:
        new = most_recent or a.most_recent_received
        if not isinstance(new, PartialDate):
            raise LifecycleError("C.1.5: a follow-up needs the date of the new information")
        old = prev.most_recent_received
        if isinstance(old, PartialDate) and _key(new) <= _key(old):
            raise LifecycleError(f"C.1.5: follow-up date {new} must be after {old}")
        a.most_recent_received = new
        a.nullification_code = None
        a.nullification_reason = None
        return out
    if not reason or not reason.strip():
        raise LifecycleError(f"C.1.11.2: a {kind} needs a specific reason")
    a.most_recent_received = prev.most_recent_received
    a.nullification_code = AMENDED if kind is ReportKind.AMENDMENT else NULLIFIED
    a.nullification_reason = reason.strip()
    return out


def is_final(version: CaseVersionData) -> bool:
    """True when the version nullifies the case."""
    code = version.admin.nullification_code
    return code == NULLIFIED and not isinstance(code, NullFlavor)


def _key(d: PartialDate) -> tuple[int, ...]:
    return (d.year, d.month or 0, d.day or 0, d.hour or 0, d.minute or 0, d.second or 0)

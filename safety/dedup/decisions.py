"""Physician decisions on suspected duplicates: confirm (link under a master) or reject.

Nothing is merged silently: a suspected pair stays a suggestion until a physician decides.
Confirming links the cases under one *master*, the most complete case, because the master is
the case that will be followed up and submitted. Cases of the group that were already submitted
must be nullified (C.1.11.1 = 1) and the master's next version cites their ids so the receiver
can connect them: the sender's report id in C.1.9.1.r (other case identifiers in previous
transmissions) and the worldwide case id in C.1.10.r (reports linked to this one). Rejecting
remembers the pair so it is never offered again, in either order.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from safety.cases.model import CaseVersionData, OtherCaseId
from safety.cases.values import NullFlavor, PartialDate

Pair = tuple[str, str]


class PairDecision(StrEnum):
    """A physician's word on a suspected pair."""

    CONFIRMED = "confirmed"  # one case, linked under its master
    REJECTED = "rejected"  # two cases; never offered as a pair again


DECIDED = (PairDecision.REJECTED, PairDecision.CONFIRMED)

# The smallest probability shown as more than "0.00" (the case page shows two decimals).
SHOWN_AS_ZERO = 0.005


def offers_confirmation(score: float, suspected: bool) -> bool:
    """Whether the case page offers "Confirm duplicate" for a candidate pair.

    A pair the model suspects (at or above its threshold) is offered. Below the threshold a
    physician may still know better than the model (a re-keyed report whose fields disagree),
    so the pair stays confirmable while it has any probability at all; one that shows as
    0.00 is offered only "Not a duplicate": confirming a pair the model calls impossible
    would rest on nothing the page shows (issue 17).
    """
    return suspected or score >= SHOWN_AS_ZERO


class DecisionError(ValueError):
    """A decision that cannot be applied (unknown case, a case paired with itself)."""


def pair(a: str, b: str) -> Pair:
    """The order-free key of a decision about two cases."""
    if a == b:
        raise DecisionError(f"case {a!r} cannot be a duplicate of itself")
    return (a, b) if a < b else (b, a)


def _present(v: object) -> bool:
    return v is not None and not isinstance(v, NullFlavor) and v != "" and v != []


def completeness(case: CaseVersionData) -> int:
    """How much a physician would have to re-enter if this case were dropped (higher = keep).

    Counts the facts that matter for assessment and submission; full dates count more than
    partial ones because they cannot be recovered from a partial one.
    """
    p = case.patient
    score = 0
    for v in (p.initials, p.sex, p.weight_kg, p.height_cm, p.medical_history_text,
              p.investigation_number, case.narrative.narrative):
        score += _present(v)
    if isinstance(p.birth_date, PartialDate):
        score += 2 if p.birth_date.is_full_date else 1
    elif p.age_at_onset is not None:
        score += 1
    score += len(p.medical_history) + len(case.tests) + len(case.reporters)
    for r in case.reactions:
        score += 1 + (r.coding is not None) + _present(r.outcome)
        if isinstance(r.start, PartialDate):
            score += 2 if r.start.is_full_date else 1
    for d in case.drugs:
        score += 1 + (d.coding is not None) + len(d.dosages) + len(d.indications)
    return score


def choose_master(cases: Mapping[str, CaseVersionData]) -> str:
    """The most complete case; ties go to the case received first (C.1.4), then to the one
    the caller lists first: callers list cases in order of receipt, so that two copies of the
    same report received the same day keep the one already being worked as the master."""
    if not cases:
        raise DecisionError("no cases to choose a master from")

    def received(case: CaseVersionData) -> tuple[int, str]:
        d = case.admin.first_received
        return (0, d.isoformat()) if isinstance(d, PartialDate) else (1, "")

    return min(cases, key=lambda cid: (-completeness(cases[cid]), received(cases[cid])))


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What confirming a duplicate group entails."""

    master: str
    duplicates: tuple[str, ...]
    nullify: tuple[str, ...]  # duplicates already submitted: send a nullification for each
    citations: tuple[OtherCaseId, ...]  # to add to the master's next version (C.1.9.1.r)
    linked: tuple[str, ...] = ()  # the duplicates' worldwide case ids (C.1.10.r)


def confirm(
    cases: Mapping[str, CaseVersionData], submitted: Collection[str] = ()
) -> Confirmation:
    """Confirm that all ``cases`` (id -> current version) are one case."""
    if len(cases) < 2:
        raise DecisionError("confirming duplicates needs at least two cases")
    master = choose_master(cases)
    dups = tuple(sorted(c for c in cases if c != master))
    return Confirmation(
        master=master,
        duplicates=dups,
        nullify=tuple(c for c in dups if c in submitted),
        citations=citations([cases[c] for c in dups]),
        linked=linked_ids([cases[c] for c in dups]),
    )


def citations(duplicates: Iterable[CaseVersionData]) -> tuple[OtherCaseId, ...]:
    """C.1.9.1.r entries naming each duplicate by its sender's report id (C.1.1)."""
    out: list[OtherCaseId] = []
    for c in duplicates:
        case_id = c.admin.sender_safety_report_id
        if _present(case_id):
            out.append(OtherCaseId(source=c.sender.organisation, case_id=case_id))
    return tuple(out)


def linked_ids(duplicates: Iterable[CaseVersionData]) -> tuple[str, ...]:
    """C.1.10.r entries: the duplicates' worldwide case ids (C.1.8.1), as the receiver knows
    them from their transmissions."""
    out: list[str] = []
    for c in duplicates:
        wid = c.admin.worldwide_case_id
        if _present(wid) and isinstance(wid, str) and wid not in out:
            out.append(wid)
    return tuple(out)


def cite_duplicates(master: CaseVersionData, confirmation: Confirmation) -> CaseVersionData:
    """The master's next version: the duplicates' ids cited in C.1.9.1.r and C.1.10.r, each
    once (citing again changes nothing)."""
    out = copy.deepcopy(master)
    have = {(o.source, o.case_id) for o in out.admin.other_case_ids}
    for c in confirmation.citations:
        if (c.source, c.case_id) not in have:
            out.admin.other_case_ids.append(OtherCaseId(source=c.source, case_id=c.case_id))
            have.add((c.source, c.case_id))
    if out.admin.other_case_ids:
        out.admin.other_case_ids_exist = True
    own = out.admin.worldwide_case_id
    for wid in confirmation.linked:
        if wid != own and wid not in out.admin.linked_report_ids:
            out.admin.linked_report_ids.append(wid)
    return out


def reject(rejected: frozenset[Pair], a: str, b: str) -> frozenset[Pair]:
    """The remembered rejections after rejecting ``a`` ~ ``b``."""
    return rejected | {pair(a, b)}


def rejected_for(case_id: str, rejected: Iterable[Pair]) -> set[str]:
    """Case ids never to offer again as duplicates of ``case_id``."""
    out: set[str] = set()
    for a, b in rejected:
        if a == case_id:
            out.add(b)
        elif b == case_id:
            out.add(a)
    return out


def offerable(case_id: str, candidates: Iterable[str], rejected: Iterable[Pair],
              linked: Iterable[str] = ()) -> list[str]:
    """Candidates still worth offering: not rejected with this case, not already linked."""
    blocked = rejected_for(case_id, rejected) | set(linked) | {case_id}
    return [c for c in candidates if c not in blocked]

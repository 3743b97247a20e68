"""Seriousness per event (ICH E2A section II.B plus FDA's required intervention).

A case is serious when any of its events is. Fatal or life-threatening is kept apart because
several regimes shorten the clock to 7 days for it. An event's PT on a loaded IME/DME list does
not make it serious by itself: it is a flag for the physician to consider the "other medically
important" criterion, which stays a medical judgement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from safety.cases.model import CaseVersionData, Reaction, Seriousness

CRITERIA = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "other_medically_important",
    "required_intervention",
)
FATAL_OUTCOME = "5"  # E.i.7 outcome code "fatal"


@dataclass(frozen=True, slots=True)
class EventSeriousness:
    """The seriousness verdict for one event with the criteria that made it so."""

    reaction_id: str
    criteria: tuple[str, ...]
    fatal: bool
    life_threatening: bool
    ime: bool = False
    dme: bool = False

    @property
    def serious(self) -> bool:
        return bool(self.criteria)

    @property
    def fatal_or_lt(self) -> bool:
        return self.fatal or self.life_threatening


@dataclass(frozen=True, slots=True)
class MedicallyImportantLists:
    """PT codes of an Important Medical Event list and a Designated Medical Event list."""

    ime: frozenset[str] = frozenset()
    dme: frozenset[str] = frozenset()

    @classmethod
    def load(cls, ime: Path | None = None, dme: Path | None = None) -> MedicallyImportantLists:
        """Read the EMA lists exported to CSV (see :mod:`safety.coding.medical_lists`)."""
        from safety.coding.medical_lists import read_pt_list  # not needed to evaluate: lazy

        return cls(frozenset(read_pt_list(ime)) if ime else frozenset(),
                   frozenset(read_pt_list(dme)) if dme else frozenset())

    @classmethod
    def from_memberships(cls, memberships: Mapping[str, Iterable[str]]) -> MedicallyImportantLists:
        """From a loaded terminology's ``memberships`` (lists attached by the coding area)."""
        return cls(frozenset(memberships.get("IME", ())), frozenset(memberships.get("DME", ())))


def met_criteria(s: Seriousness) -> tuple[str, ...]:
    return tuple(c for c in CRITERIA if getattr(s, c) is True)


def event_seriousness(
    reaction: Reaction, lists: MedicallyImportantLists | None = None
) -> EventSeriousness:
    """Seriousness of one event; a fatal outcome (E.i.7 = 5) counts as death even if unticked."""
    criteria = list(met_criteria(reaction.seriousness))
    fatal = reaction.seriousness.death is True or reaction.outcome == FATAL_OUTCOME
    if fatal and "death" not in criteria:
        criteria.insert(0, "death")
    pt = reaction.coding.pt_code if reaction.coding else None
    lists = lists or MedicallyImportantLists()
    return EventSeriousness(
        reaction_id=reaction.id,
        criteria=tuple(criteria),
        fatal=fatal,
        life_threatening=reaction.seriousness.life_threatening is True,
        ime=pt is not None and pt in lists.ime,
        dme=pt is not None and pt in lists.dme,
    )


def case_seriousness(
    case: CaseVersionData, lists: MedicallyImportantLists | None = None
) -> list[EventSeriousness]:
    return [event_seriousness(r, lists) for r in case.reactions]


def case_is_serious(events: Iterable[EventSeriousness]) -> bool:
    return any(e.serious for e in events)

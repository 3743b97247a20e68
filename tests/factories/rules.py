"""Small builders of rule inputs for the tests (plain data, no database)."""

from __future__ import annotations

from datetime import date

from safety.rules.causality import Opinion, PairCausality, Relatedness
from safety.rules.day0 import Anchor, AnchorKind, Anchors
from safety.rules.expectedness import Expectedness
from safety.rules.facts import (
    CaseFacts,
    EventFacts,
    FollowUp,
    PairFacts,
    Source,
    StudyFacts,
    SuspectFacts,
)

ALL = frozenset({"US", "EU", "UK", "CA"})
DEFAULT_STUDY = StudyFacts("PROT-1", ALL)


def d(s: str) -> date:
    return date.fromisoformat(s)


def anchors(first: str = "2026-02-27", **others: str) -> Anchors:
    kw = {k: Anchor(AnchorKind(k), d(v)) for k, v in others.items()}
    return Anchors(Anchor(AnchorKind.FIRST_RECEIPT, d(first)), **kw)


def event(
    id: str = "e1", pt: str = "10001", criteria: tuple[str, ...] = ("hospitalisation",),
    fatal: bool = False, lt: bool = False, country: str | None = "US",
) -> EventFacts:
    crit = criteria + (("death",) if fatal and "death" not in criteria else ()) + (
        ("life_threatening",) if lt and "life_threatening" not in criteria else ())
    return EventFacts(id, f"term-{id}", pt, country, crit, fatal, lt)


def suspect(
    id: str = "d1", product: str = "P1", inv: frozenset[str] = ALL,
    auth: frozenset[str] = frozenset(), blinded: bool = False, placebo: bool = False,
) -> SuspectFacts:
    return SuspectFacts(id, f"Product {product}", product, inv, auth, blinded, placebo)


def opinion(text: str | None) -> Opinion | None:
    if text is None:
        return None
    return Opinion(Relatedness(text), "WHO-UMC", text)


def pair(
    e: str = "e1", dr: str = "d1", expected: bool = False,
    refs: tuple[str, ...] = ("IB", "label:US", "label:EU", "label:UK", "label:CA"),
    inv: str | None = "related", spo: str | None = None,
) -> PairFacts:
    exp = {r: Expectedness(r, expected, f"{r} v1 (effective 2025-01-01)") for r in refs}
    return PairFacts(e, dr, exp, PairCausality(opinion(inv), opinion(spo)))


def facts(
    events: tuple[EventFacts, ...] | None = None,
    suspects: tuple[SuspectFacts, ...] | None = None,
    pairs: tuple[PairFacts, ...] | None = None,
    source: Source = Source.CLINICAL_TRIAL,
    study: StudyFacts | None = DEFAULT_STUDY,
    anchors_: Anchors | None = None,
    followup: FollowUp = FollowUp.INITIAL,
    version: int = 1,
    valid: bool = True,
    nullified: bool = False,
    unblinded_arm: str | None = None,
) -> CaseFacts:
    return CaseFacts(
        case_id="C-1", version=version, anchors=anchors_ or anchors(), source=source,
        events=events or (event(),), suspects=suspects or (suspect(),),
        pairs=pairs or (pair(),), valid=valid,
        invalid_reasons=() if valid else ("identifiable patient",), nullified=nullified,
        followup=followup, study=study if source is Source.CLINICAL_TRIAL else None,
        unblinded_arm=unblinded_arm,
    )


def pm(**kw: object) -> CaseFacts:
    """A spontaneous post-marketing case of a product authorised everywhere."""
    kw.setdefault("suspects", (suspect(inv=frozenset(), auth=ALL),))
    kw.setdefault("source", Source.SPONTANEOUS)
    return facts(**kw)  # type: ignore[arg-type]

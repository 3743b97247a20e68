"""The plain-data input of the rules, built once per case version.

The engine never looks at the case model, the registry or the RSI library directly: it reads a
:class:`CaseFacts`. That keeps evaluation fast (bench: thousands per second), lets a what-if tool
or a test state facts without building a whole case, and makes an RSI change a matter of
recomputing the expectedness cells only (see :mod:`safety.rules.rsi_change`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from safety.cases.model import CaseVersionData, Drug
from safety.cases.values import NullFlavor
from safety.intake.validity import minimum_criteria
from safety.products.registry import JurisdictionStatus, Registry, Status
from safety.products.rsi import RsiLibrary
from safety.rules.causality import PairCausality
from safety.rules.day0 import Anchors
from safety.rules.expectedness import Expectedness, assess
from safety.rules.seriousness import MedicallyImportantLists, event_seriousness

PLACEBO = "placebo"


class Source(StrEnum):
    CLINICAL_TRIAL = "clinical_trial"
    OTHER_STUDY = "other_study"
    SPONTANEOUS = "spontaneous"
    LITERATURE = "literature"
    OTHER = "other"


class FollowUp(StrEnum):
    INITIAL = "initial"
    SIGNIFICANT = "significant"
    NON_SIGNIFICANT = "non_significant"
    # The sponsor re-assessed what it already held (causality, expectedness, the unblinding
    # result): a new clock where it changes what is owed, but no new information received, so
    # a clock counting from "initial receipt" stays there (21 CFR 312.32(c)(2)).
    REASSESSMENT = "reassessment"


@dataclass(frozen=True, slots=True)
class EventFacts:
    id: str
    term: str
    pt_code: str | None
    country: str | None
    criteria: tuple[str, ...]
    fatal: bool = False
    life_threatening: bool = False
    ime: bool = False
    dme: bool = False

    @property
    def serious(self) -> bool:
        return bool(self.criteria)

    @property
    def fatal_or_lt(self) -> bool:
        return self.fatal or self.life_threatening


@dataclass(frozen=True, slots=True)
class SuspectFacts:
    drug_id: str
    name: str
    product_id: str | None
    investigational_in: frozenset[str] = frozenset()
    authorised_in: frozenset[str] = frozenset()
    blinded: bool = False
    placebo: bool = False


@dataclass(frozen=True, slots=True)
class PairFacts:
    event_id: str
    drug_id: str
    expected: Mapping[str, Expectedness] = field(default_factory=dict)
    causality: PairCausality = field(default_factory=PairCausality)


@dataclass(frozen=True, slots=True)
class StudyFacts:
    protocol: str
    jurisdictions: frozenset[str] = frozenset()
    ind_numbers: tuple[str, ...] = ()
    blinded: bool = False


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """Everything the obligation rules need about one case version."""

    case_id: str
    version: int
    anchors: Anchors
    source: Source
    events: tuple[EventFacts, ...]
    suspects: tuple[SuspectFacts, ...]
    pairs: tuple[PairFacts, ...]
    valid: bool = True
    invalid_reasons: tuple[str, ...] = ()
    nullified: bool = False
    followup: FollowUp = FollowUp.INITIAL
    study: StudyFacts | None = None
    unblinded_arm: str | None = None  # None: still blinded (or open); "placebo" or a product id

    @property
    def rsi_day(self) -> date:
        """Day 0 for expectedness: the significant follow-up's day, else first receipt."""
        fu = self.anchors.significant_followup
        if self.followup is FollowUp.SIGNIFICANT and fu is not None:
            return fu.day
        return self.anchors.first_receipt.day

    def event(self, event_id: str) -> EventFacts:
        for e in self.events:
            if e.id == event_id:
                return e
        raise KeyError(f"case {self.case_id} v{self.version}: no event {event_id!r}")

    def suspect(self, drug_id: str) -> SuspectFacts:
        for s in self.suspects:
            if s.drug_id == drug_id:
                return s
        raise KeyError(f"case {self.case_id} v{self.version}: no suspect drug {drug_id!r}")

    def with_expectedness(self, lib: RsiLibrary, product_ids: set[str] | None = None) -> CaseFacts:
        """The same facts with expectedness recomputed from ``lib`` (optionally some products)."""
        suspects = {s.drug_id: s for s in self.suspects}
        events = {e.id: e for e in self.events}
        on = self.rsi_day
        pairs = []
        for p in self.pairs:
            s = suspects[p.drug_id]
            if product_ids is not None and s.product_id not in product_ids:
                pairs.append(p)
                continue
            pt = events[p.event_id].pt_code
            pairs.append(replace(p, expected={
                ref: assess(lib, s.product_id, pt, ref, on) for ref in p.expected
            }))
        return replace(self, pairs=tuple(pairs))


# --- builder ------------------------------------------------------------------------------


def _text(v: object) -> str:
    return v if isinstance(v, str) and not isinstance(v, NullFlavor) else ""


def _source(case: CaseVersionData) -> Source:
    rt = case.admin.report_type
    if rt == "2":
        if case.study is not None and case.study.study_type == "1":
            return Source.CLINICAL_TRIAL
        return Source.OTHER_STUDY
    if rt == "1":
        return Source.LITERATURE if case.literature else Source.SPONTANEOUS
    return Source.OTHER


def primary_source_country(case: CaseVersionData) -> str | None:
    """C.2.r.3 of the primary source for regulatory purposes, else of the first reporter."""
    reporters = sorted(case.reporters, key=lambda r: r.primary_for_regulatory is not True)
    for r in reporters:
        c = _text(r.country)
        if c:
            return c.upper()
    return None


def _drug_name(d: Drug) -> str:
    return _text(d.name) or (d.coding.term if d.coding and d.coding.term else "") or d.id


def _jurisdictions(
    statuses: tuple[JurisdictionStatus, ...], status: Status
) -> frozenset[str]:
    return frozenset(s.jurisdiction for s in statuses if s.status is status)


def build_facts(
    case: CaseVersionData,
    *,
    case_id: str,
    version: int,
    anchors: Anchors,
    registry: Registry,
    rsi: RsiLibrary,
    lists: MedicallyImportantLists | None = None,
    followup: FollowUp = FollowUp.INITIAL,
    unblinded_arm: str | None = None,
) -> CaseFacts:
    """Facts of one case version from the case, its anchors and the registry/RSI in force.

    ``unblinded_arm`` is what the subject actually received once the sponsor broke the blind:
    ``"placebo"`` or a registry product id; ``None`` while the blind holds.
    """
    findings = minimum_criteria(case)
    fallback_country = primary_source_country(case)
    events = []
    for r in case.reactions:
        ser = event_seriousness(r, lists)
        pt = r.coding.pt_code if r.coding else None
        term = (r.coding.pt_term if r.coding and r.coding.pt_term else "") or _text(r.verbatim)
        events.append(EventFacts(
            id=r.id, term=term or r.id, pt_code=pt,
            country=(_text(r.country).upper() or fallback_country),
            criteria=ser.criteria, fatal=ser.fatal, life_threatening=ser.life_threatening,
            ime=ser.ime, dme=ser.dme,
        ))

    study = None
    if case.study is not None:
        number = _text(case.study.sponsor_study_number)
        reg_study = registry.studies.get(number) if number else None
        inds = tuple(x for x in (_text(case.study.fda_ind_number),) if x)
        if reg_study is not None:
            study = StudyFacts(number, frozenset(reg_study.jurisdictions),
                               reg_study.ind_numbers or inds, reg_study.blinded)
        elif number:
            study = StudyFacts(number, frozenset(), inds, False)
    study_products = set(registry.studies[study.protocol].products) if (
        study and study.protocol in registry.studies) else set()

    suspects = []
    for d in case.suspect_drugs():
        product = registry.match_drug(d)
        name = _drug_name(d)
        # Placebo only as a recorded fact (registry product, unblinding result), never from the
        # name: "Zelvorin or matching placebo" is the blinded IMP (ICH E2A III.C).
        placebo = product is not None and product.placebo
        blinded = bool(study and study.blinded and not placebo and (
            (product is not None and product.id in study_products)
            or (product is None and d.investigational is True)
        ))
        if blinded and unblinded_arm is not None:
            blinded = False
            if unblinded_arm == PLACEBO:
                placebo, product = True, None
            else:
                product = registry.products.get(unblinded_arm, product)
        suspects.append(SuspectFacts(
            drug_id=d.id, name=product.name if product else name,
            product_id=product.id if product else None,
            investigational_in=_jurisdictions(product.statuses, Status.INVESTIGATIONAL)
            if product else frozenset(),
            authorised_in=_jurisdictions(product.statuses, Status.AUTHORISED)
            if product else frozenset(),
            blinded=blinded, placebo=placebo,
        ))

    facts = CaseFacts(
        case_id=case_id, version=version, anchors=anchors, source=_source(case),
        events=tuple(events), suspects=tuple(suspects), pairs=(),
        valid=not findings, invalid_reasons=tuple(f.criterion for f in findings),
        nullified=case.admin.nullification_code == "1",
        followup=followup, study=study, unblinded_arm=unblinded_arm,
    )
    on = facts.rsi_day
    by_drug = {d.id: d for d in case.suspect_drugs()}
    pairs = []
    for s in suspects:
        links = {link.reaction_id: link for link in by_drug[s.drug_id].reactions}
        refs = ["IB", *(f"label:{j}" for j in sorted(s.authorised_in))]
        for e in events:
            link = links.get(e.id)
            causality = (PairCausality.from_assessments(link.assessments) if link
                         else PairCausality())
            expected = {ref: assess(rsi, s.product_id, e.pt_code, ref, on) for ref in refs}
            expected.update(_sponsor_expectedness(case, e.id, s.drug_id, expected))
            pairs.append(PairFacts(
                event_id=e.id, drug_id=s.drug_id, expected=expected, causality=causality,
            ))
    return replace(facts, pairs=tuple(pairs))


def _sponsor_expectedness(case: CaseVersionData, event_id: str, drug_id: str,
                          computed: Mapping[str, Expectedness]) -> dict[str, Expectedness]:
    """The sponsor's expectedness answer for the pair, for the reference it assessed against
    (ICH E2A II.C: expectedness is judged against the applicable reference information; the
    sponsor's medical assessment is the one that counts for its reports)."""
    review = case.sponsor_review.pair(event_id, drug_id) if case.sponsor_review else None
    ref = review.rsi_reference if review is not None else None
    if review is None or review.expected is None or ref is None or ref not in computed:
        return {}
    version = f" v{review.rsi_version}" if review.rsi_version else ""
    note = (" (override of the RSI's answer: "
            f"{review.expectedness_reason})" if review.expected != review.expected_computed
            else "")
    return {ref: Expectedness(ref, review.expected,
                              f"{ref}{version} as assessed by the sponsor{note}")}


def sponsor_determined_at(case: CaseVersionData) -> datetime | None:
    """When the sponsor determined its causality reading of the case (21 CFR 312.32(c)(1)(i):
    15 days "after the sponsor determines that the information qualifies for reporting"): the
    earliest such determination, so a later re-assessment never delays the clock; ``None``
    when the sponsor has none (the clock then starts at first receipt, the earliest day)."""
    review = case.sponsor_review
    if review is None:
        return None
    instants = [datetime.fromisoformat(p.determined_at) for p in review.pairs
                if p.determined_at and p.causality_result]
    return min(instants, default=None)

"""The sponsor's assessment of a case, as plain data: causality, expectedness and seriousness
per event x suspect drug, checked and written into the case.

Where each part goes, and why:

- **Causality** (method and result) becomes a G.k.9.i.2.r assessment with source "Sponsor" on
  the drug-event link: that is where ICH E2B(R3) carries it to the regulator, and where the
  rules already read the sponsor's opinion (``safety.rules.causality``: 21 CFR 312.32(a) lets
  the sponsor's judgement decide; Reg. (EU) 536/2014 Annex III 2.1 lets it upgrade but never
  downgrade the investigator's). Methods: WHO-UMC categories (Uppsala Monitoring Centre, "The
  use of the WHO-UMC system for standardised case causality assessment"), the Naranjo
  questionnaire (Naranjo et al., Clin Pharmacol Ther 1981;30:239-45: ten answers, the score and
  category computed, never typed), or the sponsor's binary related / not related.
- **Expectedness** is judged against a chosen RSI version (ICH E2A II.C: unexpected = not
  consistent with the applicable product information). The answer the RSI gives for the event's
  coded PT is shown; a different answer is an override and needs its reason. The rules read
  the sponsor's answer for that reference (``safety.rules.facts``).
- **Seriousness** per event (ICH E2A II.B criteria): a change from the reported criteria is an
  override with its reason; E.i.3.2 then carries the sponsor's criteria (the sender's
  assessment is what the message states), the reported ones are kept beside it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from safety.cases.editing import FieldChange
from safety.cases.model import (
    Assessment,
    CaseVersionData,
    DrugReaction,
    PairReview,
    SeriousnessReview,
    SponsorReview,
)
from safety.products.rsi import RsiLibrary, RsiVersion
from safety.rules.causality import (
    BINARY,
    WHO_UMC,
    CausalityError,
    interpret,
    naranjo_category,
    naranjo_score,
    source_role,
)
from safety.rules.seriousness import CRITERIA, met_criteria

SPONSOR = "Sponsor"
WHO_UMC_METHOD = "WHO-UMC"
NARANJO_METHOD = "Naranjo"
BINARY_METHOD = "Sponsor binary"
METHODS = (WHO_UMC_METHOD, NARANJO_METHOD, BINARY_METHOD)
# The WHO-UMC categories as the UMC names them (the rules also read their aliases).
WHO_UMC_CATEGORIES = ("Certain", "Probable/Likely", "Possible", "Unlikely",
                      "Conditional/Unclassified", "Unassessable/Unclassifiable")
BINARY_RESULTS = ("Related", "Not related")
NARANJO_QUESTIONS = (
    "Are there previous conclusive reports on this reaction?",
    "Did the adverse event appear after the suspected drug was administered?",
    "Did the adverse reaction improve when the drug was discontinued or a specific "
    "antagonist was administered?",
    "Did the adverse reaction reappear when the drug was readministered?",
    "Are there alternative causes (other than the drug) that could on their own have caused "
    "the reaction?",
    "Did the reaction reappear when a placebo was given?",
    "Was the drug detected in the blood (or other fluids) in concentrations known to be toxic?",
    "Was the reaction more severe when the dose was increased, or less severe when the dose "
    "was decreased?",
    "Did the patient have a similar reaction to the same or similar drugs in any previous "
    "exposure?",
    "Was the adverse event confirmed by any objective evidence?",
)


class AssessmentError(ValueError):
    """An assessment that cannot be recorded; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PairInput:
    reaction_id: str
    drug_id: str
    method: str | None = None
    result: str | None = None
    naranjo_answers: tuple[str, ...] = ()
    reference: str | None = None
    rsi_version: str | None = None
    expected: bool | None = None
    expectedness_reason: str | None = None


@dataclass(frozen=True)
class SeriousnessInput:
    reaction_id: str
    criteria: tuple[str, ...]
    reason: str | None = None


@dataclass
class Assessed:
    data: CaseVersionData
    changes: list[FieldChange] = field(default_factory=list)


def causality_result(where: str, method: str | None, result: str | None,
                     answers: tuple[str, ...]) -> tuple[str, str]:
    """The method and result as E2B G.k.9.i.2.r.2/3 carry them; Naranjo's from its answers."""
    if method not in METHODS:
        raise AssessmentError(f"{where}.method", f"choose one of {', '.join(METHODS)}")
    if method == NARANJO_METHOD:
        try:
            score = naranjo_score(list(answers))
        except CausalityError as exc:
            raise AssessmentError(f"{where}.naranjo_answers", str(exc)) from exc
        return method, f"{score} ({naranjo_category(score)})"
    text = (result or "").strip()
    allowed = WHO_UMC_CATEGORIES if method == WHO_UMC_METHOD else BINARY_RESULTS
    known = WHO_UMC if method == WHO_UMC_METHOD else BINARY
    match = next((a for a in allowed if a.lower() == text.lower()), None)
    if match is None and text.lower() in known:
        match = text.capitalize()
    if match is None:
        raise AssessmentError(f"{where}.result", f"{method}: choose one of {', '.join(allowed)}")
    return method, match


def rsi_version(lib: RsiLibrary, product_id: str | None, reference: str,
                version: str | None, on: date) -> RsiVersion | None:
    """The chosen version of the product's RSI (or the one in force on ``on``)."""
    if product_id is None:
        return None
    candidates = [v for v in lib.versions()
                  if v.product_id == product_id and v.reference == reference]
    if version:
        return next((v for v in candidates if v.version == version), None)
    return lib.in_force(product_id, reference, on)


def assess(data: CaseVersionData, pairs: list[PairInput], seriousness: list[SeriousnessInput],
           *, products: dict[str, str | None], rsi: RsiLibrary, rsi_day: date, actor: str,
           now: datetime) -> Assessed:
    """``data`` with the sponsor's assessments recorded (``data`` itself is not changed).

    ``products``: the registry product each suspect drug is (``None``: not in the registry);
    ``rsi_day``: the day whose RSI applies when no version is chosen (day 0)."""
    out = copy.deepcopy(data)
    review = out.sponsor_review or SponsorReview()
    changes: list[FieldChange] = []
    at = now.isoformat()
    suspects = {d.id: d for d in out.suspect_drugs()}
    events = {r.id: r for r in out.reactions}
    for n, p in enumerate(pairs):
        where = f"assessments[{n}]"
        if p.reaction_id not in events:
            raise AssessmentError(f"{where}.reaction_id", f"no event {p.reaction_id!r} in "
                                                          "this version")
        drug = suspects.get(p.drug_id)
        if drug is None:
            raise AssessmentError(f"{where}.drug_id", f"no suspect drug {p.drug_id!r} in this "
                                                      "version")
        old = review.pair(p.reaction_id, p.drug_id)
        new = copy.deepcopy(old) if old else PairReview(reaction_id=p.reaction_id,
                                                        drug_id=p.drug_id)
        label = f"{_name(drug.name)} × {_name(events[p.reaction_id].verbatim)}"
        if p.method is not None:
            method, result = causality_result(where, p.method, p.result, p.naranjo_answers)
            before_reading = (interpret(new.causality_method or "", new.causality_result)
                              if new.causality_result else None)
            if before_reading != interpret(method, result) or new.determined_at is None:
                new.determined_at = at
            new.causality_method, new.causality_result = method, result
            new.naranjo_answers = list(p.naranjo_answers) if method == NARANJO_METHOD else []
            link = next((x for x in drug.reactions if x.reaction_id == p.reaction_id), None)
            if link is None:
                link = DrugReaction(reaction_id=p.reaction_id)
                drug.reactions.append(link)
            before = [f"{_name(a.method)}: {_name(a.result)}" for a in link.assessments
                      if source_role(_name(a.source)) == "sponsor"]
            link.assessments = [a for a in link.assessments
                                if source_role(_name(a.source)) != "sponsor"]
            link.assessments.append(Assessment(source=SPONSOR, method=method, result=result))
            changes.append(FieldChange(f"causality ({label})", before[-1] if before else None,
                                       f"{method}: {result}"))
        if p.reference is not None:
            product = products.get(p.drug_id)
            chosen = rsi_version(rsi, product, p.reference, p.rsi_version, rsi_day)
            if p.rsi_version and chosen is None:
                raise AssessmentError(f"{where}.rsi_version",
                                      f"no {p.reference} version {p.rsi_version} for this "
                                      "product")
            coding = events[p.reaction_id].coding
            computed = chosen.expects(coding.pt_code if coding else None) if chosen else False
            expected = computed if p.expected is None else p.expected
            reason = (p.expectedness_reason or "").strip() or None
            if expected != computed and reason is None:
                raise AssessmentError(
                    f"{where}.expectedness_reason",
                    f"the {p.reference} says {'expected' if computed else 'unexpected'}; an "
                    "override needs its reason")
            old_answer = new.expected
            new.rsi_reference = p.reference
            new.rsi_version = chosen.version if chosen else None
            new.expected_computed = computed
            new.expected = expected
            new.expectedness_reason = reason if expected != computed else None
            changes.append(FieldChange(
                f"expectedness ({label}, {p.reference} "
                f"{'v' + chosen.version if chosen else 'none in force'})",
                _word(old_answer),
                f"{_word(expected)}"
                + (" (override of the RSI's answer)" if expected != computed else "")))
        new.assessed_by, new.assessed_at = actor, at
        if old is None:
            review.pairs.append(new)
        else:
            review.pairs[review.pairs.index(old)] = new
    for n, s in enumerate(seriousness):
        where = f"seriousness[{n}]"
        reaction = events.get(s.reaction_id)
        if reaction is None:
            raise AssessmentError(f"{where}.reaction_id", f"no event {s.reaction_id!r} in "
                                                          "this version")
        unknown = [c for c in s.criteria if c not in CRITERIA]
        if unknown:
            raise AssessmentError(f"{where}.criteria",
                                  f"{', '.join(unknown)}: not a criterion "
                                  f"({', '.join(CRITERIA)})")
        prior = next((x for x in review.seriousness if x.reaction_id == s.reaction_id), None)
        reported = list(prior.reported) if prior else list(met_criteria(reaction.seriousness))
        current = list(met_criteria(reaction.seriousness))
        wanted = [c for c in CRITERIA if c in s.criteria]
        if wanted == current:
            continue
        reason = (s.reason or "").strip()
        if not reason:
            raise AssessmentError(f"{where}.reason", "a seriousness override needs its reason")
        for c in CRITERIA:
            setattr(reaction.seriousness, c, True if c in wanted else
                    (False if getattr(reaction.seriousness, c) is True else
                     getattr(reaction.seriousness, c)))
        entry = SeriousnessReview(reaction_id=s.reaction_id, reported=reported,
                                  criteria=wanted, reason=reason, assessed_by=actor,
                                  assessed_at=at)
        review.seriousness = [x for x in review.seriousness if x.reaction_id != s.reaction_id]
        review.seriousness.append(entry)
        changes.append(FieldChange(f"seriousness ({_name(reaction.verbatim)})",
                                   ", ".join(current) or "non-serious",
                                   ", ".join(wanted) or "non-serious"))
    out.sponsor_review = review
    return Assessed(out, changes)


def _name(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _word(expected: bool | None) -> str | None:
    return None if expected is None else ("expected" if expected else "unexpected")

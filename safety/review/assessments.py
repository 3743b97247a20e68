"""Recording the sponsor's assessments of a case (causality, expectedness, seriousness) as a
correction version, and what the case page shows of them.

The assessments themselves are checked and written by ``safety.review.assessing`` (plain
data); this service loads what they need (the sponsor's registry and RSI), makes the version
through ``safety.review.corrections`` and so re-runs the rules and drafting on the sponsor's
word: a case can become, or stop being, a SUSAR, with the clock of each regime counted from the
day the sponsor held what made it reportable (``safety.rules.facts.sponsor_determined_at``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.model import CaseVersionData
from safety.cases.store import Case, CaseVersion, working_data
from safety.products.store import load_registry, load_rsi
from safety.review.assessing import (
    AssessmentError,
    PairInput,
    SeriousnessInput,
    assess,
)
from safety.review.corrections import (
    Correction,
    CorrectionRefused,
    check_reason,
    editable_version,
    new_correction,
)
from safety.rules.causality import opinion_from_assessment, source_role
from safety.rules.seriousness import met_criteria
from safety.sponsors.service import profile


def _first_receipt_day(session: Session, case: Case) -> Any:
    first = session.scalar(select(CaseVersion).where(CaseVersion.case_id == case.id,
                                                     CaseVersion.version == 1))
    zone = profile(session, case.sponsor_id).zone
    return (first.received_at if first else datetime.now(zone)).astimezone(zone).date()


def record_assessments(session: Session, case: Case, pairs: list[PairInput],
                       seriousness: list[SeriousnessInput], *, actor: str, reason: str | None,
                       now: datetime, seen_version: int | None = None) -> Correction:
    """The sponsor's assessments as a new version of the case (``case`` locked by the
    caller); refused with the field named when an input is wrong."""
    text = check_reason(reason)
    cv = editable_version(session, case)
    if seen_version is not None and seen_version != cv.version:
        raise CorrectionRefused("version", f"you assessed version {seen_version}, but the case "
                                           f"is now version {cv.version}: reload and redo",
                                status=409)
    if not pairs and not seriousness:
        raise CorrectionRefused("assessments", "give at least one assessment")
    data = working_data(session, cv)
    registry = load_registry(session, case.sponsor_id)
    products = {d.id: (p.id if (p := registry.match_drug(d)) else None)
                for d in data.suspect_drugs()}
    try:
        assessed = assess(data, pairs, seriousness, products=products,
                          rsi=load_rsi(session, case.sponsor_id),
                          rsi_day=_first_receipt_day(session, case), actor=actor, now=now)
    except AssessmentError as exc:
        raise CorrectionRefused(exc.field, exc.message) from exc
    if not assessed.changes:
        raise CorrectionRefused("assessments", "the case already says this: nothing changed")
    return new_correction(session, case, cv, assessed.data, assessed.changes, actor=actor,
                          reason=text, now=now, kind="assessed")


def assessment_rows(session: Session, case: Case, cv: CaseVersion) -> list[dict[str, Any]]:
    """Per event x suspect drug: the investigator's and the sponsor's causality, the RSI
    references the pair can be assessed against with the answer each gives, and the sponsor's
    recorded expectedness."""
    data = working_data(session, cv)
    return pair_rows(data, _rsi_choices(session, case, data))


def _rsi_choices(session: Session, case: Case, data: CaseVersionData
                 ) -> dict[str, list[dict[str, Any]]]:
    """Per suspect drug id: the RSI versions of its registry product."""
    registry = load_registry(session, case.sponsor_id)
    lib = load_rsi(session, case.sponsor_id)
    out: dict[str, list[dict[str, Any]]] = {}
    for d in data.suspect_drugs():
        product = registry.match_drug(d)
        out[d.id] = [{"reference": v.reference, "version": v.version,
                      "effective_from": v.effective_from.isoformat(),
                      "document": v.document, "expected_pts": v.expected_pts}
                     for v in sorted(lib.versions(), key=lambda v: (v.reference,
                                                                    v.effective_from))
                     if product is not None and v.product_id == product.id]
    return out


def pair_rows(data: CaseVersionData, rsi: dict[str, list[dict[str, Any]]]
              ) -> list[dict[str, Any]]:
    review = data.sponsor_review
    rows = []
    for drug in data.suspect_drugs():
        links = {link.reaction_id: link for link in drug.reactions}
        for r in data.reactions:
            link = links.get(r.id)
            investigator = [opinion_from_assessment(a).describe() for a in
                            (link.assessments if link else [])
                            if source_role(a.source if isinstance(a.source, str) else "")
                            != "sponsor"]
            pt = r.coding.pt_code if r.coding else None
            versions = [{**v, "expects": pt is not None and pt in v["expected_pts"]}
                        for v in rsi.get(drug.id, [])]
            rows.append({
                "reaction_id": r.id, "drug_id": drug.id,
                "event": r.verbatim if isinstance(r.verbatim, str) else "",
                "pt": r.coding.pt_term if r.coding else None,
                "drug": drug.name if isinstance(drug.name, str) else "",
                "investigator": investigator,
                "sponsor": review.pair(r.id, drug.id) if review else None,
                "rsi_versions": versions,
                "criteria": list(met_criteria(r.seriousness)),
                "seriousness_review": next((s for s in (review.seriousness if review else [])
                                            if s.reaction_id == r.id), None),
            })
    return rows

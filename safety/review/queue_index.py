"""What the review queue knows of a case's document, so that it can filter, search and sort in
the database instead of reading every open case's JSON on each request (issue 17: 20,000
cases took 4 s when the product and study filters ran in Python).

Plain Python over the case JSON (``safety.cases.codec``): the store
(``safety.review.store.refresh_entries``) writes what these functions return beside each case.
"""

from __future__ import annotations

from typing import Any

# Suspect (G.k.1 = 1) and interacting (3) drugs are the case's products; concomitant ones are
# not what a team filters a queue by.
SUSPECT_ROLES = ("1", "3")


def key(text: str) -> str:
    """The form every searched value is stored and looked up in: trimmed, case folded, so
    ``sd-2026-0001`` finds ``SD-2026-0001`` and ``Pneumonitis`` finds ``pneumonitis``."""
    return " ".join(text.split()).casefold()


def suspect_products(drugs: Any) -> tuple[str, ...]:
    """Suspect and interacting drugs (G.k.1 = 1 or 3) by reported name, in form order."""
    names: list[str] = []
    for drug in drugs if isinstance(drugs, list) else []:
        if not isinstance(drug, dict):
            continue
        if drug.get("role", "1") in SUSPECT_ROLES and isinstance(drug.get("name"), str):
            if drug["name"] not in names:
                names.append(drug["name"])
    return tuple(names)


def study_of(study: Any) -> str | None:
    """The sponsor's study number (C.5.3), else the study's name (C.5.2)."""
    if not isinstance(study, dict):
        return None
    value = study.get("sponsor_study_number") or study.get("name")
    return value if isinstance(value, str) else None


def subject_of(patient: Any) -> str | None:
    """The subject's id in the study (D.1.1.4, patient investigation number)."""
    if not isinstance(patient, dict):
        return None
    value = patient.get("investigation_number")
    return value.strip() or None if isinstance(value, str) else None


def event_terms(reactions: Any) -> tuple[str, ...]:
    """Every term an event is known by: as reported (E.i.1.1a) and as coded (the LLT and its
    PT), each once; a reviewer searches by whichever they remember."""
    terms: list[str] = []
    seen: set[str] = set()
    for r in reactions if isinstance(reactions, list) else []:
        if not isinstance(r, dict):
            continue
        coding = r.get("coding")
        if not isinstance(coding, dict):
            coding = {}
        for value in (r.get("verbatim"), coding.get("term"), coding.get("pt_term")):
            if isinstance(value, str) and value.strip() and key(value) not in seen:
                seen.add(key(value))
                terms.append(value.strip())
    return tuple(terms)

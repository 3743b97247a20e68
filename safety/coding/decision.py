"""A person's coding decision: the code a safety physician chose for a verbatim.

The decision is checked against the dictionary release it is made in (the code must exist,
and an LLT must be current: MedDRA Introductory Guide, non-current LLTs are kept for
historical data only and are not used for new coding) and rolled up to PT and primary SOC the
same way the autocoder does.
"""

from __future__ import annotations

from safety.cases.model import CodedTerm
from safety.coding.terminology import Terminology


class CodingDecisionError(ValueError):
    pass


def manual_term(terms: Terminology, verbatim: object, code: str, decided_by: str) -> CodedTerm:
    release = terms.release
    concept = next((c for lv in ("LLT", "PT") if (c := terms.get(lv, code)) is not None), None)
    if concept is None:
        raise CodingDecisionError(
            f"{code} is not an LLT or PT of {release.family} {release.version}")
    if not concept.current:
        raise CodingDecisionError(f"LLT {code} ({concept.name}) is not current: choose a current "
                                  "LLT for new coding")
    up = terms.rollup(concept.code, concept.level)
    return CodedTerm(
        verbatim=verbatim if isinstance(verbatim, str) else None,
        code=concept.code, term=concept.name, level=concept.level,
        family=release.family, version=release.version,
        pt_code=up.pt.code if up.pt else None, pt_term=up.pt.name if up.pt else None,
        soc_code=up.soc.code if up.soc else None, soc_term=up.soc.name if up.soc else None,
        method="manual", score=None, auto=False, confirmed_by=decided_by,
    )

"""The coding pipeline stage's pure step: code every uncoded term of one case version.

Codes reaction verbatims, drug names, indications and medical-history conditions. A term a
person already decided (method ``manual`` or ``e2b``, or ``confirmed_by`` set) is left alone;
the verbatim is never changed. The caller stores the returned version and queues the terms
listed in ``review`` for the physician.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from safety.cases.model import CaseVersionData, CodedTerm
from safety.coding.autocoder import Autocoder, CodingResult
from safety.coding.confirmation import confirmation_reason

KEPT_METHODS = ("manual", "e2b")


@dataclass(slots=True)
class CaseCoding:
    data: CaseVersionData
    coded: int = 0
    review: list[str] = field(default_factory=list)  # JSON-ish paths of terms for review


def _decided(term: CodedTerm | None) -> bool:
    return term is not None and (term.method in KEPT_METHODS or bool(term.confirmed_by))


def _code(coder: Autocoder, text: object, path: str, out: CaseCoding,
          done: dict[str, CodingResult] | None = None) -> CodedTerm | None:
    if not isinstance(text, str) or not text.strip():
        return None
    result = done[text] if done is not None and text in done else coder.code(text)
    term = result.to_coded_term()
    out.coded += 1
    if not term.auto or (coder.kind == "events" and confirmation_reason(
            result.method, result.origin, text, result.term) is not None):
        out.review.append(path)
    return term


def _event_batch(case: CaseVersionData, events: Autocoder) -> dict[str, CodingResult]:
    texts: list[object] = [r.translation if isinstance(r.translation, str) and r.translation
                           else r.verbatim for r in case.reactions if not _decided(r.coding)]
    texts += [t.verbatim for d in case.drugs for t in d.indications
              if not _decided(t) and t.code is None]
    texts += [t.verbatim for t in case.narrative.sender_diagnosis
              if not _decided(t) and t.code is None]
    texts += [h.condition.verbatim for h in case.patient.medical_history
              if not _decided(h.condition) and h.condition.code is None]
    unique = list(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))
    return dict(zip(unique, events.code_many(unique), strict=True))


def code_case(data: CaseVersionData, events: Autocoder, drugs: Autocoder, *,
              in_place: bool = False) -> CaseCoding:
    """A coded copy of ``data`` (the input is not modified); ``in_place``: ``data`` itself
    coded (a caller that gives it up saves the copy)."""
    out = CaseCoding(data if in_place else copy.deepcopy(data))
    case = out.data
    # The event texts coded together: the semantic model encodes those the exact and lay
    # paths leave undecided as one batch (same results as one at a time).
    done = _event_batch(case, events)
    for i, reaction in enumerate(case.reactions):
        if not _decided(reaction.coding):
            text = reaction.translation if isinstance(reaction.translation, str) else None
            coded = _code(events, text or reaction.verbatim, f"reactions[{i}]", out, done)
            if coded is not None:
                coded.verbatim = reaction.verbatim
                reaction.coding = coded
    for i, drug in enumerate(case.drugs):
        if not _decided(drug.coding):
            coded = _code(drugs, drug.name, f"drugs[{i}]", out)
            if coded is not None:
                drug.coding = coded
        for j, indication in enumerate(drug.indications):
            if not _decided(indication) and indication.code is None:
                coded = _code(events, indication.verbatim, f"drugs[{i}].indications[{j}]",
                              out, done)
                if coded is not None:
                    drug.indications[j] = coded
    for i, diagnosis in enumerate(case.narrative.sender_diagnosis):  # H.3.r
        if not _decided(diagnosis) and diagnosis.code is None:
            coded = _code(events, diagnosis.verbatim, f"narrative.sender_diagnosis[{i}]", out,
                          done)
            if coded is not None:
                case.narrative.sender_diagnosis[i] = coded
    for i, history in enumerate(case.patient.medical_history):
        term = history.condition
        if not _decided(term) and term.code is None:
            coded = _code(events, term.verbatim, f"patient.medical_history[{i}]", out, done)
            if coded is not None:
                history.condition = coded
    return out

"""A draft of the company narrative (E2B H.1) from the case's structured data.

The physician starts from a draft that says what the fields say, in the order CIOMS Working
Group V ("Current challenges in pharmacovigilance", 2001, ch. 5, the case narrative) and ICH
E2D 5.4 ask for: source and reporter, patient, relevant history and concomitant drugs, the
suspect drug and dosage, the events with onset, seriousness and outcome, tests, action taken,
dechallenge/rechallenge, and the assessments. Trial SAEs, spontaneous reports and literature
cases open differently (study and subject; reporter; the article). The draft is only a start:
the physician edits it, and the saved text is versioned with the case like every correction.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from safety.cases.model import CaseVersionData, Drug, Reaction
from safety.cases.values import NullFlavor, PartialDate
from safety.rules.seriousness import met_criteria


class CaseType(StrEnum):
    TRIAL_SAE = "trial_sae"
    SPONTANEOUS = "spontaneous"
    LITERATURE = "literature"


CASE_TYPE_LABELS = {CaseType.TRIAL_SAE: "Clinical trial SAE",
                    CaseType.SPONTANEOUS: "Spontaneous report",
                    CaseType.LITERATURE: "Literature case"}

SEX = {"1": "male", "2": "female"}
QUALIFICATION = {"1": "physician", "2": "pharmacist", "3": "other health professional",
                 "4": "lawyer", "5": "consumer"}
OUTCOME = {"0": "unknown", "1": "recovered/resolved", "2": "recovering/resolving",
           "3": "not recovered/not resolved", "4": "recovered with sequelae", "5": "fatal"}
ACTION = {"1": "drug withdrawn", "2": "dose reduced", "3": "dose increased",
          "4": "dose not changed", "0": "unknown", "9": "not applicable"}
CRITERIA_WORDS = {"death": "results in death", "life_threatening": "life-threatening",
                  "hospitalisation": "caused or prolonged hospitalisation",
                  "disability": "disability/incapacity", "congenital_anomaly":
                  "congenital anomaly", "other_medically_important":
                  "medically important", "required_intervention": "required intervention"}


def case_type(data: CaseVersionData) -> CaseType:
    """The template the case calls for: a study report (C.1.3 = 2) is a trial SAE, a report
    with a literature reference (C.4.r) a literature case, anything else spontaneous."""
    if data.admin.report_type == "2" or data.study is not None:
        return CaseType.TRIAL_SAE
    if data.literature:
        return CaseType.LITERATURE
    return CaseType.SPONTANEOUS


def _t(value: object) -> str:
    if isinstance(value, NullFlavor) or value is None:
        return ""
    if isinstance(value, PartialDate):
        return value.isoformat()
    return str(value)


def _join(parts: Iterable[str], sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _patient(data: CaseVersionData) -> str:
    p = data.patient
    age = ""
    if p.age_at_onset and p.age_at_onset.value is not None:
        unit = {"a": "year", "mo": "month", "wk": "week", "d": "day"}.get(
            p.age_at_onset.unit or "a", p.age_at_onset.unit or "")
        age = f"{p.age_at_onset.value:g}-{unit}-old"
    sex = SEX.get(_t(p.sex), "")
    who = _join([age, sex, "patient"], " ")
    extra = _join([f"initials {_t(p.initials)}" if _t(p.initials) else "",
                   f"born {_t(p.birth_date)}" if _t(p.birth_date) else "",
                   f"weight {p.weight_kg:g} kg" if isinstance(p.weight_kg, float) else ""])
    return f"A {who}" + (f" ({extra})" if extra else "")


def _drug(d: Drug) -> str:
    doses = []
    for dose in d.dosages:
        q = f"{dose.dose.value:g} {dose.dose.unit or ''}".strip() if (
            dose.dose and dose.dose.value is not None) else _t(dose.text)
        route = _t(dose.route)
        start = f"from {_t(dose.start)}" if _t(dose.start) else ""
        doses.append(_join([q, route, start], " "))
    ind = _join(_t(i.verbatim) for i in d.indications)
    return (_t(d.name) + (f" ({_join(doses, '; ')})" if doses else "")
            + (f" for {ind}" if ind else ""))


def _event(r: Reaction) -> str:
    criteria = [CRITERIA_WORDS[c] for c in met_criteria(r.seriousness)]
    coded = f" (PT {r.coding.pt_term})" if r.coding and r.coding.pt_term else ""
    return (_t(r.verbatim) + coded
            + (f", onset {_t(r.start)}" if _t(r.start) else "")
            + (f", serious: {_join(criteria)}" if criteria else ", non-serious")
            + (f", outcome {OUTCOME[_t(r.outcome)]}" if _t(r.outcome) in OUTCOME else ""))


def draft(data: CaseVersionData, kind: CaseType | None = None) -> str:
    """The narrative draft for the case, by the template of ``kind`` (default: the case's)."""
    kind = kind or case_type(data)
    suspects = data.suspect_drugs()
    others = [d for d in data.drugs if d.role == "2"]
    reporter = data.reporters[0] if data.reporters else None
    paragraphs: list[str] = []
    if kind is CaseType.TRIAL_SAE:
        study = data.study
        protocol = _t(study.sponsor_study_number) if study else ""
        name = _t(study.name) if study else ""
        subject = _t(data.patient.investigation_number)
        paragraphs.append(
            "This serious adverse event was reported from clinical study "
            + _join([protocol, f"({name})" if name else ""], " ")
            + (f", subject {subject}" if subject else "")
            + (", by the investigator "
               + _join([_t(reporter.given_name), _t(reporter.family_name)], " ")
               if reporter and _t(reporter.family_name) else "")
            + (f" ({_t(reporter.country)})" if reporter and _t(reporter.country) else "") + ".")
    elif kind is CaseType.LITERATURE:
        refs = _join((_t(d.reference) or _t(d.title) for d in data.literature), "; ")
        paragraphs.append("This case was identified in the medical literature: "
                          f"{refs or 'reference not recorded'}.")
    else:
        qual = QUALIFICATION.get(_t(reporter.qualification), "reporter") if reporter else "reporter"
        country = f" in {_t(reporter.country)}" if reporter and _t(reporter.country) else ""
        paragraphs.append(f"This spontaneous report was received from a {qual}{country}.")
    history = _join(_t(h.condition.verbatim) for h in data.patient.medical_history)
    paragraphs.append(
        _patient(data)
        + (f" with a relevant medical history of {history}" if history else "")
        + (f" received {_join((_drug(d) for d in suspects), '; ')}" if suspects else "")
        + "." + (f" Concomitant medications: {_join(_t(d.name) for d in others)}."
                 if others else ""))
    if data.reactions:
        paragraphs.append("Events: " + "; ".join(_event(r) for r in data.reactions) + ".")
    tests = [_join([_t(t.name), _t(t.date), (f"{t.value:g} {t.unit or ''}".strip()
                                              if isinstance(t.value, float) else
                                              _t(t.result_text))], " ")
             for t in data.tests]
    if tests:
        paragraphs.append("Tests: " + "; ".join(tests) + ".")
    actions = [f"{_t(d.name)}: {ACTION[_t(d.action_taken)]}" for d in suspects
               if _t(d.action_taken) in ACTION]
    if actions:
        paragraphs.append("Action taken: " + "; ".join(actions) + ".")
    review = data.sponsor_review
    events = {r.id: _t(r.verbatim) for r in data.reactions}
    drugs = {d.id: _t(d.name) for d in data.drugs}
    if review and review.pairs:
        said = [f"{events.get(p.reaction_id, '?')} with {drugs.get(p.drug_id, '?')}: "
                + _join([f"{p.causality_method} {p.causality_result}"
                         if p.causality_result else "",
                         ("expected" if p.expected else "unexpected")
                         + f" per {p.rsi_reference}" + (f" v{p.rsi_version}"
                                                        if p.rsi_version else "")
                         if p.expected is not None else ""])
                for p in review.pairs]
        paragraphs.append("Sponsor's assessment: " + "; ".join(said) + ".")
    reported = _t(data.narrative.narrative)
    if reported:
        paragraphs.append(f"As reported: {reported}")
    return "\n\n".join(paragraphs)

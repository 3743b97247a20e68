"""Hypothesis strategies for ICSRs built over the ICH/FDA element tables.

Each model field the strategy fills is named with its data element number (``FIELDS``); the
values are drawn from that element's row of the tables (``safety.e2b.rules``): its code
list, its null flavours, its maximum length, its date or boolean type. Repeating sections
(reporters, reactions, tests, drugs, dosages, medical history, drug-reaction links with
assessments) repeat 0..3 times. Fields outside ``FIELDS`` stay absent.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from hypothesis import strategies as st

from safety.cases.model import (
    Admin,
    Assessment,
    CaseVersionData,
    CodeListVersion,
    Dosage,
    Drug,
    DrugReaction,
    MedicalHistory,
    Narrative,
    Patient,
    Reaction,
    Reporter,
    Seriousness,
    TestResult,
)
from safety.cases.values import NullFlavor, PartialDate
from safety.e2b.rules import ElementRule, element_rules
from safety.package_data import BUNDLED_SCHEMAS

FIELDS: dict[type, dict[str, str]] = {
    Admin: {"report_type": "C.1.3", "first_received": "C.1.4", "most_recent_received": "C.1.5",
            "fulfils_expedited": "C.1.7", "first_sender": "C.1.8.2",
            "fda_combination_product": "FDA.C.1.12"},
    Reporter: {"given_name": "C.2.r.1.2", "family_name": "C.2.r.1.4",
               "organisation": "C.2.r.2.1", "city": "C.2.r.2.4", "country": "C.2.r.3",
               "qualification": "C.2.r.4"},
    Patient: {"initials": "D.1", "birth_date": "D.2.1", "age_group": "D.2.3",
              "weight_kg": "D.3", "height_cm": "D.4", "sex": "D.5",
              "last_menstrual_period": "D.6", "medical_history_text": "D.7.2",
              "fda_ethnicity": "FDA.D.12"},
    MedicalHistory: {"start": "D.7.1.r.2", "continuing": "D.7.1.r.3", "end": "D.7.1.r.4",
                     "comments": "D.7.1.r.5"},
    Reaction: {"verbatim": "E.i.1.1a", "highlighted": "E.i.3.1", "start": "E.i.4",
               "end": "E.i.5", "outcome": "E.i.7", "medically_confirmed": "E.i.8",
               "country": "E.i.9"},
    Seriousness: {"death": "E.i.3.2a", "life_threatening": "E.i.3.2b",
                  "hospitalisation": "E.i.3.2c", "disability": "E.i.3.2d",
                  "congenital_anomaly": "E.i.3.2e", "other_medically_important": "E.i.3.2f",
                  "required_intervention": "FDA.E.i.3.2h"},
    TestResult: {"date": "F.r.1", "name": "F.r.2.1", "result_code": "F.r.3.1",
                 "result_text": "F.r.3.4", "comments": "F.r.6", "more_info_available": "F.r.7"},
    Drug: {"role": "G.k.1", "name": "G.k.2.2", "country_obtained": "G.k.2.4",
           "investigational": "G.k.2.5", "authorisation_number": "G.k.3.1",
           "authorisation_country": "G.k.3.2", "authorisation_holder": "G.k.3.3",
           "action_taken": "G.k.8", "additional_info": "G.k.11"},
    Dosage: {"start": "G.k.4.r.4", "end": "G.k.4.r.5", "batch_lot": "G.k.4.r.7",
             "text": "G.k.4.r.8", "route": "G.k.4.r.10.1"},
    Assessment: {"source": "G.k.9.i.2.r.1", "method": "G.k.9.i.2.r.2",
                 "result": "G.k.9.i.2.r.3"},
    Narrative: {"narrative": "H.1", "reporter_comments": "H.2", "sender_comments": "H.4"},
}
COUNTRIES = ("US", "GB", "DE", "FR", "JP", "CA", "EU")
LANGUAGES = ("eng", "fra", "deu", "jpn")  # ISO 639-2

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r"),
    min_size=1, max_size=30,
).filter(lambda s: s.strip() == s)


@st.composite
def partial_dates(draw: st.DrawFn) -> PartialDate:
    """Any precision from a year to a second, with or without a UTC offset."""
    year = draw(st.integers(1900, 2025))
    depth = draw(st.integers(0, 5))
    limits = [(1, 12), (1, 28), (0, 23), (0, 59), (0, 59)]
    comps = [draw(st.integers(lo, hi)) for lo, hi in limits[:depth]]
    offset = draw(st.sampled_from([None, 0, -300, 330])) if depth >= 3 else None
    return PartialDate(year, *comps, tz_offset_minutes=offset)


@cache
def _rules() -> dict[str, ElementRule]:
    out: dict[str, ElementRule] = {}
    for rule in element_rules(BUNDLED_SCHEMAS):
        out.setdefault(rule.number, rule)
    return out


def value(number: str, hint: Any) -> st.SearchStrategy[Any]:
    """Values of element ``number`` for a model field typed ``hint``: absent, a null flavour
    the table allows (when the field can hold one), or a value of the element's type."""
    rule = _rules()[number]
    args = typing.get_args(hint) or (hint,)
    if rule.allowed_codes:
        present: st.SearchStrategy[Any] = st.sampled_from(sorted(rule.allowed_codes))
    elif rule.is_date:
        present = partial_dates()
    elif rule.is_boolean:
        present = st.booleans() if bool in args else st.just(True)
    elif float in args:
        present = st.integers(1, 250).map(float)
    elif rule.data_type.strip() == "A" and rule.max_length == 2:
        present = st.sampled_from(COUNTRIES)
    else:
        present = text.filter(lambda s: rule.max_length is None or len(s) <= rule.max_length)
    options = [present]
    if NullFlavor in args and rule.null_flavors:
        options.append(st.sampled_from(sorted(rule.null_flavors)).map(NullFlavor))
    if type(None) in args:
        options.append(st.none())
    return st.one_of(*options)


def criterion(number: str, hint: Any) -> st.SearchStrategy[Any]:
    """E.i.3.2 seriousness criteria are ``true`` or ``nullFlavor NI`` in E2B(R3), never
    ``false`` or absent (the writer sends an unmet criterion as NI)."""
    return st.sampled_from([True, NullFlavor.NI])


def section(cls: type, **fixed: Any) -> st.SearchStrategy[Any]:
    """``cls`` with every field of ``FIELDS[cls]`` drawn from its element's row."""
    hints = typing.get_type_hints(cls)
    draw_value = criterion if cls is Seriousness else value
    drawn = {name: draw_value(number, hints[name]) for name, number in FIELDS[cls].items()}
    drawn.update({k: v if isinstance(v, st.SearchStrategy) else st.just(v)
                  for k, v in fixed.items()})
    return st.builds(cls, **drawn)


def repeats(strategy: st.SearchStrategy[Any], least: int = 0) -> st.SearchStrategy[Any]:
    return st.lists(strategy, min_size=least, max_size=3)


@st.composite
def icsrs(draw: st.DrawFn) -> CaseVersionData:
    """A case whose every filled value is one the element tables allow."""
    # E.i.1.1a is required and goes with its language E.i.1.1b (FDA R0058)
    reactions = draw(repeats(section(Reaction, seriousness=section(Seriousness), verbatim=text,
                                     verbatim_language=st.sampled_from(LANGUAGES)), least=1))
    drugs = draw(repeats(section(Drug, dosages=repeats(section(Dosage))), least=1))
    for d in drugs:
        linked = draw(st.lists(st.sampled_from(reactions), max_size=len(reactions),
                               unique_by=lambda r: r.id))
        d.reactions = [DrugReaction(
            reaction_id=r.id,
            recurrence=draw(value("G.k.9.i.4", typing.get_type_hints(DrugReaction)
                                  ["recurrence"])),
            # a link is written through its assessments (G.k.9.i.2.r, result required)
            assessments=draw(repeats(section(Assessment, result=text), least=1)),
        ) for r in linked]
    patient = draw(section(Patient, medical_history=repeats(section(MedicalHistory))))
    if not patient.medical_history and patient.medical_history_text is None:
        patient.medical_history_text = NullFlavor.UNK  # D.7.2 unknown (FDA R0035)
    case = CaseVersionData(
        admin=draw(section(Admin)),
        reporters=draw(repeats(section(Reporter), least=1)),
        patient=patient,
        reactions=reactions,
        tests=draw(repeats(section(TestResult))),
        drugs=drugs,
        narrative=draw(section(Narrative)),
        # a list's version lives on its codes: declared only for lists every case uses
        # (.19 the observation codes)
        code_list_versions=draw(st.lists(st.builds(
            CodeListVersion, st.just("2.16.840.1.113883.3.989.2.1.1.19"),
            st.sampled_from(["1.0", "1.1"])), max_size=1)),
    )
    case.admin.creation_date = PartialDate(2026, 1, 2, 3, 4, 5, tz_offset_minutes=0)  # C.1.2
    case.admin.sender_safety_report_id = "XX-SD-1"
    case.admin.worldwide_case_id = "XX-SD-1"
    return case




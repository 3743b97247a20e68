"""Hand-built cases for the dedup tests: one function, keyword overrides for what a test varies."""

from __future__ import annotations

from safety.cases.model import (
    Admin,
    CaseVersionData,
    CodedTerm,
    Document,
    Drug,
    Narrative,
    OtherCaseId,
    Patient,
    Quantity,
    Reaction,
    Reporter,
    Sender,
    Study,
)
from safety.cases.values import PartialDate

SUBSTANCE = {"paracetamol": "SUB001", "panadol": "SUB001", "warfarin": "SUB006",
             "coumadin": "SUB006", "ibuprofen": "SUB005"}
PT = {"nausea": ("PT001", "Nausea"), "feeling sick": ("PT001", "Nausea"),
      "rash": ("PT003", "Rash"), "headache": ("PT002", "Headache"),
      "gi bleeding": ("PT012", "Gastrointestinal haemorrhage"),
      "neonatal jaundice": ("PT019", "Neonatal jaundice"),
      "hepatotoxicity": ("PT009", "Hepatotoxicity")}


def d(text: str | None) -> PartialDate | None:
    return PartialDate.parse_iso(text) if text else None


def make_case(
    *,
    sender: str = "Acme Pharma",
    report_id: str = "FR-ACME-2024-000001",
    worldwide: str | None = None,
    cites: list[tuple[str | None, str]] | None = None,
    linked: list[str] | None = None,
    initials: str | None = "JS",
    birth: str | None = "1970-03-14",
    age: float | None = None,
    age_unit: str = "a",
    sex: str | None = "2",
    weight: float | None = 68.0,
    country: str | None = "FR",
    onset: str | None = "2024-02-10",
    events: list[str] | tuple[str, ...] = ("gi bleeding",),
    coded: bool = True,
    drugs: list[str] | tuple[str, ...] = ("warfarin",),
    reporter: tuple[str, str, str] | None = ("Claire", "Martin", "1"),
    study: str | None = None,
    subject: str | None = None,
    literature: str | None = None,
    narrative: str | None = None,
) -> CaseVersionData:
    reactions = []
    for e in events:
        coding = None
        if coded and e in PT:
            code, term = PT[e]
            coding = CodedTerm(verbatim=e, code=code, term=term, level="PT", pt_code=code,
                               pt_term=term)
        reactions.append(Reaction(verbatim=e, coding=coding, start=d(onset), country=country))
    drug_list = []
    for name in drugs:
        coding = None
        if coded and name in SUBSTANCE:
            coding = CodedTerm(verbatim=name, code=SUBSTANCE[name], level="substance")
        drug_list.append(Drug(role="1", name=name, coding=coding))
    return CaseVersionData(
        admin=Admin(
            sender_safety_report_id=report_id,
            worldwide_case_id=worldwide,
            other_case_ids=[OtherCaseId(source=s, case_id=c) for s, c in (cites or [])],
            linked_report_ids=list(linked or []),
        ),
        sender=Sender(organisation=sender),
        reporters=[Reporter(given_name=reporter[0], family_name=reporter[1],
                            qualification=reporter[2], country=country)] if reporter else [],
        patient=Patient(
            initials=initials, birth_date=d(birth),
            age_at_onset=Quantity(age, age_unit) if age is not None else None,
            sex=sex, weight_kg=weight, investigation_number=subject,
        ),
        study=Study(sponsor_study_number=study) if study else None,
        literature=[Document(reference=literature)] if literature else [],
        reactions=reactions,
        drugs=drug_list,
        narrative=Narrative(narrative=narrative),
    )

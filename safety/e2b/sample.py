"""A representative serious spontaneous case touching every E2B(R3) section.

Used by the demo export, the benchmark ("typical case") and the tests; it is an invented case
(no real person), shaped like the FDA post-market examples plus the sections those examples do
not show (death, tests, past drugs, medical history, dosage regimen, causality).
"""

from __future__ import annotations

from safety.cases.model import (
    Admin,
    Assessment,
    CaseVersionData,
    CodedTerm,
    Death,
    Document,
    Dosage,
    Drug,
    DrugReaction,
    MedicalHistory,
    Narrative,
    OtherCaseId,
    Parent,
    PastDrug,
    Patient,
    Quantity,
    Reaction,
    Reporter,
    Sender,
    Seriousness,
    Study,
    StudyRegistration,
    Substance,
    Summary,
    TestResult,
)
from safety.cases.values import NullFlavor, PartialDate


def sample_case() -> CaseVersionData:
    r1 = Reaction(
        id="0b6f3c1e-2a51-4d0b-9c39-3f8a1d2e4c50",
        verbatim="bleeding from the gums", verbatim_language="eng",
        coding=CodedTerm(code="10018276", version="27.1", family="MedDRA", level="LLT"),
        highlighted="3",
        seriousness=Seriousness(hospitalisation=True, other_medically_important=True),
        start=PartialDate(2026, 10, 2), end=PartialDate(2026, 10, 9), outcome="1",
        medically_confirmed=True, country="US",
    )
    r2 = Reaction(
        id="7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6",
        verbatim="very tired", verbatim_language="eng",
        coding=CodedTerm(code="10016256", version="27.1", family="MedDRA", level="LLT"),
        seriousness=Seriousness(), start=PartialDate(2026, 10), outcome="3", country="US",
    )
    suspect = Drug(
        id="5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", role="1", name="Warfarin sodium 5 mg tablets",
        substances=[Substance(name="WARFARIN SODIUM", term_id="6153CWM0CL",
                              strength=Quantity(5, "mg"))],
        country_obtained="US", authorisation_number="ANDA040416", authorisation_country="US",
        authorisation_holder="Generic Pharma Inc.",
        dosages=[Dosage(dose=Quantity(5, "mg"), number_of_units=1, interval=Quantity(None, "d"),
                        start=PartialDate(2026, 9, 1), end=PartialDate(2026, 10, 3),
                        batch_lot="LOT-2231A", dose_form="tablet", route="oral",
                        route_termid="C38288", route_termid_system="0.4.0.127.0.16.1.1.2.6")],
        indications=[CodedTerm(verbatim="atrial fibrillation", code="10003658", version="27.1")],
        action_taken="1",
        reactions=[
            DrugReaction(reaction_id=r1.id, assessments=[
                Assessment(source="Primary source reporter", method="Global Introspection",
                           result="Related"),
                Assessment(source="Sponsor", method="WHO-UMC", result="Probable")]),
            DrugReaction(reaction_id=r2.id, assessments=[
                Assessment(source="Primary source reporter", method="Global Introspection",
                           result="Not related")]),
        ],
    )
    concomitant = Drug(
        id="9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1", role="2", name="Amiodarone 200 mg",
        substances=[Substance(name="AMIODARONE HYDROCHLORIDE")],
        dosages=[Dosage(text="200 mg once daily", start=PartialDate(2025))],
        indications=[CodedTerm(verbatim="arrhythmia")], action_taken="4",
    )
    return CaseVersionData(
        admin=Admin(
            sender_safety_report_id="US-SAFETYDESK-000123",
            creation_date=PartialDate(2026, 11, 20, 9, 30, 0, 0),
            report_type="1",
            first_received=PartialDate(2026, 10, 10),
            most_recent_received=PartialDate(2026, 10, 10),
            additional_documents=False, fulfils_expedited=True,
            worldwide_case_id="US-SAFETYDESK-000123", first_sender="2",
            other_case_ids_exist=NullFlavor.NI,
            fda_combination_product=False, fda_local_criteria_report_type="1",
        ),
        reporters=[Reporter(title="Dr", given_name="Ana", family_name="Lopez",
                            organisation="Mercy Clinic", street="1 Main St", city="Springfield",
                            state="IL", postcode="62701", telephone="2175550100", country="US",
                            qualification="1", primary_for_regulatory=True,
                            email="ana.lopez@example.org")],
        sender=Sender(type="1", organisation="SafetyDesk Pharma", department="Pharmacovigilance",
                      title="Mr", given_name="Sam", fax="6175550198", family_name="Reed",
                      street="2 Safety Way",
                      city="Boston", state="MA", postcode="02110", country="US",
                      telephone="6175550199", email="pv@example.com"),
        patient=Patient(
            initials="JD", birth_date=PartialDate(1950, 4, 12), age_at_onset=Quantity(76, "a"),
            age_group="6", weight_kg=81.5, height_cm=178, sex="1",
            medical_history=[MedicalHistory(
                condition=CodedTerm(code="10003658", version="27.1"),
                start=PartialDate(2019), continuing=True)],
            medical_history_text="Atrial fibrillation since 2019; no known allergies.",
            past_drugs=[PastDrug(name="Aspirin", start=PartialDate(2015), end=PartialDate(2019),
                                 indication=CodedTerm(code="10003658", version="27.1"))],
            fda_race=["C41261"], fda_ethnicity="C41222",
            death=None,
        ),
        reactions=[r1, r2],
        tests=[TestResult(date=PartialDate(2026, 10, 2), name="INR",
                          coding=CodedTerm(code="10022402", version="27.1"), value=6.8,
                          unit="{INR}", normal_low="2", normal_high="3",
                          comments="measured at admission")],
        drugs=[suspect, concomitant],
        narrative=Narrative(
            narrative="A 76-year-old man on warfarin started amiodarone and developed gum "
                      "bleeding with INR 6.8; admitted, warfarin withdrawn, recovered.",
            reporter_comments="Likely interaction with amiodarone.",
            sender_comments="Known interaction; labelled.",
            sender_diagnosis=[CodedTerm(code="10022402", version="27.1")],
        ),
    )


def sample_fatal_case() -> CaseVersionData:
    """The sample with a fatal outcome, to exercise section D.9."""
    case = sample_case()
    case.reactions[0].seriousness.death = True
    case.reactions[0].outcome = "5"
    case.patient.death = Death(date=PartialDate(2026, 10, 9),
                               reported_causes=[CodedTerm(verbatim="bleeding from the gums",
                                                          code="10018276", version="27.1")],
                               autopsy_done=False)
    return case


def sample_full_case() -> CaseVersionData:
    """The fatal sample from a clinical trial, with every optional section filled in."""
    c = sample_fatal_case()
    a = c.admin
    a.report_type = "2"
    a.documents = [Document(title="Discharge summary")]
    a.additional_documents = True
    a.other_case_ids_exist = True
    a.other_case_ids = [OtherCaseId(source="Partner Pharma", case_id="PP-123")]
    a.linked_report_ids = ["US-SAFETYDESK-000100"]
    c.literature = [Document(reference="Smith J, et al. Warfarin and amiodarone. Lancet. "
                                       "2026;1:1-2.")]
    c.narrative.summaries = [Summary(text="Resumen del caso", language="es")]
    c.patient.gp_record_number = "GP-1"
    c.patient.investigation_number = "SUBJ-7"
    death = c.patient.death
    assert death is not None  # set by sample_fatal_case
    death.autopsy_done = True
    death.autopsy_causes = [
        CodedTerm(verbatim="bleeding from the gums", code="10018276", version="27.1")]
    c.patient.parent = Parent(
        identification="Mother", birth_date=PartialDate(1980, 1, 2), age=Quantity(45, "a"),
        weight_kg=60, height_cm=165, sex="2",
        medical_history=[MedicalHistory(condition=CodedTerm(code="10012601", version="27.1"),
                                        start=PartialDate(2010), comments="type 2")],
        medical_history_text="none else",
        past_drugs=[PastDrug(name="Metformin", start=PartialDate(2010))],
    )
    c.study = Study(registrations=[StudyRegistration(number="EU-CT-2025-0001", country="DE")],
                    name="TRIAL-1", sponsor_study_number="SP-1", study_type="1")
    c.tests += [
        TestResult(date=PartialDate(2026, 10, 3), name="Platelets",
                   coding=CodedTerm(code="10035528", version="27.1"), value=100,
                   value_qualifier="<", unit="10*9/L", result_code="3",
                   more_info_available=True),
        TestResult(date=PartialDate(2026, 10, 4), name="Chest X-ray",
                   coding=CodedTerm(code="10008496", version="27.1"),
                   result_text="no infiltrates"),
    ]
    d = c.drugs[0]
    d.investigational = False
    d.cumulative_dose = Quantity(150, "mg")
    d.additional_info = "taken with food"
    d.additional_info_codes = ["1"]
    d.reactions[0].start_interval = Quantity(31, "d")
    d.reactions[0].recurrence = "4"
    d.dosages[0].parent_route = "oral"
    d.dosages[0].duration = Quantity(33, "d")
    c.reactions[0].duration = Quantity(7, "d")
    return c

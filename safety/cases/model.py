"""The case model: one immutable snapshot of everything known about a case at one version.

The structure follows the sections of ICH E2B(R3) (IG v5.02) so that export to XML is a mapping
and import from XML is its inverse: C administrative and reporter information, D patient,
E reactions, F tests, G drugs (with G.k.9 drug-reaction assessments), H narrative. Each field
names its data element number in a comment-free way: the field's docstring-like name plus the
``E2B`` mapping in ``safety.e2b``.

Conventions shared by every field:
- ``None`` means *absent*; a :class:`~safety.cases.values.NullFlavor` means *null-flavoured*.
- Dates are :class:`~safety.cases.values.PartialDate` and keep their reported precision.
- Codes are kept as E2B code values (strings), e.g. sex ``"1"`` male, ``"2"`` female.
- Reactions and drugs carry a stable ``id`` (a UUID string) so drug-reaction links (G.k.9.i)
  survive follow-ups and E2B round trips.
"""

import pickle
import uuid
from dataclasses import dataclass, field
from typing import TypeAlias

from safety.cases.values import NullFlavor, PartialDate

Text: TypeAlias = str | NullFlavor | None
Date: TypeAlias = PartialDate | NullFlavor | None
Flag: TypeAlias = bool | NullFlavor | None
Number: TypeAlias = float | NullFlavor | None


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class Quantity:
    """A value with a UCUM unit (E2B PQ), e.g. dose ``Quantity(500, "mg")``."""

    value: float | None = None
    unit: str | None = None


@dataclass(slots=True)
class CodedTerm:
    """A verbatim term and the dictionary code chosen for it.

    The verbatim is never changed by coding. ``family``/``version`` identify the dictionary
    release (e.g. ``MedDRA`` ``27.1``; ``SafetyDesk-open`` ``2026.11``) so that a recode after
    a new release can tell exactly what changed.
    """

    verbatim: Text = None
    code: str | None = None
    term: str | None = None
    level: str | None = None  # LLT, PT, ... or "substance"
    family: str | None = None
    version: str | None = None
    pt_code: str | None = None
    pt_term: str | None = None
    soc_code: str | None = None
    soc_term: str | None = None
    method: str | None = None  # exact, synonym, fuzzy, manual, e2b
    score: float | None = None
    auto: bool | None = None
    confirmed_by: str | None = None


# ---------------------------------------------------------------------------------------------
# C: administrative information, primary sources, sender, literature, study
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class OtherCaseId:
    """C.1.9.1.r: case identifiers this case carries from other senders."""

    source: Text = None  # C.1.9.1.r.1
    case_id: Text = None  # C.1.9.1.r.2


@dataclass(slots=True)
class Document:
    """C.1.6.1.r / C.4.r: a document held by the sender (with optional inline text)."""

    title: Text = None
    reference: Text = None  # C.4.r.1 literature reference (Vancouver style)
    media_type: str | None = None
    content_b64: str | None = None


@dataclass(slots=True)
class Admin:
    """C.1: identification of the case safety report."""

    sender_safety_report_id: Text = None  # C.1.1
    creation_date: Date = None  # C.1.2
    report_type: str | None = None  # C.1.3: 1 spontaneous, 2 study, 3 other, 4 not available
    first_received: Date = None  # C.1.4: date report first received from source
    most_recent_received: Date = None  # C.1.5: most recent information
    additional_documents: Flag = None  # C.1.6.1
    documents: list[Document] = field(default_factory=list)  # C.1.6.1.r
    fulfils_expedited: Flag = None  # C.1.7
    worldwide_case_id: Text = None  # C.1.8.1
    first_sender: str | None = None  # C.1.8.2: 1 regulator, 2 other
    other_case_ids_exist: Flag = None  # C.1.9.1
    other_case_ids: list[OtherCaseId] = field(default_factory=list)  # C.1.9.1.r
    linked_report_ids: list[str] = field(default_factory=list)  # C.1.10.r
    nullification_code: str | None = None  # C.1.11.1: 1 nullification, 2 amendment
    nullification_reason: Text = None  # C.1.11.2
    fda_combination_product: Flag = None  # FDA.C.1.12
    fda_local_criteria_report_type: str | None = None  # FDA.C.1.7.1


@dataclass(slots=True)
class Reporter:
    """C.2.r: a primary source (the person who reported the event)."""

    title: Text = None  # C.2.r.1.1
    given_name: Text = None  # C.2.r.1.2
    middle_name: Text = None  # C.2.r.1.3
    family_name: Text = None  # C.2.r.1.4
    organisation: Text = None  # C.2.r.2.1
    department: Text = None  # C.2.r.2.2
    street: Text = None  # C.2.r.2.3
    city: Text = None  # C.2.r.2.4
    state: Text = None  # C.2.r.2.5
    postcode: Text = None  # C.2.r.2.6
    telephone: Text = None  # C.2.r.2.7
    country: Text = None  # C.2.r.3 (ISO 3166-1 alpha-2)
    qualification: str | NullFlavor | None = None  # C.2.r.4: 1 physician ... 5 consumer
    primary_for_regulatory: bool | None = None  # C.2.r.5
    email: Text = None  # FDA.C.2.r.2.8


@dataclass(slots=True)
class Sender:
    """C.3: the organisation sending the report (us, for exports)."""

    type: str | None = None  # C.3.1: 1 pharma company, 2 regulator, ...
    organisation: Text = None  # C.3.2
    department: Text = None  # C.3.3.1
    title: Text = None  # C.3.3.2
    given_name: Text = None  # C.3.3.3
    middle_name: Text = None  # C.3.3.4
    family_name: Text = None  # C.3.3.5
    street: Text = None  # C.3.4.1
    city: Text = None  # C.3.4.2
    state: Text = None  # C.3.4.3
    postcode: Text = None  # C.3.4.4
    country: Text = None  # C.3.4.5
    telephone: Text = None  # C.3.4.6
    fax: Text = None  # C.3.4.7
    email: Text = None  # C.3.4.8


@dataclass(slots=True)
class StudyRegistration:
    """C.5.1.r: study registration number and country."""

    number: Text = None
    country: Text = None


@dataclass(slots=True)
class Study:
    """C.5: study identification (for reports from studies)."""

    registrations: list[StudyRegistration] = field(default_factory=list)  # C.5.1.r
    name: Text = None  # C.5.2
    sponsor_study_number: Text = None  # C.5.3
    study_type: str | None = None  # C.5.4: 1 clinical trial, 2 individual use, 3 other
    fda_ind_number: Text = None  # FDA.C.5.5a
    fda_pre_anda_number: Text = None  # FDA.C.5.5b
    # FDA.C.5.6.r: nullFlavor NA when an IND is given (FDA.C.5.5a) but no other IND is
    # cross-reported (FDA rejection rule R0026)
    fda_cross_reported_inds: list[str | NullFlavor] = field(default_factory=list)
    site_id: str | None = None  # investigator site (not an E2B element; kept for scoping)


# ---------------------------------------------------------------------------------------------
# D: patient
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MedicalHistory:
    """D.7.1.r: relevant medical history and concurrent conditions."""

    condition: CodedTerm = field(default_factory=CodedTerm)  # D.7.1.r.1a/b
    start: Date = None  # D.7.1.r.2
    continuing: Flag = None  # D.7.1.r.3
    end: Date = None  # D.7.1.r.4
    comments: Text = None  # D.7.1.r.5
    family_history: bool | None = None  # D.7.1.r.6


@dataclass(slots=True)
class PastDrug:
    """D.8.r: relevant past drug history."""

    name: Text = None  # D.8.r.1
    mpid: str | None = None  # D.8.r.2
    phpid: str | None = None  # D.8.r.3
    start: Date = None  # D.8.r.4
    end: Date = None  # D.8.r.5
    indication: CodedTerm = field(default_factory=CodedTerm)  # D.8.r.6
    reaction: CodedTerm = field(default_factory=CodedTerm)  # D.8.r.7
    mpid_version: str | None = None  # D.8.r.2a (MPID version date/number)
    mpid_system: str | None = None  # code system OID of D.8.r.2b (e.g. NDC 2.16.840.1.113883.6.69)


@dataclass(slots=True)
class Death:
    """D.9: in case of death."""

    date: Date = None  # D.9.1
    reported_causes: list[CodedTerm] = field(default_factory=list)  # D.9.2.r
    autopsy_done: Flag = None  # D.9.3
    autopsy_causes: list[CodedTerm] = field(default_factory=list)  # D.9.4.r


@dataclass(slots=True)
class Parent:
    """D.10: for a parent-child/foetus report, information about the parent."""

    identification: Text = None  # D.10.1
    birth_date: Date = None  # D.10.2.1
    age: Quantity | None = None  # D.10.2.2
    last_menstrual_period: Date = None  # D.10.3
    weight_kg: Number = None  # D.10.4
    height_cm: Number = None  # D.10.5
    sex: str | NullFlavor | None = None  # D.10.6
    medical_history: list[MedicalHistory] = field(default_factory=list)  # D.10.7.1.r
    medical_history_text: Text = None  # D.10.7.2
    past_drugs: list[PastDrug] = field(default_factory=list)  # D.10.8.r


@dataclass(slots=True)
class Patient:
    """D: patient characteristics."""

    initials: Text = None  # D.1 (name or initials)
    gp_record_number: Text = None  # D.1.1.1
    specialist_record_number: Text = None  # D.1.1.2
    hospital_record_number: Text = None  # D.1.1.3
    investigation_number: Text = None  # D.1.1.4 (trial subject id)
    birth_date: Date = None  # D.2.1
    age_at_onset: Quantity | None = None  # D.2.2a/b (unit a UCUM code: a, mo, wk, d, h)
    gestation_period: Quantity | None = None  # D.2.2.1a/b
    age_group: str | NullFlavor | None = None  # D.2.3: 0 foetus ... 6 elderly
    weight_kg: Number = None  # D.3
    height_cm: Number = None  # D.4
    sex: str | NullFlavor | None = None  # D.5: 1 male, 2 female
    last_menstrual_period: Date = None  # D.6
    medical_history: list[MedicalHistory] = field(default_factory=list)  # D.7.1.r
    medical_history_text: Text = None  # D.7.2
    concomitant_therapies: Flag = None  # D.7.3
    past_drugs: list[PastDrug] = field(default_factory=list)  # D.8.r
    death: Death | None = None  # D.9
    parent: Parent | None = None  # D.10
    fda_race: list[str | NullFlavor] = field(default_factory=list)  # FDA.D.11.r
    fda_ethnicity: str | NullFlavor | None = None  # FDA.D.12


# ---------------------------------------------------------------------------------------------
# E: reactions/events
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Seriousness:
    """E.i.3.2: seriousness criteria at event level (ICH E2A), plus FDA's intervention flag.

    Each criterion is ``True`` when met, ``False``/``None`` when not, or a null flavour.
    """

    death: Flag = None  # E.i.3.2a
    life_threatening: Flag = None  # E.i.3.2b
    hospitalisation: Flag = None  # E.i.3.2c (caused or prolonged)
    disability: Flag = None  # E.i.3.2d
    congenital_anomaly: Flag = None  # E.i.3.2e
    other_medically_important: Flag = None  # E.i.3.2f
    required_intervention: Flag = None  # FDA.E.i.3.2h

    def any(self) -> bool:
        return any(
            v is True
            for v in (
                self.death, self.life_threatening, self.hospitalisation, self.disability,
                self.congenital_anomaly, self.other_medically_important,
                self.required_intervention,
            )
        )


@dataclass(slots=True)
class Reaction:
    """E.i: one reaction/event as reported, with its coding and seriousness."""

    id: str = field(default_factory=new_id)
    verbatim: Text = None  # E.i.1.1a (reporter's words, never changed)
    verbatim_language: str | None = None  # E.i.1.1b
    translation: Text = None  # E.i.1.2
    coding: CodedTerm | None = None  # E.i.2.1a/b (MedDRA LLT code + version)
    highlighted: str | None = None  # E.i.3.1: 1..4
    seriousness: Seriousness = field(default_factory=Seriousness)  # E.i.3.2
    start: Date = None  # E.i.4
    end: Date = None  # E.i.5
    duration: Quantity | None = None  # E.i.6
    outcome: str | NullFlavor | None = None  # E.i.7: 0 unknown, 1 recovered ... 5 fatal
    medically_confirmed: Flag = None  # E.i.8
    country: Text = None  # E.i.9
    ctcae_grade: int | None = None  # site form; not an E2B element


# ---------------------------------------------------------------------------------------------
# F: tests and procedures
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TestResult:
    """F.r: results of tests and procedures relevant to the investigation."""

    date: Date = None  # F.r.1
    name: Text = None  # F.r.2.1
    coding: CodedTerm | None = None  # F.r.2.2a/b
    result_code: str | NullFlavor | None = None  # F.r.3.1: 1 positive ... 4 inconclusive
    value: Number = None  # F.r.3.2
    value_qualifier: str | None = None  # F.r.3.2 (e.g. "<", ">")
    unit: str | None = None  # F.r.3.3
    result_text: Text = None  # F.r.3.4
    normal_low: Text = None  # F.r.4
    normal_high: Text = None  # F.r.5
    comments: Text = None  # F.r.6
    more_info_available: bool | None = None  # F.r.7


# ---------------------------------------------------------------------------------------------
# G: drugs
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Substance:
    """G.k.2.3.r: substance/specified substance name and strength."""

    name: Text = None  # G.k.2.3.r.1
    term_id: str | None = None  # G.k.2.3.r.2a/b (e.g. UNII)
    term_id_version: str | None = None
    strength: Quantity | None = None  # G.k.2.3.r.3a/b
    term_id_system: str | None = None  # code system OID of G.k.2.3.r.2b (UNII when absent)


@dataclass(slots=True)
class Dosage:
    """G.k.4.r: dosage and relevant information."""

    dose: Quantity | None = None  # G.k.4.r.1a/b
    number_of_units: float | None = None  # G.k.4.r.2
    interval: Quantity | None = None  # G.k.4.r.3 (definition of the time interval unit)
    start: Date = None  # G.k.4.r.4
    end: Date = None  # G.k.4.r.5
    duration: Quantity | None = None  # G.k.4.r.6a/b
    batch_lot: Text = None  # G.k.4.r.7
    text: Text = None  # G.k.4.r.8 (dosage text)
    dose_form: Text = None  # G.k.4.r.9.1
    dose_form_termid: str | None = None  # G.k.4.r.9.2a/b
    route: Text = None  # G.k.4.r.10.1 (free text)
    route_termid: str | None = None  # G.k.4.r.10.2a/b
    parent_route: Text = None  # G.k.4.r.11.1
    parent_route_termid: str | None = None  # G.k.4.r.11.2a/b
    route_termid_version: str | None = None  # G.k.4.r.10.2a
    route_termid_system: str | None = None  # code system OID of G.k.4.r.10.2b
    dose_form_termid_version: str | None = None  # G.k.4.r.9.2a
    dose_form_termid_system: str | None = None  # code system OID of G.k.4.r.9.2b (EDQM)
    parent_route_termid_version: str | None = None  # G.k.4.r.11.2a
    parent_route_termid_system: str | None = None  # code system OID of G.k.4.r.11.2b (EDQM)


@dataclass(slots=True)
class Assessment:
    """G.k.9.i.2.r: one assessment of relatedness of this drug to one reaction."""

    source: Text = None  # G.k.9.i.2.r.1 (e.g. "Investigator", "Sponsor")
    method: Text = None  # G.k.9.i.2.r.2 (e.g. "WHO-UMC", "Naranjo")
    result: Text = None  # G.k.9.i.2.r.3 (e.g. "Related", "Probable")


@dataclass(slots=True)
class DrugReaction:
    """G.k.9.i: the matrix cell linking this drug to a reaction by the reaction's id."""

    reaction_id: str = ""  # G.k.9.i.1 (UUID of E.i)
    start_interval: Quantity | None = None  # G.k.9.i.3.1
    end_interval: Quantity | None = None  # G.k.9.i.3.2
    assessments: list[Assessment] = field(default_factory=list)  # G.k.9.i.2.r
    recurrence: str | NullFlavor | None = None  # G.k.9.i.4: 1 yes-yes, 2 yes-no, 3 yes-unk, 4 no


@dataclass(slots=True)
class FdaDevice:
    """FDA.G.k.12.r: a device constituent part of a combination product (FDA regional)."""

    malfunction: bool | None = None  # FDA.G.k.12.r.1
    follow_up_types: list[str] = field(default_factory=list)  # FDA.G.k.12.r.2.r
    problem_codes: list[str] = field(default_factory=list)  # FDA.G.k.12.r.3.r
    brand_name: Text = None  # FDA.G.k.12.r.4
    common_name: Text = None  # FDA.G.k.12.r.5
    product_code: str | None = None  # FDA.G.k.12.r.6
    manufacturer_name: str | None = None  # FDA.G.k.12.r.7.1a
    manufacturer_street: str | None = None  # FDA.G.k.12.r.7.1b
    manufacturer_city: str | None = None  # FDA.G.k.12.r.7.1c
    manufacturer_state: str | None = None  # FDA.G.k.12.r.7.1d
    manufacturer_country: str | None = None  # FDA.G.k.12.r.7.1e
    usage: str | None = None  # FDA.G.k.12.r.8
    lot_number: str | None = None  # FDA.G.k.12.r.9
    operator: str | None = None  # FDA.G.k.12.r.10
    remedial_actions: list[str] = field(default_factory=list)  # FDA.G.k.12.r.11.r


@dataclass(slots=True)
class Drug:
    """G.k: one drug taken by the patient (suspect, concomitant, interacting, not given)."""

    id: str = field(default_factory=new_id)
    role: str = "1"  # G.k.1: 1 suspect, 2 concomitant, 3 interacting, 4 drug not administered
    mpid: str | None = None  # G.k.2.1.1a/b
    phpid: str | None = None  # G.k.2.1.2a/b
    name: Text = None  # G.k.2.2 (medicinal product name as reported)
    coding: CodedTerm | None = None  # substance coding (UNII / WHODrug)
    substances: list[Substance] = field(default_factory=list)  # G.k.2.3.r
    country_obtained: Text = None  # G.k.2.4
    investigational: bool | None = None  # G.k.2.5
    authorisation_number: Text = None  # G.k.3.1
    authorisation_country: Text = None  # G.k.3.2
    authorisation_holder: Text = None  # G.k.3.3
    dosages: list[Dosage] = field(default_factory=list)  # G.k.4.r
    cumulative_dose: Quantity | None = None  # G.k.5a/b
    gestation_exposure: Quantity | None = None  # G.k.6a/b
    indications: list[CodedTerm] = field(default_factory=list)  # G.k.7.r
    action_taken: str | NullFlavor | None = None  # G.k.8: 1 withdrawn ... 4 not changed, 0 unk
    reactions: list[DrugReaction] = field(default_factory=list)  # G.k.9.i
    additional_info_codes: list[str] = field(default_factory=list)  # G.k.10.r
    additional_info: Text = None  # G.k.11
    fda_additional_info_codes: list[str] = field(default_factory=list)  # FDA.G.k.10a
    mpid_version: str | None = None  # G.k.2.1.1a (MPID version date/number)
    mpid_system: str | None = None  # code system OID of G.k.2.1.1b (NDC 2.16.840.1.113883.6.69)
    fda_other_role: str | None = None  # FDA.G.k.1.a: 1 similar device
    fda_devices: list[FdaDevice] = field(default_factory=list)  # FDA.G.k.12.r
    fda_specialized_category: str | None = None  # FDA.G.k.10.1 (NCIt C102834..C102842)


# ---------------------------------------------------------------------------------------------
# H: narrative
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Summary:
    """H.5.r: case summary and reporter's comments in the native language."""

    text: Text = None
    language: str | None = None


@dataclass(slots=True)
class Narrative:
    """H: narrative case summary and further information."""

    narrative: Text = None  # H.1
    reporter_comments: Text = None  # H.2
    sender_diagnosis: list[CodedTerm] = field(default_factory=list)  # H.3.r
    sender_comments: Text = None  # H.4
    summaries: list[Summary] = field(default_factory=list)  # H.5.r


# ---------------------------------------------------------------------------------------------
# The sponsor's medical review (not E2B elements: what the physician concluded, with who and why)
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PairReview:
    """The sponsor's assessment of one event x suspect drug.

    Causality is also written to the drug's G.k.9.i.2.r (source "Sponsor") so that it is
    exported and read by the rules like any other assessment; the questionnaire, the
    expectedness decision and who made them are kept here.
    """

    reaction_id: str = ""
    drug_id: str = ""
    causality_method: str | None = None  # WHO-UMC, Naranjo, Sponsor binary
    causality_result: str | None = None  # e.g. "Probable", "6 (probable)", "Related"
    naranjo_answers: list[str] = field(default_factory=list)  # the ten answers, when Naranjo
    rsi_reference: str | None = None  # "IB" or "label:US": the RSI the event was assessed on
    rsi_version: str | None = None  # the RSI version chosen
    expected_computed: bool | None = None  # what the RSI says for the coded PT
    expected: bool | None = None  # the sponsor's answer (an override when it differs)
    expectedness_reason: str | None = None  # required for an override
    assessed_by: str | None = None
    assessed_at: str | None = None  # ISO 8601 instant in UTC
    # When the sponsor's causality last changed its reading (related / not related): the day
    # the sponsor determined it; a re-assessment to the same reading keeps it.
    determined_at: str | None = None


@dataclass(slots=True)
class SeriousnessReview:
    """The sponsor's seriousness of one event; E.i.3.2 carries the result, this the why."""

    reaction_id: str = ""
    reported: list[str] = field(default_factory=list)  # criteria as reported
    criteria: list[str] = field(default_factory=list)  # criteria as the sponsor assessed
    reason: str | None = None
    assessed_by: str | None = None
    assessed_at: str | None = None


@dataclass(slots=True)
class SponsorReview:
    pairs: list[PairReview] = field(default_factory=list)
    seriousness: list[SeriousnessReview] = field(default_factory=list)

    def pair(self, reaction_id: str, drug_id: str) -> PairReview | None:
        return next((p for p in self.pairs
                     if p.reaction_id == reaction_id and p.drug_id == drug_id), None)


# ---------------------------------------------------------------------------------------------
# The snapshot
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class CodeListVersion:
    """The version of an ICH code list a message declared (``codeSystemVersion``).

    Kept so that a re-export says which release of the list the sender's codes come from;
    the writer puts it on every code of that list.
    """

    code_system: str = ""  # the list's OID, e.g. 2.16.840.1.113883.3.989.2.1.1.19
    version: str = ""  # e.g. "1.1"


@dataclass(slots=True)
class CaseVersionData:
    """Everything known about a case at one version: the unit of review, rules and export."""

    admin: Admin = field(default_factory=Admin)
    reporters: list[Reporter] = field(default_factory=list)
    sender: Sender = field(default_factory=Sender)
    literature: list[Document] = field(default_factory=list)  # C.4.r
    study: Study | None = None
    patient: Patient = field(default_factory=Patient)
    reactions: list[Reaction] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    drugs: list[Drug] = field(default_factory=list)
    narrative: Narrative = field(default_factory=Narrative)
    awareness_date: Date = None  # when the sender (site) became aware; not an E2B element
    code_list_versions: list[CodeListVersion] = field(default_factory=list)  # as declared
    sponsor_review: SponsorReview | None = None  # the sponsor's assessments (not E2B)

    def suspect_drugs(self) -> list[Drug]:
        return [d for d in self.drugs if d.role in ("1", "3")]

    def reaction(self, reaction_id: str) -> Reaction | None:
        return next((r for r in self.reactions if r.id == reaction_id), None)

    def is_serious(self) -> bool:
        return any(r.seriousness.any() for r in self.reactions)


def copied(data: CaseVersionData) -> CaseVersionData:
    """A deep copy of a case, the caller's to change: what ``copy.deepcopy`` gives (every
    object new, the shared ones shared in the copy alike; enum members and other immutable
    values kept), by a pickle round trip, which does the same walk in C and takes about a
    third of the time (a report's job copies its case once per message drafted; issue 20)."""
    copy: CaseVersionData = pickle.loads(pickle.dumps(data, pickle.HIGHEST_PROTOCOL))
    return copy

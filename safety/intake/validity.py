"""The four minimum criteria of a valid case.

ICH E2D (R1) section 5.1 / ICH E2A III.A and EU GVP Module VI.B.2: an individual case is
reportable only when it has (1) an identifiable reporter, (2) an identifiable patient, (3) at
least one suspect medicinal product and (4) at least one adverse event/reaction. A report that
lacks one is not discarded: it is held, and the sender is asked for the missing information.

"Identifiable" means the existence of the person is verifiable from at least one qualifier
(initials, age or age group, sex, date of birth, a record or subject number for the patient;
name, qualification, organisation or contact details for the reporter). A *masked* value
(null flavour MSK, withheld for privacy) still proves the person exists; "unknown" does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from safety.cases.model import CaseVersionData
from safety.cases.values import NullFlavor


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    criterion: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "criterion": self.criterion, "message": self.message}


def _known(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, NullFlavor):
        return value is NullFlavor.MSK
    if isinstance(value, str):
        return bool(value.strip())
    return True


def patient_identifiable(case: CaseVersionData) -> bool:
    p = case.patient
    qualifiers = (
        p.initials, p.gp_record_number, p.specialist_record_number, p.hospital_record_number,
        p.investigation_number, p.birth_date, p.age_group, p.sex,
        p.age_at_onset.value if p.age_at_onset else None,
    )
    return any(_known(v) for v in qualifiers)


def reporter_identifiable(case: CaseVersionData) -> bool:
    for r in case.reporters:
        qualifiers = (r.given_name, r.family_name, r.organisation, r.qualification,
                      r.telephone, r.email, r.street, r.city)
        if any(_known(v) for v in qualifiers):
            return True
    return False


def has_suspect_product(case: CaseVersionData) -> bool:
    return any(_known(d.name) or d.substances for d in case.suspect_drugs())


def has_adverse_event(case: CaseVersionData) -> bool:
    return any(_known(r.verbatim) or (r.coding and r.coding.code) for r in case.reactions)


def minimum_criteria(case: CaseVersionData) -> list[Finding]:
    """The criteria the case does not meet; an empty list means a valid case."""
    findings = []
    if not patient_identifiable(case):
        findings.append(Finding(
            "missing_patient", "identifiable patient",
            "No patient qualifier (initials, subject id, sex, birth date or age) was given.",
        ))
    if not reporter_identifiable(case):
        findings.append(Finding(
            "missing_reporter", "identifiable reporter",
            "No reporter qualifier (name, qualification, organisation or contact) was given.",
        ))
    if not has_suspect_product(case):
        findings.append(Finding(
            "missing_suspect_product", "suspect product",
            "No suspect or interacting drug was named.",
        ))
    if not has_adverse_event(case):
        findings.append(Finding(
            "missing_adverse_event", "adverse event",
            "No adverse event or reaction was described.",
        ))
    return findings

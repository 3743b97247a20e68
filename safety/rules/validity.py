"""Minimum criteria of a valid case (ICH E2D section 4.1; GVP Module VI.B.2).

A case is reportable only with an identifiable reporter, an identifiable patient, at least one
suspect product and at least one adverse event. Below that, there is no day 0 yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from safety.cases.model import CaseVersionData, Patient, Reporter
from safety.cases.values import NullFlavor


@dataclass(frozen=True, slots=True)
class Validity:
    valid: bool
    missing: tuple[str, ...]


def _present(v: object) -> bool:
    return v is not None and not isinstance(v, NullFlavor) and v != ""


def _reporter_identifiable(r: Reporter) -> bool:
    return any(
        _present(v)
        for v in (r.given_name, r.family_name, r.organisation, r.qualification, r.country,
                  r.email, r.telephone, r.city, r.postcode)
    )


def _patient_identifiable(p: Patient) -> bool:
    return any(
        _present(v)
        for v in (p.initials, p.birth_date, p.age_at_onset, p.age_group, p.sex,
                  p.investigation_number, p.gp_record_number, p.hospital_record_number,
                  p.specialist_record_number)
    )


def check_validity(case: CaseVersionData) -> Validity:
    missing = []
    if not any(_reporter_identifiable(r) for r in case.reporters):
        missing.append("identifiable reporter (C.2.r)")
    if not _patient_identifiable(case.patient):
        missing.append("identifiable patient (D.1/D.2/D.5)")
    if not case.suspect_drugs():
        missing.append("suspect or interacting product (G.k.1 = 1 or 3)")
    if not case.reactions:
        missing.append("adverse event (E.i)")
    return Validity(valid=not missing, missing=tuple(missing))

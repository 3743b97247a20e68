"""Turn a case version into the case an E2B message is written from, for one obligation.

The case version is what was reported; a transmission adds what only the sender knows at
sending time: the creation date (C.1.2), whether this report fulfils the local expedited
criteria (C.1.7, FDA.C.1.7.1), our sender block (C.3), and explicit answers where the regulator
wants an answer rather than silence (C.1.6.1, C.1.9.1, FDA.C.1.12; NASK for the FDA race,
ethnicity and reporter e-mail that a trial SAE form does not ask, "no other IND" for FDA
cross-reported INDs). Nothing reported is changed
except a birth date too imprecise to send (D.2.1 must be a full date), which is left out and
said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from safety.cases.model import CaseVersionData, CodedTerm, copied
from safety.cases.values import NullFlavor, PartialDate
from safety.sponsors.sender import SenderProfile

# MedDRA release of the codes in the bundled open dictionary: NCI CTCAE v5.0 carries MedDRA
# v20.1 LLT codes (dictionaries-src/ctcae_v5.csv, column meddra_version; dictionaries/README.md).
# E.i.2.1a wants the MedDRA version, not our dictionary build's version.
MEDDRA_VERSION_OF_FAMILY = {"SafetyDesk-open": "20.1", "MedDRA": None}

# FDA.C.1.7.1 Local Criteria Report Type (FDA Core and Regional Data Elements, C54588):
# 1 = 15-Day, 2 = Non-Expedited AE, 6 = 7-Day.
FDA_LOCAL_CRITERIA = {15: "1", 7: "6"}


@dataclass
class Prepared:
    case: CaseVersionData
    notes: list[str] = field(default_factory=list)


def prepare(data: CaseVersionData, *, region: str, days: int | None,
            sender: SenderProfile | None, now: datetime, in_place: bool = False) -> Prepared:
    """The case as the regulator's message carries it, with notes on what was changed or
    left out; a copy of ``data``, or ``data`` itself changed when ``in_place`` (a caller
    that gives it up saves the copy)."""
    case = data if in_place else copied(data)
    notes: list[str] = []
    a = case.admin
    a.creation_date = PartialDate.from_datetime(now)
    if a.additional_documents is None:
        a.additional_documents = bool(a.documents)
    expedited = days is not None and days <= 15
    a.fulfils_expedited = expedited
    if a.other_case_ids_exist is None:
        a.other_case_ids_exist = bool(a.other_case_ids)
    if sender is not None:
        case.sender = sender.to_sender()
    else:
        notes.append("the sponsor has no sender block, C.3 is empty: set it with `safety "
                     "sponsor configure CODE --sender FILE` or on its page under /admin/sponsors")
    p = case.patient
    if isinstance(p.birth_date, PartialDate) and not p.birth_date.is_full_date:
        notes.append(f"D.2.1 birth date {p.birth_date} is not a full date and is not sent"
                     " (E2B requires CCYYMMDD); age at onset (D.2.2) carries the age")
        p.birth_date = None
    for r in case.reactions:
        if r.outcome is None:
            r.outcome = "0"  # E.i.7: 0 = unknown; the site did not give one
    for term in _meddra_terms(case):
        version = MEDDRA_VERSION_OF_FAMILY.get(term.family or "")
        if version:
            term.version = version
    if region == "fda":
        # Ours, like C.1.7: a partner's report type (e.g. 5, 30-day) was theirs to send and
        # contradicts our C.1.7 (FDA rejection rule R0012).
        a.fda_local_criteria_report_type = FDA_LOCAL_CRITERIA.get(days or 0, "2")
        if a.fda_combination_product is None:
            a.fda_combination_product = False
        # FDA.D.11.r.1 / FDA.D.12: "appropriate nullFlavor must be used if not reportable";
        # the FDA table allows MSK, NA, OTH, UNK here (not NASK).
        if not p.fda_race:
            p.fda_race = [NullFlavor.UNK]
        if p.fda_ethnicity is None:
            p.fda_ethnicity = NullFlavor.UNK
        for rep in case.reporters:
            if rep.email is None:
                rep.email = NullFlavor.NASK
        # FDA.C.5.6.r: "If IND Number where AE Occurred (FDA.C.5.5a) is populated, then IND
        # number of cross reported IND is required. Use nullFlavor=NA if there are no other
        # cross reported IND" (FDA rejection rule R0026).
        study = case.study
        if study is not None and study.fda_ind_number and not study.fda_cross_reported_inds:
            study.fda_cross_reported_inds = [NullFlavor.NA]
    return Prepared(case, notes)


def _meddra_terms(case: CaseVersionData) -> list[CodedTerm]:
    terms = [r.coding for r in case.reactions if r.coding is not None]
    terms += [h.condition for h in case.patient.medical_history]
    terms += [i for d in case.drugs for i in d.indications]
    terms += list(case.narrative.sender_diagnosis)  # H.3.r, coded like the events
    return terms

"""Map a validated SAE form (the output of ``SAEFormSchema().load``) onto the case model.

Sites speak in their words ("hospitalisation", "dose_reduced"); the case model speaks E2B code
values. This is the one place that translates between them.
"""

from __future__ import annotations

from typing import Any

from safety.cases.model import (
    Assessment,
    CaseVersionData,
    CodedTerm,
    Death,
    Dosage,
    Drug,
    DrugReaction,
    MedicalHistory,
    Narrative,
    Patient,
    Quantity,
    Reaction,
    Reporter,
    Seriousness,
    Study,
    StudyRegistration,
    TestResult,
)
from safety.intake.schemas import ACTIONS_TAKEN, AGE_UNITS, OUTCOMES, QUALIFICATIONS, ROLES, SEX

# WHO-UMC categories and a plain related/not related both map to E2B free-text results; the
# binary reading used by the rules lives in safety.rules, not here.
CAUSALITY_TEXT = {
    "related": "Related",
    "not_related": "Not related",
    "certain": "Certain",
    "probable": "Probable/Likely",
    "possible": "Possible",
    "unlikely": "Unlikely",
    "conditional": "Conditional/Unclassified",
    "unassessable": "Unassessable/Unclassifiable",
}


def _code(table: dict[str, str], value: Any) -> Any:
    """Translate a site word to its E2B code, passing null flavours through unchanged."""
    return table[value] if isinstance(value, str) else value


def form_to_case(form: dict[str, Any]) -> CaseVersionData:
    case = CaseVersionData()
    case.admin.report_type = "2"  # C.1.3 "Report from study": site forms come from trials
    case.awareness_date = form["awareness_date"]

    study = form["study"]
    regs = []
    if study.get("registration_number"):
        regs.append(StudyRegistration(study["registration_number"],
                                      study.get("registration_country")))
    case.study = Study(
        registrations=regs,
        name=study.get("name"),
        sponsor_study_number=study["protocol_number"],
        study_type="1",  # C.5.4 clinical trial
        fda_ind_number=study.get("ind_number"),
        site_id=(form.get("site") or {}).get("number"),
    )
    site_country = (form.get("site") or {}).get("country")

    subj = form.get("subject") or {}
    age = subj.get("age")
    case.patient = Patient(
        initials=subj.get("initials"),
        investigation_number=subj.get("id"),
        birth_date=subj.get("birth_date"),
        age_at_onset=Quantity(age["value"], AGE_UNITS[age["unit"]]) if age else None,
        weight_kg=subj.get("weight_kg"),
        height_cm=subj.get("height_cm"),
        sex=_code(SEX, subj["sex"]) if "sex" in subj else None,
        medical_history=[
            MedicalHistory(
                condition=CodedTerm(verbatim=h["condition"]),
                start=h.get("start_date"),
                end=h.get("end_date"),
                continuing=h.get("continuing"),
                comments=h.get("comments"),
            )
            for h in form.get("medical_history", [])
        ],
    )

    rep = form.get("reporter") or {}
    if rep:
        case.reporters.append(
            Reporter(
                title=rep.get("title"),
                given_name=rep.get("given_name"),
                family_name=rep.get("family_name"),
                organisation=rep.get("organisation"),
                telephone=rep.get("telephone"),
                email=rep.get("email"),
                country=rep.get("country") or site_country,
                qualification=_code(QUALIFICATIONS, rep.get("qualification")),
                primary_for_regulatory=True,
            )
        )

    drug_by_ref: dict[str, Drug] = {}
    for d in form.get("drugs", []):
        dosage = Dosage(
            dose=Quantity(d["dose"]["value"], d["dose"]["unit"]) if d.get("dose") else None,
            start=d.get("start_date"),
            end=d.get("stop_date"),
            batch_lot=d.get("batch"),
            text=d.get("frequency"),
            route=d.get("route"),
        )
        has_dosage = any(
            v is not None for v in (dosage.dose, dosage.start, dosage.end, dosage.batch_lot,
                                    dosage.text, dosage.route)
        )
        drug = Drug(
            role=ROLES[d.get("role", "suspect")],
            name=d["name"],
            investigational=d.get("investigational"),
            dosages=[dosage] if has_dosage else [],
            indications=[CodedTerm(verbatim=d["indication"])] if d.get("indication") else [],
            action_taken=_code(ACTIONS_TAKEN, d.get("action_taken")),
        )
        if drug.role in ("1", "3") and (form.get("pregnancy") or {}).get("gestation_weeks"):
            drug.gestation_exposure = Quantity(form["pregnancy"]["gestation_weeks"], "wk")
        case.drugs.append(drug)
        drug_by_ref.setdefault(d["name"], drug)  # a causality may name the drug (schema)
        drug_by_ref[d.get("ref") or d["name"]] = drug

    death_date = (form.get("death") or {}).get("date")
    for e in form.get("events", []):
        criteria = set(e.get("seriousness", []))
        reaction = Reaction(
            verbatim=e["verbatim"],
            seriousness=Seriousness(
                death=True if "death" in criteria else None,
                life_threatening=True if "life_threatening" in criteria else None,
                hospitalisation=True if "hospitalisation" in criteria else None,
                disability=True if "disability" in criteria else None,
                congenital_anomaly=True if "congenital_anomaly" in criteria else None,
                other_medically_important=(
                    True if "other_medically_important" in criteria else None
                ),
                required_intervention=True if "required_intervention" in criteria else None,
            ),
            start=e.get("onset_date"),
            end=e.get("stop_date"),
            outcome=_code(OUTCOMES, e.get("outcome")),
            country=site_country,
            ctcae_grade=e.get("ctcae_grade"),
        )
        case.reactions.append(reaction)
        for c in e.get("causality", []):
            drug = drug_by_ref[c["drug"]]
            link = next((x for x in drug.reactions if x.reaction_id == reaction.id), None)
            if link is None:
                link = DrugReaction(reaction_id=reaction.id)
                drug.reactions.append(link)
            link.assessments.append(
                Assessment(source="Investigator", method=c["method"],
                           result=CAUSALITY_TEXT[c["assessment"]])
            )

    if form.get("death"):
        dth = form["death"]
        case.patient.death = Death(
            date=death_date,
            reported_causes=[CodedTerm(verbatim=dth["cause"])] if dth.get("cause") else [],
            autopsy_done=dth.get("autopsy"),
        )

    pregnancy = form.get("pregnancy") or {}
    if pregnancy.get("last_menstrual_period"):
        case.patient.last_menstrual_period = pregnancy["last_menstrual_period"]  # D.6

    case.tests = [
        TestResult(
            date=t.get("date"),
            name=t["name"],
            value=t.get("value"),
            unit=t.get("unit"),
            result_text=t.get("result_text"),
            normal_low=t.get("normal_low"),
            normal_high=t.get("normal_high"),
        )
        for t in form.get("lab_tests", [])
    ]
    case.narrative = Narrative(narrative=form.get("narrative"))
    return case

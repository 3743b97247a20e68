"""A seeded generator of realistic SAE forms from clinical trials.

The forms read like what sites send: lay and clinical verbatims, partial dates, missing
fields, several drugs with investigator causality, follow-ups that add information (outcome,
death, lab results) under the same SAE id, and the occasional form that misses a minimum
criterion. Same seed, same forms: tests and the demo rely on that.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any, TypedDict

# (name, dose, unit, route, frequency, indication)
DrugSpec = tuple[str, float, str, str, str, str]


class StudySpec(TypedDict):
    """A study the forms come from; everything but the drugs goes into the form's study."""

    protocol_number: str
    name: str
    registration_number: str
    registration_country: str
    ind_number: str | None
    suspect: DrugSpec
    co_suspect: DrugSpec | None


STUDIES: list[StudySpec] = [
    {"protocol_number": "ONC-301", "name": "Phase III study of pembrolizumab plus "
     "chemotherapy in metastatic non-small cell lung cancer", "registration_number":
     "2024-500123-12-00", "registration_country": "DE", "ind_number": "145678",
     "suspect": ("pembrolizumab", 200.0, "mg", "intravenous", "every 3 weeks",
                 "Non-small cell lung cancer"),
     "co_suspect": ("carboplatin", 450.0, "mg", "intravenous", "every 3 weeks",
                    "Non-small cell lung cancer")},
    {"protocol_number": "CARD-207", "name": "Randomised double-blind trial of apixaban "
     "versus warfarin after catheter ablation", "registration_number": "NCT05550123",
     "registration_country": "US", "ind_number": "132456",
     "suspect": ("apixaban", 5.0, "mg", "oral", "twice daily", "Atrial fibrillation"),
     "co_suspect": None},
    {"protocol_number": "DIAB-112", "name": "Open-label extension of semaglutide in type 2 "
     "diabetes with chronic kidney disease", "registration_number": "2023-501987-40-00",
     "registration_country": "FR", "ind_number": None,
     "suspect": ("semaglutide", 1.0, "mg", "subcutaneous", "once weekly",
                 "Type 2 diabetes mellitus"),
     "co_suspect": ("metformin", 1000.0, "mg", "oral", "twice daily",
                    "Type 2 diabetes mellitus")},
]

SITES = [("101", "GB"), ("204", "DE"), ("305", "US"), ("412", "FR"), ("518", "ES")]

# (verbatim, seriousness criteria, typical CTCAE grade, possible outcomes)
EVENTS = [
    ("febrile neutropenia", ["hospitalisation"], 3, ["recovered", "recovering"]),
    ("Pneumonitis", ["hospitalisation"], 3, ["recovering", "not_recovered"]),
    ("threw up blood", ["hospitalisation"], 3, ["recovered"]),
    ("GI bleed", ["hospitalisation", "required_intervention"], 3, ["recovered"]),
    ("elevated LFTs", ["other_medically_important"], 3, ["recovering"]),
    ("acute kidney injury", ["hospitalisation"], 3, ["recovering", "recovered"]),
    ("pulmonary embolism", ["life_threatening", "hospitalisation"], 4, ["recovering"]),
    ("diarrea", ["hospitalisation"], 3, ["recovered"]),
    ("Anaphylactic reaction", ["life_threatening"], 4, ["recovered"]),
    ("heart racing and fainted", ["hospitalisation"], 3, ["recovered"]),
    ("Acute pancreatitis", ["hospitalisation"], 3, ["recovering"]),
    ("Stevens-Johnson syndrome", ["hospitalisation", "other_medically_important"], 4,
     ["recovering"]),
    ("intracranial haemorrhage", ["life_threatening", "hospitalisation", "disability"], 4,
     ["recovered_with_sequelae"]),
    ("Sepsis", ["life_threatening", "hospitalisation"], 4, ["recovering", "fatal"]),
    ("SOB", ["hospitalisation"], 3, ["recovered"]),
    ("Hypoglycaemia", ["required_intervention"], 3, ["recovered"]),
    ("colitis", ["hospitalisation"], 3, ["recovering"]),
    ("oedema legs", ["other_medically_important"], 2, ["not_recovered"]),
]

HISTORY = ["Hypertension", "Type 2 diabetes", "COPD", "Hypercholesterolaemia",
           "Chronic kidney disease stage 3", "Atrial fibrillation", "Depression", "Asthma"]
CONCOMITANT = [("ramipril", 5.0, "mg", "oral", "Hypertension"),
               ("atorvastatin", 20.0, "mg", "oral", "Hypercholesterolaemia"),
               ("omeprazole", 20.0, "mg", "oral", "Gastro-oesophageal reflux"),
               ("paracetamol", 1000.0, "mg", "oral", "Pain"),
               ("ondansetron", 8.0, "mg", "oral", "Nausea prophylaxis")]
GIVEN = ["Anna", "James", "Maria", "Thomas", "Sofia", "Lukas", "Claire", "David"]
FAMILY = ["Schmidt", "Smith", "Dupont", "Garcia", "Müller", "Brown", "Martin", "Lopez"]
LETTERS = "ABCDEFGHJKLMNPRSTW"


def _d(day: date) -> str:
    return day.isoformat()


def generate_forms(count: int = 36, seed: int = 2026, today: date | None = None
                   ) -> list[dict[str, Any]]:
    """``count`` SAE forms: mostly initials, with follow-ups placed after their initial."""
    rng = random.Random(seed)
    today = today or date.today()
    forms: list[dict[str, Any]] = []
    initials: list[dict[str, Any]] = []
    n = 0
    while len(forms) < count:
        if initials and rng.random() < 0.22:
            forms.append(_follow_up(rng, rng.choice(initials), today))
            continue
        if len(initials) > 3 and rng.random() < 0.08:
            forms.append(_resent(rng, rng.choice(initials), len(initials) + 100))
            continue
        n += 1
        form = _initial(rng, n, today)
        initials.append(form)
        forms.append(form)
    return forms


def _initial(rng: random.Random, n: int, today: date) -> dict[str, Any]:
    study = rng.choice(STUDIES)
    site_no, country = rng.choice(SITES)
    verbatim, criteria, grade, _outcomes = rng.choice(EVENTS)
    onset = today - timedelta(days=rng.randint(2, 40))
    aware = onset + timedelta(days=rng.randint(0, 2))
    start = onset - timedelta(days=rng.randint(20, 200))
    name, dose, unit, route, freq, indication = study["suspect"]
    drugs: list[dict[str, Any]] = [{
        "ref": "IMP", "name": name, "role": "suspect", "investigational": True,
        "dose": {"value": dose, "unit": unit}, "route": route, "frequency": freq,
        "start_date": _d(start), "action_taken": rng.choice(
            ["withdrawn", "dose_not_changed", "dose_reduced"]),
        "indication": indication, "batch": f"L{rng.randint(10000, 99999)}",
    }]
    causality = [{"drug": "IMP", "assessment": rng.choice(
        ["related", "related", "possible", "not_related", "probable"])}]
    if study["co_suspect"] and rng.random() < 0.7:
        cname, cdose, cunit, croute, cfreq, cind = study["co_suspect"]
        drugs.append({"ref": "CO", "name": cname, "role": "suspect",
                      "dose": {"value": cdose, "unit": cunit}, "route": croute,
                      "frequency": cfreq, "start_date": _d(start), "indication": cind})
        causality.append({"drug": "CO", "assessment": rng.choice(["related", "not_related"])})
    for cm in rng.sample(CONCOMITANT, rng.randint(0, 3)):
        drugs.append({"name": cm[0], "role": "concomitant", "dose": {"value": cm[1],
                      "unit": cm[2]}, "route": cm[3], "indication": cm[4],
                      "start_date": _d(start - timedelta(days=rng.randint(100, 2000)))[:7]})
    birth_year = today.year - rng.randint(28, 82)
    subject: dict[str, Any] = {
        "id": f"{site_no}-{rng.randint(1, 60):03d}",
        "initials": rng.choice(LETTERS) + rng.choice(LETTERS),
        "sex": rng.choice(["male", "female"]),
        "weight_kg": round(rng.uniform(48, 115), 1),
    }
    if rng.random() < 0.6:
        born = date(birth_year, rng.randint(1, 12), rng.randint(1, 28))
        subject["birth_date"] = _d(born)
    else:
        subject["age"] = {"value": today.year - birth_year, "unit": "years"}
    reporter: dict[str, Any] = {
        "given_name": rng.choice(GIVEN), "family_name": rng.choice(FAMILY),
        "qualification": "physician", "organisation": f"Site {site_no} investigator",
        "country": country,
    }
    if n % 11 == 0:
        reporter = {}  # misses a minimum criterion: the pipeline holds it
    event = {"verbatim": verbatim, "onset_date": _d(onset), "serious": True,
             "seriousness": criteria, "ctcae_grade": grade, "causality": causality}
    form: dict[str, Any] = {
        "sae_id": f"{study['protocol_number']}-{site_no}-SAE{n:03d}",
        "report_type": "initial",
        "awareness_date": _d(aware),
        "study": {k: v for k, v in study.items()
                  if k not in ("suspect", "co_suspect") and v is not None},
        "site": {"number": site_no, "country": country},
        "subject": subject,
        "reporter": reporter,
        "events": [event],
        "drugs": drugs,
        "medical_history": [{"condition": h, "continuing": True}
                            for h in rng.sample(HISTORY, rng.randint(0, 3))],
        "narrative": (
            f"Subject {subject['id']} receiving {name} for {indication.lower()} developed "
            f"{verbatim} on {_d(onset)} and was "
            f"{'hospitalised' if 'hospitalisation' in criteria else 'treated'}. "
            "Investigator assessment as stated."
        ),
    }
    if not reporter:
        form.pop("reporter")
    return form


def _resent(rng: random.Random, initial: dict[str, Any], n: int) -> dict[str, Any]:
    """The same event sent again under a new SAE number (a different coordinator, a form
    re-typed from the paper copy): a duplicate the safety team must catch, not a new case."""
    form = {k: v for k, v in initial.items()}
    form["sae_id"] = initial["sae_id"].rsplit("SAE", 1)[0] + f"SAE{n:03d}"
    event = dict(initial["events"][0])
    onset = date.fromisoformat(event["onset_date"])
    event["onset_date"] = _d(onset + timedelta(days=rng.choice([0, 1])))
    event["verbatim"] = event["verbatim"].capitalize() + " (resubmitted)"
    form["events"] = [event]
    form["narrative"] = "Re-entered from the site's paper SAE form. " + initial["narrative"]
    form.setdefault("reporter", {"given_name": "Study", "family_name": "Coordinator",
                                 "qualification": "other_health_professional"})
    return form


def _follow_up(rng: random.Random, initial: dict[str, Any], today: date) -> dict[str, Any]:
    """A follow-up: same SAE id, the outcome known now, sometimes a lab result or a death."""
    form = {k: v for k, v in initial.items()}
    form["report_type"] = "followup"
    event = dict(initial["events"][0])
    onset = date.fromisoformat(event["onset_date"])
    stop = min(today, onset + timedelta(days=rng.randint(3, 15)))
    aware = min(today, stop + timedelta(days=1))
    form["awareness_date"] = _d(aware)
    if rng.random() < 0.15:
        event["outcome"] = "fatal"
        event["seriousness"] = sorted(set(event["seriousness"]) | {"death"})
        form["death"] = {"date": _d(stop), "cause": event["verbatim"], "autopsy": False}
    else:
        event["outcome"] = "recovered"
        event["stop_date"] = _d(stop)
    form["events"] = [event]
    form["lab_tests"] = [{"name": "Haemoglobin", "date": _d(onset), "value":
                          round(rng.uniform(7.5, 13.5), 1), "unit": "g/dL",
                          "normal_low": "12.0", "normal_high": "16.0"}]
    form["narrative"] = initial["narrative"] + f" Follow-up received {_d(aware)}: outcome " \
        f"{event['outcome'].replace('_', ' ')}."
    form.setdefault("reporter", {"given_name": "Study", "family_name": "Coordinator",
                                 "qualification": "other_health_professional"})
    return form

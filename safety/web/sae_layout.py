"""The portal's SAE form, field by field: what the template renders, and therefore the one list
an error must land on (an error whose field the page does not show is how an empty form said
"3 problems" and marked 2). Pure data; the template and ``portal.py`` both read it."""

from __future__ import annotations

from dataclasses import dataclass

from safety.intake.schemas import (
    ACTIONS_TAKEN,
    AGE_UNITS,
    CAUSALITY,
    OUTCOMES,
    QUALIFICATIONS,
    ROLES,
    SERIOUSNESS,
    SEX,
)

DATE_HINT = "YYYY, YYYY-MM or YYYY-MM-DD"


@dataclass(frozen=True)
class Field:
    key: str  # the JSON path below its section ("dose.value")
    label: str
    # text date number integer select multi yesno textarea email; yes/no is a choice of
    # three (yes, no, not given), as "no" and "not known" are different answers
    kind: str = "text"
    options: tuple[str, ...] = ()
    required: bool = False  # required in the first row of a repeated section
    wide: bool = False  # spans the whole row (long text)


@dataclass(frozen=True)
class Section:
    name: str  # "" for top-level fields, "events" for a repeated section
    title: str
    fields: tuple[Field, ...]
    repeated: bool = False
    rows: int = 1  # rows shown empty (a repeated section)
    item: str = ""  # one row's title ("Event")


def _d(key: str, label: str, required: bool = False) -> Field:
    return Field(key, f"{label} ({DATE_HINT})", "date", required=required)


REPORT = Section("", "Report", (
    Field("sae_id", "SAE id (your reference)", required=True),
    _d("awareness_date", "Date the site became aware", required=True),
))
STUDY = Section("study", "Study", (
    Field("protocol_number", "Protocol number", required=True),
    Field("name", "Study title"),
    Field("ind_number", "IND number (US)"),
    Field("registration_number", "Trial registration (EU CT / EudraCT / CTA)"),
    Field("registration_country", "Registration country (ISO, e.g. GB)"),
))
SITE = Section("site", "Site", (
    Field("number", "Site number"),
    Field("country", "Site country (ISO, e.g. GB)"),
))
SUBJECT = Section("subject", "Subject", (
    Field("id", "Subject id"),
    Field("initials", "Initials"),
    Field("sex", "Sex", "select", tuple(SEX)),
    _d("birth_date", "Birth date"),
    Field("age.value", "Age at onset", "number"),
    Field("age.unit", "Age unit", "select", tuple(AGE_UNITS)),
    Field("weight_kg", "Weight (kg)", "number"),
    Field("height_cm", "Height (cm)", "number"),
))
REPORTER = Section("reporter", "Reporter", (
    Field("title", "Title"),
    Field("given_name", "Given name"),
    Field("family_name", "Family name"),
    Field("qualification", "Qualification", "select", tuple(QUALIFICATIONS)),
    Field("organisation", "Organisation"),
    Field("country", "Country (ISO)"),
    Field("telephone", "Telephone"),
    Field("email", "Email", "email"),
))
DRUGS = Section("drugs", "Drugs", (
    Field("name", "Drug name", required=True),
    Field("ref", "Ref (e.g. IMP)"),
    Field("role", "Role", "select", tuple(ROLES)),
    Field("investigational", "Investigational", "yesno"),
    Field("dose.value", "Dose", "number"),
    Field("dose.unit", "Dose unit (e.g. mg)"),
    Field("frequency", "Frequency"),
    Field("route", "Route"),
    _d("start_date", "Start date"),
    _d("stop_date", "Stop date"),
    Field("batch", "Batch / lot"),
    Field("action_taken", "Action taken", "select", tuple(ACTIONS_TAKEN)),
    Field("indication", "Indication"),
), repeated=True, rows=2, item="Drug")
EVENTS = Section("events", "Events", (
    Field("verbatim", "Event term (verbatim)", required=True),
    _d("onset_date", "Onset date"),
    _d("stop_date", "Stop date"),
    Field("outcome", "Outcome", "select", tuple(OUTCOMES)),
    Field("ctcae_grade", "CTCAE grade (1-5)", "integer"),
    Field("serious", "Serious", "yesno"),
    Field("seriousness", "Seriousness criteria", "multi", SERIOUSNESS),
), repeated=True, rows=2, item="Event")
LABS = Section("lab_tests", "Lab tests", (
    Field("name", "Test", required=False),
    _d("date", "Date"),
    Field("value", "Result (number)", "number"),
    Field("unit", "Unit"),
    Field("result_text", "Result (text)"),
    Field("normal_low", "Normal low"),
    Field("normal_high", "Normal high"),
), repeated=True, rows=1, item="Test")
HISTORY = Section("medical_history", "Medical history", (
    Field("condition", "Condition"),
    _d("start_date", "Start date"),
    _d("end_date", "End date"),
    Field("continuing", "Continuing", "yesno"),
    Field("comments", "Comments"),
), repeated=True, rows=1, item="Condition")
PREGNANCY = Section("pregnancy", "Pregnancy", (
    Field("pregnant", "The subject is or was pregnant", "yesno"),
    _d("last_menstrual_period", "Last menstrual period"),
    Field("gestation_weeks", "Gestation at exposure (weeks)", "number"),
))
DEATH = Section("death", "Death", (
    _d("date", "Date of death"),
    Field("cause", "Reported cause of death"),
    Field("autopsy", "Autopsy done", "yesno"),
))
NARRATIVE = Section("", "Narrative", (
    Field("narrative", "What happened, in your words", "textarea", wide=True),
))

SECTIONS: tuple[Section, ...] = (REPORT, STUDY, SITE, SUBJECT, REPORTER, DRUGS, EVENTS,
                                 LABS, HISTORY, PREGNANCY, DEATH, NARRATIVE)
REPEATED = {s.name: s for s in SECTIONS if s.repeated}
MAX_ROWS = 50
CAUSALITY_CHOICES = CAUSALITY


def name_of(section: Section, field: Field, row: int | None = None) -> str:
    parts = [p for p in (section.name, None if row is None else str(row), field.key) if p]
    return ".".join(parts)


def causality_name(event_row: int, drug_row: int) -> str:
    """One causality per event × drug: ``events.0.causality.1`` is event 1 × drug 2."""
    return f"events.{event_row}.causality.{drug_row}"


def causality_method_name(event_row: int, drug_row: int) -> str:
    """How a causality was assessed (``method``: "WHO-UMC", set through the API). The page
    carries it unseen with its cell so that a follow-up sends it back rather than losing it."""
    return f"{causality_name(event_row, drug_row)}.method"


def field_names(rows: dict[str, int]) -> list[str]:
    """Every field the form renders with ``rows`` rows per repeated section."""
    out: list[str] = []
    for section in SECTIONS:
        for i in range(rows.get(section.name, 1)) if section.repeated else [None]:
            out.extend(name_of(section, f, i) for f in section.fields)
    for e in range(rows.get("events", 0)):
        out.extend(causality_name(e, d) for d in range(rows.get("drugs", 0)))
    return out


def typed_fields() -> dict[str, dict[str, str]]:
    """Per section (``""`` top level): each key's kind, for turning text into JSON."""
    out: dict[str, dict[str, str]] = {}
    for section in SECTIONS:
        out.setdefault(section.name, {}).update({f.key: f.kind for f in section.fields})
    return out

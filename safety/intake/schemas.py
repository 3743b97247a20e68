"""The SAE form contract: what a clinical site sends, validated field by field.

This schema is the single contract for the JSON API, the web form and ``safety import``. It
checks *shape* (types, code values, dates, cross-references), not medical completeness: a form
that lacks a minimum criterion of a valid case is still accepted and stored, then held by the
pipeline with its findings, because the regulatory clock may already be running for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from safety.cases.values import NullFlavor, PartialDate, PartialDateError

# Null flavours a site may give for a patient or reporter field it could not fill
# (E2B(R3) IG 3.3.4: MSK for privacy, ASKU asked but unknown, NASK not asked, UNK unknown).
SITE_NULL_FLAVOURS = ("MSK", "ASKU", "NASK", "UNK")

SEX = {"male": "1", "female": "2"}
OUTCOMES = {  # E.i.7
    "recovered": "1",
    "recovering": "2",
    "not_recovered": "3",
    "recovered_with_sequelae": "4",
    "fatal": "5",
    "unknown": "0",
}
QUALIFICATIONS = {  # C.2.r.4
    "physician": "1",
    "pharmacist": "2",
    "other_health_professional": "3",
    "lawyer": "4",
    "consumer": "5",
}
ACTIONS_TAKEN = {  # G.k.8
    "withdrawn": "1",
    "dose_reduced": "2",
    "dose_increased": "3",
    "dose_not_changed": "4",
    "unknown": "0",
    "not_applicable": "9",
}
ROLES = {"suspect": "1", "concomitant": "2", "interacting": "3", "not_administered": "4"}
SERIOUSNESS = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "other_medically_important",
    "required_intervention",
)
CAUSALITY = (
    "related",
    "not_related",
    "certain",
    "probable",
    "possible",
    "unlikely",
    "conditional",
    "unassessable",
)
AGE_UNITS = {"years": "a", "months": "mo", "weeks": "wk", "days": "d", "hours": "h"}

if TYPE_CHECKING:
    _DateFieldBase = fields.Field[PartialDate]
    _AnyFieldBase = fields.Field[Any]
else:  # marshmallow 4's Field is generic in the value it loads, 3's (still supported) is not
    _DateFieldBase = _AnyFieldBase = fields.Field


# Text a database can store and an E2B(R3) message can carry: PostgreSQL refuses NUL in text
# and jsonb, a lone UTF-16 surrogate (from a "\ud800" escape) cannot be encoded as UTF-8, and
# XML 1.0 has no other control characters, U+FFFE or U+FFFF (production [2]: the writer could
# not put them in a message).
BAD_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_TEXT = BAD_CHARACTERS
NOT_TEXT = ("Must not contain NUL characters, unpaired UTF-16 surrogates or other characters "
            "XML cannot carry (control characters, U+FFFE, U+FFFF).")


class BadField(NamedTuple):
    """A field (of a form, a query string, a URL) holding text of :data:`BAD_CHARACTERS`:
    its name, those characters shown as ``?``, and whether the name itself holds them."""

    name: str
    in_name: bool


def bad_fields(given: Iterable[tuple[str, object]]) -> Iterator[BadField]:
    """The fields among ``given`` (name, value pairs, in order) whose name or text value holds
    a character the database or an E2B(R3) message cannot carry; a bad name before its value.
    The one test of request fields that pages (a 400 naming the first) and the API (a 422
    naming each) both apply before any view runs; values that are not text are skipped."""
    for name, value in given:
        shown = BAD_CHARACTERS.sub("?", name)
        if BAD_CHARACTERS.search(name):
            yield BadField(shown, in_name=True)
        if isinstance(value, str) and BAD_CHARACTERS.search(value):
            yield BadField(shown, in_name=False)


class Text(fields.String):
    """A string without NUL characters or lone surrogates."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _NOT_TEXT.search(text):
            raise ValidationError(NOT_TEXT)
        return text


class Email(fields.Email):
    """An e-mail address without NUL characters or lone surrogates."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str) and _NOT_TEXT.search(value):
            raise ValidationError(NOT_TEXT)
        text: str = super()._deserialize(value, attr, data, **kwargs)
        return text


PARTIAL_DATE_PATTERN = (r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2})?)?"
                        r"(Z|[+-]\d{2}:?\d{2})?)?)?)?$")


class PartialDateField(_DateFieldBase):
    """An ISO date of any precision (``2024``, ``2024-03``, ``2024-03-15``, with time)."""

    default_error_messages = {
        "invalid": "Not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM.",
        "future": "Date is in the future.",
    }

    def __init__(self, **kwargs: Any) -> None:
        # What the OpenAPI document says of it (apispec copies these from the metadata).
        metadata = {"type": "string", "pattern": PARTIAL_DATE_PATTERN, "example": "2026-11-02",
                    **(kwargs.pop("metadata", None) or {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> PartialDate:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            pd = PartialDate.parse_iso(value)
        except PartialDateError as exc:
            raise ValidationError(str(exc)) from exc
        # A day of slack: the reporter's local date may be ahead of UTC.
        if pd.earliest() > (datetime.now(UTC) + timedelta(days=1)).date():
            raise self.make_error("future")
        return pd

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else str(value)


class Flavoured(_AnyFieldBase):
    """A value, or ``{"nullFlavor": "ASKU"}`` when the site could not give it."""

    def __init__(self, inner: fields.Field[Any], allowed: tuple[str, ...] = SITE_NULL_FLAVOURS,
                 **kwargs: Any) -> None:
        metadata = {
            "description":
            f"A value, or {{\"nullFlavor\": one of {', '.join(allowed)}}} when not available.",
            **(kwargs.pop("metadata", None) or {}),
        }
        super().__init__(metadata=metadata, **kwargs)
        self.inner = inner
        self.allowed = allowed

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"nullFlavor"}:
            if value["nullFlavor"] not in self.allowed:
                raise ValidationError(
                    f"nullFlavor must be one of {', '.join(self.allowed)}."
                )
            return NullFlavor(value["nullFlavor"])
        return self.inner.deserialize(value, attr, data, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, NullFlavor):
            return {"nullFlavor": value.value}
        return self.inner._serialize(value, attr, obj, **kwargs)


def _choice(options: Any, **kwargs: Any) -> fields.String:
    return Text(validate=validate.OneOf(list(options)), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class StudySchema(StrictSchema):
    protocol_number = Text(required=True, validate=validate.Length(1, 100))
    name = Text(validate=validate.Length(max=2000))
    registration_number = Text(validate=validate.Length(max=50))
    registration_country = Text(validate=validate.Length(equal=2))
    ind_number = Text(validate=validate.Length(max=50))


class SiteInfoSchema(StrictSchema):
    number = Text(validate=validate.Length(1, 50))
    country = Text(validate=validate.Regexp(r"^[A-Z]{2}$", error="ISO 3166 alpha-2"))


class AgeSchema(StrictSchema):
    value = fields.Float(required=True, validate=validate.Range(0, 150))
    unit = _choice(AGE_UNITS, required=True)


class SubjectSchema(StrictSchema):
    id = Text(validate=validate.Length(1, 50))
    initials = Flavoured(Text(validate=validate.Length(1, 60)))
    sex = Flavoured(_choice(SEX))
    birth_date = Flavoured(PartialDateField())
    age = fields.Nested(AgeSchema)
    weight_kg = fields.Float(validate=validate.Range(min=0, max=700, min_inclusive=False))
    height_cm = fields.Float(validate=validate.Range(min=0, max=300, min_inclusive=False))


class ReporterSchema(StrictSchema):
    title = Text(validate=validate.Length(max=50))
    given_name = Flavoured(Text(validate=validate.Length(1, 60)))
    family_name = Flavoured(Text(validate=validate.Length(1, 60)))
    qualification = _choice(QUALIFICATIONS)
    organisation = Text(validate=validate.Length(max=60))
    country = Text(validate=validate.Regexp(r"^[A-Z]{2}$", error="ISO 3166 alpha-2"))
    telephone = Text(validate=validate.Length(max=33))
    email = Email()


class CausalitySchema(StrictSchema):
    drug = Text(
        required=True,
        metadata={"description": "The drug's `ref` (or its name) in this form's `drugs`."},
    )
    assessment = _choice(CAUSALITY, required=True)
    method = Text(load_default="Investigator judgement",
                           validate=validate.Length(max=60))


class EventSchema(StrictSchema):
    verbatim = Text(required=True, validate=validate.Length(1, 250))
    onset_date = PartialDateField()
    stop_date = PartialDateField()
    outcome = _choice(OUTCOMES)
    serious = fields.Boolean()
    seriousness = fields.List(_choice(SERIOUSNESS))
    ctcae_grade = fields.Integer(validate=validate.Range(1, 5))
    causality = fields.List(fields.Nested(CausalitySchema))

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        onset, stop = data.get("onset_date"), data.get("stop_date")
        if onset and stop and stop.latest() < onset.earliest():
            raise ValidationError("Stop date is before onset date.", "stop_date")
        if data.get("serious") is True and not data.get("seriousness"):
            raise ValidationError(
                "A serious event needs at least one seriousness criterion.", "seriousness"
            )


class DoseSchema(StrictSchema):
    value = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    unit = Text(required=True, validate=validate.Length(1, 20))


class DrugSchema(StrictSchema):
    ref = Text(validate=validate.Length(1, 50))
    name = Text(required=True, validate=validate.Length(1, 250))
    role = _choice(ROLES, load_default="suspect")
    investigational = fields.Boolean()
    dose = fields.Nested(DoseSchema)
    frequency = Text(validate=validate.Length(max=100))
    route = Text(validate=validate.Length(max=60))
    start_date = PartialDateField()
    stop_date = PartialDateField()
    batch = Text(validate=validate.Length(max=35))
    action_taken = _choice(ACTIONS_TAKEN)
    indication = Text(validate=validate.Length(max=250))


class LabTestSchema(StrictSchema):
    name = Text(required=True, validate=validate.Length(1, 250))
    date = PartialDateField()
    value = fields.Float()
    unit = Text(validate=validate.Length(max=50))
    result_text = Text(validate=validate.Length(max=2000))
    normal_low = Text(validate=validate.Length(max=50))
    normal_high = Text(validate=validate.Length(max=50))


class HistorySchema(StrictSchema):
    condition = Text(required=True, validate=validate.Length(1, 250))
    start_date = PartialDateField()
    end_date = PartialDateField()
    continuing = fields.Boolean()
    comments = Text(validate=validate.Length(max=2000))


class DeathSchema(StrictSchema):
    date = PartialDateField()
    cause = Text(validate=validate.Length(max=250))
    autopsy = fields.Boolean()


class PregnancySchema(StrictSchema):
    """The subject's pregnancy: D.6 (last menstrual period) and G.k.6 (gestation period at
    exposure, in weeks, given for the suspect drugs)."""

    pregnant = fields.Boolean()
    last_menstrual_period = PartialDateField()
    gestation_weeks = fields.Float(validate=validate.Range(0, 45))


class SAEFormSchema(StrictSchema):
    """A serious adverse event form from a clinical site (initial or follow-up)."""

    sae_id = Text(
        required=True,
        validate=validate.Length(1, 100),
        metadata={"description": "The site's own reference for this SAE; follow-ups repeat it."},
    )
    report_type = _choice(("initial", "followup"), load_default="initial")
    awareness_date = PartialDateField(
        required=True,
        metadata={"description": "When the site first knew of the event (day 0 evidence)."},
    )
    study = fields.Nested(StudySchema, required=True)
    site = fields.Nested(SiteInfoSchema)
    subject = fields.Nested(SubjectSchema, load_default=dict)
    reporter = fields.Nested(ReporterSchema, load_default=dict)
    events = fields.List(fields.Nested(EventSchema), load_default=list,
                         validate=validate.Length(max=200))
    drugs = fields.List(fields.Nested(DrugSchema), load_default=list,
                        validate=validate.Length(max=200))
    lab_tests = fields.List(fields.Nested(LabTestSchema), load_default=list)
    medical_history = fields.List(fields.Nested(HistorySchema), load_default=list)
    death = fields.Nested(DeathSchema)
    pregnancy = fields.Nested(PregnancySchema)
    narrative = Text(validate=validate.Length(max=100_000))

    @validates_schema
    def _cross_references(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        refs: dict[str, int] = {}
        names: dict[str, int] = {}
        for i, drug in enumerate(data.get("drugs", [])):
            ref = drug.get("ref") or drug["name"]
            if ref in refs:
                errors.setdefault("drugs", {})[i] = {
                    "ref": [f"Duplicate drug reference {ref!r}; give each drug a unique ref."]
                }
            refs[ref] = i
            names.setdefault(drug["name"], i)
        # A causality names its drug by ref or by name: a site that gave a ref may still
        # write the drug's name (a name two drugs share is ambiguous only without refs).
        refs = {**names, **refs}
        for i, event in enumerate(data.get("events", [])):
            for j, c in enumerate(event.get("causality", [])):
                if c["drug"] not in refs:
                    errors.setdefault("events", {}).setdefault(i, {}).setdefault(
                        "causality", {}
                    )[j] = {"drug": [f"No drug with ref or name {c['drug']!r} in this form."]}
        if errors:
            raise ValidationError(errors)

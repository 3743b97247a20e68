"""The comparison profile: the few normalised facts about a case that duplicate detection uses.

Blocking, scoring and the database all work from this profile instead of the full case so that
normalisation (accents, initials order, coded vs verbatim terms, ages vs birth dates, dates quoted
in the narrative) happens once, in one place, and so that a candidate can be scored from a small
JSON document without decoding the whole case.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from safety.cases.identifiers import norm_id, norm_text
from safety.cases.model import CaseVersionData, CodedTerm, Drug, Quantity
from safety.cases.values import NullFlavor, PartialDate
from safety.dedup.terms import drug_key_of, event_key_of

_YEARS_PER_UNIT = {
    "a": 1.0, "yr": 1.0, "year": 1.0, "dec": 10.0, "mo": 1 / 12, "wk": 7 / 365.25,
    "d": 1 / 365.25, "h": 1 / 8766.0,
}
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january", "janvier", "januar", "enero"),
            ("feb", "february", "fevrier", "februar", "febrero"),
            ("mar", "march", "mars", "marz", "marzo"),
            ("apr", "april", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juin", "juni", "junio"),
            ("jul", "july", "juillet", "juli", "julio"),
            ("aug", "august", "aout", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "octobre", "oktober", "octubre"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "decembre", "dezember", "diciembre"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUM_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b")
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?[ -]({_MONTH_RE})\.?[ -,]*(\d{{4}})\b")
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_RE})\.? (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b")
_STOPWORDS = frozenset(
    "a an and the of in on with for to by after from case report reports patient patients".split()
)


# What senders write where the initials are withheld: ISO 21090 null flavours (E2B(R3) D.1
# allows MSK/ASKU/NASK/UNK) and the words EU and FDA partners use for privacy masking.
MASKED_INITIALS = frozenset({
    "UNK", "UNKNOWN", "NI", "NA", "MSK", "ASKU", "NASK", "NINF", "PINF", "PRIVACY", "PRIVATE",
    "MASKED", "MASK", "REDACTED", "WITHHELD", "NOTGIVEN", "NOTKNOWN", "NOTSTATED", "NONE",
    "XX", "XXX", "XXXX",
})


def norm_initials(value: object) -> str | None:
    """Initials as upper-case letters; a full name is reduced to its initials; a masking word
    ("PRIVACY", "UNK") is no initials at all (else it would count as "PU" or "UNK")."""
    text = norm_text(value)
    if not text or text.replace(" ", "").upper() in MASKED_INITIALS:
        return None
    words = text.split()
    if len(words) == 1 and len(words[0]) <= 4:
        letters = words[0]
    else:
        letters = "".join(w[0] for w in words)
    letters = "".join(ch for ch in letters if ch.isalpha()).upper()
    return letters or None


def norm_subject(value: object) -> str | None:
    """A subject id as upper-case alphanumeric parts joined by "-" (``101 / 0023`` -> ``101-0023``).

    The parts are kept because sites write the site prefix (``<site>-<subject>``) and partners
    often drop it: the comparison needs the boundary to see that ``0023`` is ``101-0023``.
    """
    text = norm_text(value)
    return "-".join(text.upper().split()) if text else None


def subjects_agree(x: str, y: str) -> bool:
    """The same subject: equal ignoring separators, or one is the other without its prefix.

    ICH E2B(R3) D.1.1.4 (patient investigation number) carries the sponsor's subject id, which
    protocols usually build as site number + subject number; a report from another channel may
    carry the subject number alone.
    """
    if x.replace("-", "") == y.replace("-", ""):
        return True
    px, py = x.split("-"), y.split("-")
    short, long_ = (px, py) if len(px) < len(py) else (py, px)
    return len(short) < len(long_) and long_[-len(short):] == short and any(
        c.isdigit() for c in "".join(short))


def age_in_years(age: Quantity | None) -> float | None:
    if age is None or age.value is None:
        return None
    factor = _YEARS_PER_UNIT.get((age.unit or "a").lower())
    return None if factor is None else float(age.value) * factor


def literature_key(reference: object) -> str | None:
    """A short citation key: first author's surname, year and initials of the first title words.

    Vancouver references of one article differ in punctuation, author list truncation ("et al")
    and journal abbreviation between senders; author, year and title start survive those.
    """
    text = norm_text(reference)
    if not text:
        return None
    words = text.split()
    years = [w for w in words if re.fullmatch(r"(19|20)\d\d", w)]
    year = years[0] if years else ""
    author = words[0]
    title_start = _title_words(reference)
    return f"{author}|{year}|{''.join(w[:3] for w in title_start[:4])}"


def _title_words(reference: object) -> list[str]:
    if not isinstance(reference, str):
        return []
    parts = [p for p in reference.split(".") if p.strip()]
    title = parts[1] if len(parts) > 1 else parts[0] if parts else ""
    return [w for w in (norm_text(title) or "").split() if w not in _STOPWORDS]


def narrative_dates(text: object) -> set[date]:
    """Full dates quoted in free text (ISO, d/m/y and m/d/y when valid, '12 March 2024')."""
    if not isinstance(text, str) or isinstance(text, NullFlavor):
        return set()
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    found: set[date] = set()
    candidates: list[tuple[int, int, int]] = []
    candidates += [(int(y), int(m), int(d)) for y, m, d in _ISO_DATE.findall(folded)]
    for a, b, y in _NUM_DATE.findall(folded):
        candidates += [(int(y), int(b), int(a)), (int(y), int(a), int(b))]
    for d, mon, y in _DAY_MONTH_YEAR.findall(folded):
        candidates.append((int(y), _MONTHS[mon], int(d)))
    for mon, d, y in _MONTH_DAY_YEAR.findall(folded):
        candidates.append((int(y), _MONTHS[mon], int(d)))
    for y, m, d in candidates:
        try:
            found.add(date(y, m, d))
        except ValueError:
            continue
    return found


@dataclass(slots=True)
class Profile:
    """Normalised comparison facts of one case version (see module docstring)."""

    initials: str | None = None
    birth: PartialDate | None = None
    age: float | None = None
    sex: str | None = None
    weight: float | None = None
    country: str | None = None
    onset: PartialDate | None = None
    dates: frozenset[str] = field(default_factory=frozenset)
    events: frozenset[str] = field(default_factory=frozenset)
    event_text: tuple[str, ...] = ()
    drugs: frozenset[str] = field(default_factory=frozenset)
    drug_text: tuple[str, ...] = ()
    reporter: str | None = None
    qualification: str | None = None
    study: str | None = None
    subject: str | None = None
    record: str | None = None
    literature: str | None = None
    literature_text: str | None = None
    sender: str | None = None

    def birth_year_range(self) -> tuple[int, int] | None:
        """Possible birth years, from the birth date or else from age at onset and onset year."""
        if self.birth is not None:
            return (self.birth.year, self.birth.year)
        if self.age is not None and self.onset is not None:
            y = self.onset.year - int(self.age)
            return (y - 1, y)
        return None

    def age_estimate(self) -> float | None:
        if self.age is not None:
            return self.age
        if self.birth is not None and self.onset is not None:
            return (self.onset.earliest() - self.birth.earliest()).days / 365.25
        return None

    def age_range(self) -> tuple[float, float] | None:
        """Age at onset as the interval the data allows, in years.

        A year-only birth date is any day of that year, not 1 January; an age in whole years
        (ICH E2B(R3) D.2.2a) is the completed years, so 53 means [53, 54). A point when exact.
        """
        if self.age is not None:
            return (self.age, self.age + 1.0) if float(self.age).is_integer() else (
                self.age, self.age)
        if self.birth is not None and self.onset is not None:
            lo = (self.onset.earliest() - self.birth.latest()).days / 365.25
            hi = (self.onset.latest() - self.birth.earliest()).days / 365.25
            return (max(lo, 0.0), max(hi, 0.0))
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            v = getattr(self, name)
            if v is None or v == () or v == frozenset():
                continue
            if isinstance(v, PartialDate):
                v = v.isoformat()
            elif isinstance(v, frozenset):
                v = sorted(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[name] = v
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        kw: dict[str, Any] = dict(data)
        for name in ("birth", "onset"):
            if name in kw:
                kw[name] = PartialDate.parse_iso(kw[name])
        for name in ("dates", "events", "drugs"):
            if name in kw:
                kw[name] = frozenset(kw[name])
        for name in ("event_text", "drug_text"):
            if name in kw:
                kw[name] = tuple(kw[name])
        return cls(**kw)


def _date(value: object) -> PartialDate | None:
    return value if isinstance(value, PartialDate) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and not isinstance(value, NullFlavor) else None


def _event_key(coding: CodedTerm | None, verbatim: object) -> str | None:
    if coding is not None:
        if coding.pt_code:
            return f"pt:{coding.pt_code}"
        if coding.level == "PT" and coding.code:
            return f"pt:{coding.code}"
    text = norm_text(verbatim)
    return f"v:{text}" if text else None


def _drug_keys(drug: Drug) -> set[str]:
    if drug.coding is not None and drug.coding.code:
        return {f"sub:{drug.coding.code}"}
    coded = {f"sub:{s.term_id}" for s in drug.substances if s.term_id}
    if coded:
        return coded
    names = [norm_text(s.name) for s in drug.substances] or [norm_text(drug.name)]
    return {f"v:{n}" for n in names if n}


def build_profile(case: CaseVersionData) -> Profile:
    """Extract the comparison profile of a case version."""
    p = case.patient
    onsets = [start for r in case.reactions if (start := _date(r.start)) is not None]
    onset = min(onsets, key=lambda d: (d.earliest(), -len(d.isoformat()))) if onsets else None

    events: set[str] = set()
    event_text: list[str] = []
    for r in case.reactions:
        key = _event_key(r.coding, r.verbatim if r.verbatim is not None else r.translation)
        if key:
            # the concept the texts name, most standard text first, so that a coded PT, its
            # LLT and a lay or misspelt verbatim of it meet (safety.dedup.terms)
            texts = [t for t in (_str(r.coding.pt_term) if r.coding else None,
                                 _str(r.coding.term) if r.coding else None,
                                 _str(r.verbatim), _str(r.translation)) if t]
            events.add(event_key_of(texts, key))
        for t in (r.verbatim, r.translation, r.coding.term if r.coding else None,
                  r.coding.pt_term if r.coding else None):
            n = norm_text(t)
            if n and n not in event_text:
                event_text.append(n)

    suspects = case.suspect_drugs() or case.drugs
    drugs: set[str] = set()
    drug_text: list[str] = []
    for d in suspects:
        names = [t for t in (_str(d.coding.term) if d.coding else None, _str(d.name),
                             *(_str(s.name) for s in d.substances)) if t]
        drugs |= drug_key_of(names, _drug_keys(d))
        for t in [d.name, d.coding.term if d.coding else None, *(s.name for s in d.substances)]:
            n = norm_text(t)
            if n and n not in drug_text:
                drug_text.append(n)

    dates: set[date] = set()
    for r in case.reactions:
        for v in (r.start, r.end):
            if (pd := _date(v)) is not None and pd.is_full_date and pd is not onset:
                dates.add(pd.earliest())
    # Drug start and end dates (G.k.4.r) are not counted: a patient's second, different
    # event on the same treatment shares them with the first, so they are evidence of the same
    # patient and treatment, not of the same event episode.
    for test in case.tests:
        if (pd := _date(test.date)) is not None and pd.is_full_date:
            dates.add(pd.earliest())
    if p.death is not None and (pd := _date(p.death.date)) is not None and pd.is_full_date:
        dates.add(pd.earliest())
    narr = case.narrative
    for text in (narr.narrative, narr.reporter_comments, narr.sender_comments):
        dates |= narrative_dates(text)
    if onset is not None and onset.is_full_date:
        dates.discard(onset.earliest())
    birth = _date(p.birth_date)
    if birth is not None and birth.is_full_date:
        dates.discard(birth.earliest())

    reporter = None
    qualification = None
    primary = next((r for r in case.reporters if r.primary_for_regulatory), None)
    primary = primary or (case.reporters[0] if case.reporters else None)
    if primary is not None:
        parts = [norm_text(primary.family_name), norm_text(primary.given_name)]
        reporter = " ".join(x for x in parts if x) or None
        qualification = _str(primary.qualification)

    country = next(
        (c.upper() for r in case.reactions if (c := _str(r.country))), None
    ) or next((c.upper() for r in case.reporters if (c := _str(r.country))), None)

    study = subject = None
    if case.study is not None:
        s = case.study
        study = norm_id(s.sponsor_study_number) or next(
            (norm_id(r.number) for r in s.registrations if norm_id(r.number)), None
        ) or norm_id(s.name)
    subject = norm_subject(p.investigation_number)
    record = norm_id(p.hospital_record_number) or norm_id(p.gp_record_number) or norm_id(
        p.specialist_record_number
    )

    lit = next((d.reference for d in case.literature if _str(d.reference)), None)
    weight = p.weight_kg if isinstance(p.weight_kg, float | int) else None
    sex = _str(p.sex)
    return Profile(
        initials=norm_initials(p.initials),
        birth=birth,
        age=age_in_years(p.age_at_onset),
        sex=sex if sex in ("1", "2") else None,
        weight=float(weight) if weight is not None else None,
        country=country,
        onset=onset,
        dates=frozenset(d.isoformat() for d in dates),
        events=frozenset(events),
        event_text=tuple(event_text),
        drugs=frozenset(drugs),
        drug_text=tuple(drug_text),
        reporter=reporter,
        qualification=qualification,
        study=study,
        subject=subject,
        record=record,
        literature=literature_key(lit),
        literature_text=norm_text(lit),
        sender=norm_text(case.sender.organisation),
    )

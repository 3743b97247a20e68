"""Field comparisons: what two profiles say about each field, as one discrete outcome per field.

Each comparator returns an outcome name from a small fixed list, or ``None`` when either side is
missing or too partial to compare. ``None`` carries no evidence: a missing birth date is not a
different birth date. The outcomes are deliberately coarse so that their likelihoods can be
estimated from labelled pairs (see ``scoring``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz, process

from safety.cases.values import PartialDate
from safety.dedup.profile import Profile, subjects_agree
from safety.dedup.terms import event_agreement

FUZZY_SAME = 90.0
FUZZY_SIMILAR = 80.0


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome for one field, with the two values shown to the physician."""

    field: str
    a: str | None
    b: str | None
    outcome: str | None


def _fmt(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, frozenset | set | tuple | list):
        return ", ".join(sorted(str(x) for x in v)) or None
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _readings(initials: str) -> set[tuple[str, str]]:
    """Possible (given, family) initial pairs: "JMS" is J…S, or S-first "SJM" is J…S too."""
    if len(initials) == 1:
        return {(initials, "")}
    return {(initials[0], initials[-1]), (initials[1], initials[0])}


def _initials(a: Profile, b: Profile) -> str | None:
    x, y = a.initials, b.initials
    if not x or not y:
        return None
    if x == y:
        return "exact"
    if len(x) == 1 or len(y) == 1:
        # a consumer or a form giving one letter: agreement on it, but half the evidence
        short, other = (x, y) if len(x) == 1 else (y, x)
        return "partial" if short in other else "none_shared"
    rx, ry = _readings(x), _readings(y)
    if (x[0], x[-1]) == (y[0], y[-1]):
        return "middle"
    if rx & ry:
        return "reordered"
    if any(gx != gy and fx == fy and fx for gx, fx in rx for gy, fy in ry):
        return "given_differs"  # the twins' and siblings' pattern: same family initial
    return "none_shared" if not set(x) & set(y) else "other"


def _days(a: date, b: date) -> int:
    return abs((a - b).days)


def _birth(a: Profile, b: Profile) -> str | None:
    if a.birth is not None and b.birth is not None:
        x, y = a.birth, b.birth
        if x.is_full_date and y.is_full_date:
            dx, dy = x.earliest(), y.earliest()
            if dx == dy:
                return "date_exact"
            transposed = x.year == y.year and x.month == y.day and x.day == y.month
            if transposed or _days(dx, dy) <= 31:
                return "date_close"
        if x.earliest() <= y.latest() and y.earliest() <= x.latest():
            return "year_match"
        return "year_near" if abs(x.year - y.year) <= 1 else "mismatch"
    rx, ry = a.age_range(), b.age_range()
    if rx is None or ry is None:
        return None
    if rx[0] == rx[1] and ry[0] == ry[1]:  # two exact ages: the old point rule
        diff = abs(rx[0] - ry[0])
        return "age_match" if diff < 1.0 else "age_near" if diff <= 2.0 else "mismatch"
    if (rx[0] < ry[1] and ry[0] < rx[1]) or rx == ry:
        return "age_match"  # the intervals overlap: the ages are compatible
    gap = max(ry[0] - rx[1], rx[0] - ry[1], 0.0)
    return "age_near" if gap <= 1.0 else "mismatch"


def _sex(a: Profile, b: Profile) -> str | None:
    if a.sex is None or b.sex is None:
        return None
    return "match" if a.sex == b.sex else "mismatch"


def _weight(a: Profile, b: Profile) -> str | None:
    if a.weight is None or b.weight is None:
        return None
    diff = abs(a.weight - b.weight)
    heavier = max(a.weight, b.weight)
    if diff <= min(0.5, 0.01 * heavier):
        return "exact"
    if diff <= 0.05 * heavier:
        return "close"
    return "mismatch"


def _country(a: Profile, b: Profile) -> str | None:
    if a.country is None or b.country is None:
        return None
    return "match" if a.country == b.country else "mismatch"


def _range_gap(x: PartialDate, y: PartialDate) -> int:
    """Days between the two date ranges; 0 when they overlap."""
    if x.earliest() <= y.latest() and y.earliest() <= x.latest():
        return 0
    if x.latest() < y.earliest():
        return (y.earliest() - x.latest()).days
    return (x.earliest() - y.latest()).days


def _onset(a: Profile, b: Profile) -> str | None:
    x, y = a.onset, b.onset
    if x is None or y is None:
        return None
    if x.is_full_date and y.is_full_date:
        d = _days(x.earliest(), y.earliest())
        if d == 0:
            return "exact"
        # day and month swapped (03/04 read as 4 March by one sender, 3 April by another),
        # as birth dates already allow
        transposed = x.year == y.year and x.month == y.day and x.day == y.month
        if d <= 3 or transposed:
            return "close"
        return "near" if d <= 31 else "mismatch"
    if x.precision == "year" and y.precision == "year" and x.year == y.year:
        return None  # same year says almost nothing, and nothing against
    gap = _range_gap(x, y)
    if gap == 0:
        # Within one year only (one side gives the year alone): as weak as two equal years,
        # and far weaker than two onsets in the same month, which "compatible" meant alone;
        # a second SAE of one patient months later in the same year is compatible this way.
        return "year_compatible" if "year" in (x.precision, y.precision) else "compatible"
    return "near" if gap <= 31 else "mismatch"


def _with_onset(p: Profile) -> frozenset[str]:
    if p.onset is not None and p.onset.day is not None:
        return p.dates | {f"{p.onset.year:04d}-{p.onset.month:02d}-{p.onset.day:02d}"}
    return p.dates


def _dates(a: Profile, b: Profile) -> str | None:
    """Other dates shared, between reports not known to be of one trial subject."""
    return None if _same_subject(a, b) else _shared_dates(a, b)


def _subject_dates(a: Profile, b: Profile) -> str | None:
    """Other dates shared by two reports of one trial subject, weighed on their own.

    As for the events (``_subject_events``): every report of one subject agrees on the
    patient, so whether they quote the same dates (hospital admission, tests, death, the
    event's end) is what tells a copy of one SAE from the subject's next SAE, and shares none
    means more than between two spontaneous reports, whose dates are often missing or unlike
    for other reasons. Fellegi-Sunter takes fields as independent; giving the outcome its own
    likelihoods for one subject is how that dependence is weighed.
    """
    return _shared_dates(a, b) if _same_subject(a, b) else None


def _shared_dates(a: Profile, b: Profile) -> str | None:
    """Other dates shared, counting a date one side gives as onset and the other only quotes.

    Onset against onset is the onset field's business and is not counted twice.
    """
    if not a.dates or not b.dates:
        return None
    common = _with_onset(a) & _with_onset(b)
    if a.onset is not None and a.onset.day is not None and a.onset == b.onset:
        common = common - _with_onset(a).difference(a.dates)
    shared = len(common)
    if shared >= 2:
        return "many_shared"
    return "one_shared" if shared == 1 else "none_shared"


def _any_similar(xs: tuple[str, ...], ys: tuple[str, ...], cutoff: float) -> bool:
    """Whether some pair of terms is at least ``cutoff`` similar (token-set ratio).

    Token-set ratio tolerates reordered words and, through its full-string comparison, typos.
    """
    if not ys:
        return False
    return any(
        process.extractOne(x, ys, scorer=fuzz.token_set_ratio, score_cutoff=cutoff) is not None
        for x in xs
    )


def _set_outcome(
    xs: frozenset[str], ys: frozenset[str], tx: tuple[str, ...], ty: tuple[str, ...]
) -> str | None:
    if not xs or not ys:
        return None
    if xs == ys:
        return "same"
    if xs & ys:
        return "overlap"
    if _any_similar(tx, ty, FUZZY_SIMILAR):
        return "similar"
    uncoded = any(k.startswith("v:") for k in xs | ys)
    return "uncoded_differs" if uncoded else "disjoint"


def _same_subject(a: Profile, b: Profile) -> bool:
    return (a.study is not None and a.study == b.study and a.subject is not None
            and b.subject is not None and subjects_agree(a.subject, b.subject))


def _events(a: Profile, b: Profile) -> str | None:
    """Events of reports that are not known to be of one trial subject."""
    if _same_subject(a, b):
        return None
    return event_agreement(a.events, a.event_text, b.events, b.event_text)


def _subject_events(a: Profile, b: Profile) -> str | None:
    """Events of two reports of one trial subject, weighed on their own.

    Fellegi-Sunter takes fields as independent, but how much differing events say depends on
    whether the patient is known to be the same: for one trial subject they are what tells a
    second SAE from a copy of the first, while between spontaneous reports a lay verbatim the
    dictionary lacks differs just as much. So the outcomes get their own likelihoods here, and
    an uncoded verbatim unlike every name of the other's events counts as a different event:
    site and CRO report in medical terms (ICH E2B(R3) E.i.1.1a is the reporter's term, coded
    by both), so it is not a lay wording of the same one.
    """
    if not _same_subject(a, b):
        return None
    found = event_agreement(a.events, a.event_text, b.events, b.event_text)
    return "disjoint" if found == "uncoded_unlike" else found


def _drugs(a: Profile, b: Profile) -> str | None:
    return _set_outcome(a.drugs, b.drugs, a.drug_text, b.drug_text)


def _reporter(a: Profile, b: Profile) -> str | None:
    if a.reporter and b.reporter:
        if a.reporter == b.reporter or fuzz.token_sort_ratio(a.reporter, b.reporter) >= FUZZY_SAME:
            return "same"
        return "different"
    if a.qualification and b.qualification:
        return "qualification_same" if a.qualification == b.qualification else "qualification_diff"
    return None


def _study(a: Profile, b: Profile) -> str | None:
    if a.study is None or b.study is None:
        return None
    return "same" if a.study == b.study else "different"


def _subject(a: Profile, b: Profile) -> str | None:
    if a.subject is None or b.subject is None:
        return None
    if a.study is not None and b.study is not None and a.study != b.study:
        return None  # subject numbers are only unique within a study
    return "same" if subjects_agree(a.subject, b.subject) else "different"


def _record(a: Profile, b: Profile) -> str | None:
    if a.record is None or b.record is None:
        return None
    return "same" if a.record == b.record else "different"


def _literature(a: Profile, b: Profile) -> str | None:
    if a.literature is None or b.literature is None:
        return None
    if a.literature == b.literature:
        return "same"
    if a.literature_text and b.literature_text:
        if fuzz.token_set_ratio(a.literature_text, b.literature_text) >= FUZZY_SAME:
            return "same"
    return "different"


Comparator = Callable[[Profile, Profile], str | None]

# field -> (comparator, outcomes it can return, attribute(s) shown in the explanation)
FIELDS: dict[str, tuple[Comparator, tuple[str, ...], tuple[str, ...]]] = {
    "initials": (_initials, ("exact", "reordered", "middle", "given_differs", "partial",
                           "other", "none_shared"),
                 ("initials",)),
    "birth": (_birth, ("date_exact", "date_close", "year_match", "year_near", "age_match",
                       "age_near", "mismatch"), ("birth", "age")),
    "sex": (_sex, ("match", "mismatch"), ("sex",)),
    "weight": (_weight, ("exact", "close", "mismatch"), ("weight",)),
    "country": (_country, ("match", "mismatch"), ("country",)),
    "onset": (_onset, ("exact", "close", "near", "compatible", "year_compatible", "mismatch"),
              ("onset",)),
    "dates": (_dates, ("many_shared", "one_shared", "none_shared"), ("dates",)),
    "subject_dates": (_subject_dates, ("many_shared", "one_shared", "none_shared"), ("dates",)),
    "events": (_events, ("same", "overlap", "similar", "uncoded_differs", "uncoded_unlike",
                         "disjoint"),
               ("events", "event_text")),
    "subject_events": (_subject_events, ("same", "overlap", "similar", "uncoded_differs",
                                         "disjoint"), ("events", "event_text")),
    "drugs": (_drugs, ("same", "overlap", "similar", "uncoded_differs", "disjoint"),
              ("drugs", "drug_text")),
    "reporter": (_reporter, ("same", "different", "qualification_same", "qualification_diff"),
                 ("reporter", "qualification")),
    "study": (_study, ("same", "different"), ("study",)),
    "subject": (_subject, ("same", "different"), ("subject",)),
    "record": (_record, ("same", "different"), ("record",)),
    "literature": (_literature, ("same", "different"), ("literature_text",)),
}


def _shown(p: Profile, attrs: tuple[str, ...]) -> str | None:
    for attr in attrs:
        v = _fmt(getattr(p, attr))
        if v is not None:
            return v
    return None


def compare(a: Profile, b: Profile,
            found: Mapping[str, str | None] | None = None) -> list[Comparison]:
    """One comparison per field, in a fixed order; ``found``: the outcomes ``outcomes``
    already gave for this pair (only the values shown are added, nothing compared again)."""
    return [
        Comparison(name, _shown(a, attrs), _shown(b, attrs),
                   found.get(name) if found is not None else fn(a, b))
        for name, (fn, _, attrs) in FIELDS.items()
    ]


def outcomes(a: Profile, b: Profile) -> dict[str, str | None]:
    """The outcome per field without the displayed values (the fast path for batch scoring)."""
    return {name: fn(a, b) for name, (fn, _, _) in FIELDS.items()}

"""Blocking keys: short strings two duplicates very probably share and unrelated cases rarely do.

Each key is a conjunction of a few normalised facts, so one key alone is selective enough for an
index lookup at millions of cases; several keys with different conjunctions make sure that noise
in one fact (a shifted onset, an age instead of a birth date, a brand instead of a generic) still
leaves a shared key. Facts are widened where reports legitimately disagree: onset near a month
boundary also yields the neighbouring month, an age yields the two birth years it allows, initials
ignore order and middle letters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from safety.cases.values import PartialDate
from safety.dedup.profile import Profile
from safety.dedup.terms import drug_moiety

MAX_TERM_KEY = 24  # verbatim fall-backs are cut so keys stay short
# Keys specific enough that sharing one of them alone makes a pair worth scoring; pairs that
# share only broader keys must share at least two.
STRONG_KINDS = frozenset({"dod", "dic", "iby", "lit", "sub", "rec", "eoc"})


# The scheme of the keys below. Raise it whenever a change makes a stored case yield other keys
# than a new report of it would (which keys are built, how facts are normalised or reduced to
# concepts): stored profiles of an older scheme are re-indexed by ``safety db upgrade`` and
# ``safety dedup reindex``. 1 (stored as NULL): code and substance keys (``pt:``, ``sub:``);
# 2: concept keys (issue 21, ``safety.dedup.terms``).
KEYS_VERSION = 2

MIN_SHARED = 2  # evidence a pair needs from shared keys: a strong key counts 2, others 1

# A key carried by more cases than this is not selective: it is skipped, by the batch scan and
# by a new report's lookup alike (``rank_candidates``), which reads at most MAX_BUCKET + 1 rows
# of a key's bucket and so stays bounded however large the index grows. What it costs: a pair
# that shares only over-full keys is not compared (docs/dedup.md, benchmark).
MAX_BUCKET = 400


def rank_candidates(buckets: Mapping[str, Sequence[str]], limit: int,
                    max_bucket: int = MAX_BUCKET) -> list[str]:
    """The cases worth scoring for a report, best first, from the buckets of its keys.

    ``buckets`` maps each key to the cases carrying it (at most ``max_bucket`` + 1 of them
    need be given: a fuller bucket is skipped whatever its size). A case qualifies with
    ``MIN_SHARED`` evidence (a strong key counts 2, a broad one 1); cases are ranked by that
    evidence, then by their rarest shared key (the smaller its bucket, the more telling), then
    by id, and the first ``limit`` are kept. ``safety.dedup.store.candidate_rows`` is the
    same rule in one SQL statement."""
    shared: dict[str, int] = {}
    rarest: dict[str, int] = {}
    for key, ids in buckets.items():
        n = len(ids)
        if n > max_bucket:
            continue
        weight = MIN_SHARED if is_strong(key) else 1
        for cid in ids:
            shared[cid] = shared.get(cid, 0) + weight
            rarest[cid] = min(rarest.get(cid, n), n)
    ranked = sorted((c for c, s in shared.items() if s >= MIN_SHARED),
                    key=lambda c: (-shared[c], rarest[c], c))
    return ranked[:limit]


def is_strong(key: str) -> bool:
    return key[:3] in STRONG_KINDS


def _months(onset: PartialDate | None) -> set[str]:
    if onset is None or onset.month is None:
        return set()
    first = onset.earliest()
    months = {f"{first.year:04d}{first.month:02d}"}
    if onset.day is not None:
        for shift in (-4, 4):
            d = first + timedelta(days=shift)
            months.add(f"{d.year:04d}{d.month:02d}")
    return months


def _age_bands(p: Profile) -> set[str]:
    age = p.age_estimate()
    if age is None:
        return set()
    return {f"{int(max(a, 0)) // 5}" for a in (age - 1.0, age + 1.0)}


def _birth_years(p: Profile) -> set[str]:
    rng = p.birth_year_range()
    return {str(y) for y in range(rng[0], rng[1] + 1)} if rng else set()


def _initials(p: Profile) -> set[str]:
    """Order-free (given, family) readings: "JMS" and "SJ" both yield "JS"."""
    x = p.initials
    if not x or len(x) < 2:
        return set()
    return {"".join(sorted((x[0], x[-1]))), "".join(sorted((x[1], x[0])))}


def _term(key: str) -> str:
    return key[:MAX_TERM_KEY]


def _drug_tokens(p: Profile) -> set[str]:
    """The drugs' keys, plus every drug name the open dictionary cannot resolve: a brand
    (``Vancocin``) coded by one sender and left uncoded by the other still meets."""
    names = {f"v:{t}" for t in p.drug_text if drug_moiety(t) is None}
    return {_term(d) for d in p.drugs | names}


def blocking_keys(p: Profile) -> set[str]:
    """The blocking keys of a profile (see module docstring for why these conjunctions)."""
    keys: set[str] = set()
    drugs = _drug_tokens(p)
    events = {_term(e) for e in p.events}
    months = _months(p.onset)
    years = _birth_years(p)
    readings = _initials(p)
    bands = _age_bands(p)
    sex = p.sex or "-"
    country = p.country or "-"
    for d in drugs:
        for e in events:
            for m in months:
                keys.add(f"dem|{d}|{e}|{m}")
            if p.country or p.sex:
                keys.add(f"dec|{d}|{e}|{country}|{sex}")
        for y in years:
            keys.add(f"dby|{d}|{y}|{country}")
        if p.onset is not None and p.onset.is_full_date:
            keys.add(f"dod|{d}|{p.onset.isoformat()}")
        for ini in readings:
            keys.add(f"dic|{d}|{ini}|{country}")
        if p.country and p.sex:
            for band in bands:
                keys.add(f"das|{d}|{band}|{sex}|{country}")
    if p.country and p.sex:
        for e in events:
            for band in bands:
                keys.add(f"eas|{e}|{band}|{sex}|{country}")
    for ini in readings:
        for y in years:
            keys.add(f"iby|{ini}|{y}")
    # Keys without the drug, for reports whose drug names cannot be matched (a brand the
    # dictionary lacks, a misspelling): the event with onset, birth year or initials.
    for e in events:
        for m in months:
            keys.add(f"emc|{e}|{m}|{country}")
        for y in years:
            keys.add(f"ebc|{e}|{y}|{country}")
        for ini in readings:
            keys.add(f"iev|{ini}|{e}|{country}")
        if p.onset is not None and p.onset.is_full_date:
            keys.add(f"eoc|{e}|{p.onset.isoformat()}|{country}")
    if p.weight is not None and p.country:
        keys.add(f"wkc|{p.weight:.1f}|{p.country}")
    if p.country and p.sex:
        for band in bands:
            for m in months:
                keys.add(f"cam|{country}|{sex}|{band}|{m}")
    if p.literature:
        keys.add(f"lit|{p.literature}")
    if p.study and p.subject:
        # the whole id and its last part, so "101-0023" meets both "1010023" and "0023"
        keys.add(f"sub|{p.study}|{p.subject.replace('-', '')}")
        keys.add(f"sub|{p.study}|{p.subject.rsplit('-', 1)[-1]}")
    if p.record:
        keys.add(f"rec|{p.record}")
    return keys

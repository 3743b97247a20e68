"""Matching one incoming report against the cases already held: the pipeline stage's logic.

The stage runs after coding. Identifier rules decide follow-ups (the only automatic merge);
otherwise blocking keys retrieve candidates and each is scored with its explanation. Storage is
passed in as two lookup functions, so the same logic runs against the database (store.py), an
in-memory index (tests, batch files) or anything else that can answer "which cases carry these
keys".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from safety.cases.model import CaseVersionData
from safety.cases.versioning import Identity, IdIndex, IdLink, identity, link, lookup_keys
from safety.dedup.blocking import blocking_keys, rank_candidates
from safety.dedup.comparison import outcomes
from safety.dedup.profile import Profile, build_profile
from safety.dedup.scoring import Model, Score

IdLookup = Callable[[frozenset[str]], Iterable[tuple[str, Identity]]]
KeyLookup = Callable[[frozenset[str]], Iterable[tuple[str, Profile]]]
MAX_CANDIDATES = 100


@dataclass(frozen=True, slots=True)
class Candidate:
    """A suspected duplicate, with why."""

    case_id: str
    score: float
    suspected: bool  # at or above the model's threshold: flag for the physician
    rule: str | None = None  # set when an identifier citation, not scoring, found it
    explanation: Score | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"case_id": self.case_id, "score": round(self.score, 4),
                               "suspected": self.suspected}
        if self.rule:
            out["rule"] = self.rule
        if self.explanation is not None:
            out["explanation"] = [e.to_json() for e in self.explanation.evidence]
        return out


@dataclass(slots=True)
class MatchResult:
    profile: Profile
    identity: Identity
    keys: frozenset[str]
    followup: IdLink | None = None
    candidates: list[Candidate] = field(default_factory=list)


def match_report(
    case: CaseVersionData,
    *,
    id_lookup: IdLookup,
    key_lookup: KeyLookup,
    model: Model,
    self_id: str | None = None,
    rejected: Collection[str] = (),
    limit: int = 20,
) -> MatchResult:
    """Follow-up link or scored duplicate candidates for one report.

    ``rejected`` holds case ids a physician already rejected as duplicates of this case; they
    are never offered again. ``self_id`` (the case's own id, when it is already stored) is
    excluded from its own candidates.
    """
    ident = identity(case)
    profile = build_profile(case)
    keys = frozenset(blocking_keys(profile))
    result = MatchResult(profile=profile, identity=ident, keys=keys)
    excluded = set(rejected) | ({self_id} if self_id else set())
    links = [lk for lk in link(ident, id_lookup(lookup_keys(ident))) if lk.case_id not in excluded]
    follow = next((lk for lk in links if lk.relation == "followup"), None)
    if follow is not None:
        result.followup = follow
        return result
    seen: set[str] = set()
    for lk in links:
        result.candidates.append(Candidate(lk.case_id, lk.score, True, rule=lk.rule))
        seen.add(lk.case_id)
    retrieved = [(cid, p) for cid, p in key_lookup(keys) if cid not in excluded and cid not in seen]
    found = [(outcomes(profile, other), case_id, other) for case_id, other in retrieved]
    quick = [(model.probability(f, len(retrieved)), case_id, other, f)
             for f, case_id, other in found]
    quick.sort(key=lambda t: (-t[0], t[1]))
    for _, case_id, other, f in quick[: max(limit - len(result.candidates), 0)]:
        # same probability, with the explanation (the outcomes are not computed again)
        s = model.score(profile, other, len(retrieved), f)
        result.candidates.append(Candidate(case_id, s.probability,
                                           s.probability >= model.threshold, explanation=s))
    return result


class MemoryIndex:
    """Both lookups over plain dictionaries; candidates ranked by shared keys like store.py."""

    def __init__(self) -> None:
        self.ids = IdIndex()
        self.profiles: dict[str, Profile] = {}
        self._by_key: dict[str, set[str]] = defaultdict(set)
        self._keys: dict[str, frozenset[str]] = {}

    def add(self, case_id: str, case: CaseVersionData) -> None:
        """Index a case (again, after a new version: its old keys are replaced)."""
        profile = build_profile(case)
        for key in self._keys.get(case_id, frozenset()):
            self._by_key[key].discard(case_id)
        keys = frozenset(blocking_keys(profile))
        for key in keys:
            self._by_key[key].add(case_id)
        self._keys[case_id] = keys
        self.profiles[case_id] = profile
        self.ids.add(case_id, identity(case))

    def id_lookup(self, keys: frozenset[str]) -> list[tuple[str, Identity]]:
        found: set[str] = set()
        for key in keys:
            found |= self.ids._by_key.get(key, set())
        return [(cid, self.ids._identity[cid]) for cid in sorted(found)]

    def key_lookup(self, keys: frozenset[str]) -> list[tuple[str, Profile]]:
        buckets = {key: list(self._by_key.get(key, ())) for key in keys}
        return [(cid, self.profiles[cid]) for cid in rank_candidates(buckets, MAX_CANDIDATES)]

"""Batch scan of a backlog: versions by identifiers, then blocking, scoring and clustering.

Reports are read in receipt order. Identifier links come first and are the only automatic
merges: a follow-up becomes the newest version of its case. Every remaining pair that shares a
blocking key is scored, and pairs above the threshold are grouped by complete-link clustering:
two groups join only if *every* cross pair scores above the threshold. Single-link would chain
the patients of one literature series (A looks like B, B like C) into one "case"; complete-link
keeps them apart unless each pair is convincing on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from safety.cases.model import CaseVersionData
from safety.cases.versioning import IdIndex, identity
from safety.dedup.blocking import MIN_SHARED, blocking_keys, is_strong
from safety.dedup.profile import Profile, build_profile
from safety.dedup.scoring import Model

MAX_BUCKET = 400  # a key shared by more cases than this is not selective: skip it in batch


@dataclass(frozen=True, slots=True)
class Link:
    """One output line: a follow-up or a duplicate relation between two reports."""

    report_a: str
    report_b: str
    relation: Literal["duplicate", "followup"]
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"report_a": self.report_a, "report_b": self.report_b,
                "relation": self.relation, "score": round(self.score, 4)}


@dataclass(slots=True)
class CaseEntry:
    """A case as the scan sees it: its first report id, versions, and current profile."""

    case_id: str
    profile: Profile
    reports: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ScanResult:
    cases: list[CaseEntry]
    links: list[Link]
    scored: dict[tuple[int, int], float]  # candidate pair (indexes into cases) -> probability
    skipped_keys: int = 0


def assign_versions(
    reports: Iterable[tuple[str, CaseVersionData]],
) -> tuple[list[CaseEntry], list[Link]]:
    """Group reports into cases by identifier rules; id-cited duplicates are returned as links."""
    index = IdIndex()
    cases: list[CaseEntry] = []
    by_id: dict[str, int] = {}
    links: list[Link] = []
    for report_id, case in reports:
        ident = identity(case)
        found = index.link(ident)
        follow = next((lk for lk in found if lk.relation == "followup"), None)
        if follow is not None:
            entry = cases[by_id[follow.case_id]]
            entry.reports.append(report_id)
            entry.profile = build_profile(case)
            index.add(entry.case_id, ident)
            links.append(Link(entry.case_id, report_id, "followup", 1.0))
            continue
        by_id[report_id] = len(cases)
        cases.append(CaseEntry(report_id, build_profile(case), [report_id]))
        index.add(report_id, ident)
        for lk in found:
            links.append(Link(lk.case_id, report_id, "duplicate", lk.score))
    return cases, links


def candidate_pairs(
    profiles: Sequence[Profile], max_bucket: int = MAX_BUCKET
) -> tuple[set[tuple[int, int]], int]:
    """Index pairs sharing a blocking key (and the number of keys skipped as too common)."""
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(profiles):
        for key in blocking_keys(p):
            buckets[key].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    skipped = 0
    for key, members in buckets.items():
        if len(members) > max_bucket:
            skipped += 1
            continue
        weight = MIN_SHARED if is_strong(key) else 1
        for x in range(len(members)):
            a = members[x]
            for b in members[x + 1:]:
                shared[(a, b) if a < b else (b, a)] += weight
    return {p for p, n in shared.items() if n >= MIN_SHARED}, skipped


def complete_link(
    n: int, scores: dict[tuple[int, int], float], threshold: float
) -> list[list[int]]:
    """Clusters where every member pair scores at least ``threshold`` (greedy, best pair first)."""
    cluster_of = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for (a, b), s in sorted(scores.items(), key=lambda kv: -kv[1]):
        if s < threshold:
            break
        ca, cb = cluster_of[a], cluster_of[b]
        if ca == cb:
            continue
        ok = all(
            scores.get((x, y) if x < y else (y, x), 0.0) >= threshold
            for x in members[ca] for y in members[cb]
        )
        if not ok:
            continue
        for x in members[cb]:
            cluster_of[x] = ca
        members[ca].extend(members.pop(cb))
    return [m for m in members.values() if len(m) > 1]


def scan(
    reports: Iterable[tuple[str, CaseVersionData]], model: Model, threshold: float | None = None
) -> ScanResult:
    """Follow-ups and duplicate pairs over a set of reports (see module docstring)."""
    t = model.threshold if threshold is None else threshold
    cases, links = assign_versions(reports)
    profiles = [c.profile for c in cases]
    pairs, skipped = candidate_pairs(profiles)
    per_case = 2 * len(pairs) / max(len(cases), 1)
    scored = {(a, b): model.score_fast(profiles[a], profiles[b], per_case) for a, b in pairs}
    id_dups = {(lk.report_a, lk.report_b) for lk in links if lk.relation == "duplicate"}
    for cluster in complete_link(len(cases), scored, t):
        cluster.sort()
        for i, a in enumerate(cluster):
            for b in cluster[i + 1:]:
                ra, rb = cases[a].case_id, cases[b].case_id
                if (ra, rb) in id_dups or (rb, ra) in id_dups:
                    continue
                links.append(Link(ra, rb, "duplicate", scored[(a, b)]))
    return ScanResult(cases, links, scored, skipped)

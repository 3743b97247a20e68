"""The prebuilt lookup index: exact keys, and fuzzy search that stays fast at MedDRA size.

Scoring every one of 80,000 LLT names per verbatim is too slow, so fuzzy search first finds
candidate names through their words: each query word is matched to dictionary words within a
small edit distance (a deletion neighbourhood, as in SymSpell), the names containing those
words are gathered, and only they are scored with rapidfuzz.

The scorers are ``ratio`` and ``token_sort_ratio`` (normalised Indel similarity of the whole
strings, the latter after sorting words). Both penalise length difference, so a name merely
contained in a longer verbatim scores low: "glandular fever" vs "fever" is 50, not 100 as
``partial_ratio``/``token_set_ratio``/``WRatio`` would give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from safety.coding.terminology import by_constructor

MAX_CANDIDATES = 1500
SIMILAR_MEMO = 50_000
LONG_WORD = 8


@dataclass(frozen=True, slots=True)
class Entry:
    """One text that leads to a concept: its dictionary name or a synonym."""

    text: str
    code: str
    origin: str  # "name", or a synonym's origin (safety.coding.terminology.DICTIONARY, ...)
    auto: bool

    __reduce__ = by_constructor


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        nxt = set()
        for w in frontier:
            if len(w) <= 1:
                continue
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        out |= nxt
        frontier = nxt
    return out


def _query_depth(word: str) -> int:
    """Deletions tried on the query word when one deletion found nothing."""
    if len(word) <= 3:
        return 0
    return 1 if len(word) <= 5 else 2


class MatchIndex:
    def __init__(self, keyed: Iterable[tuple[str, str, Entry]]) -> None:
        """``keyed`` yields (full key, core key, entry) for every text to index."""
        self.full: dict[str, list[Entry]] = {}
        self.core: dict[str, list[Entry]] = {}
        for full, core, entry in keyed:
            if not full:
                continue
            self.full.setdefault(full, []).append(entry)
            self.core.setdefault(core, []).append(entry)
        self.keys: list[str] = list(self.core)
        postings: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            for word in set(key.split()):
                postings.setdefault(word, []).append(i)
        self.postings = postings
        neighbours: dict[str, list[str]] = {}
        for word in postings:
            for variant in _deletes(word, 1 if len(word) > 3 else 0):
                neighbours.setdefault(variant, []).append(word)
        self.neighbours = neighbours
        # Verbatim words repeat a great deal ("pain", "rash"); their neighbours are memoised.
        self._similar: dict[tuple[str, bool], set[str]] = {}

    def clear_memo(self) -> None:
        self._similar.clear()

    def exact(self, full: str, core: str) -> list[Entry]:
        return self.full.get(full) or self.core.get(core) or []

    def similar_words(self, word: str, deep: bool = True) -> set[str]:
        """Dictionary words within a few edits of ``word``.

        One deletion on each side already covers one insertion, deletion, substitution or
        transposition; for short words two deletions on the query side are tried only when
        that finds nothing, which keeps the common case cheap.
        """
        memo_key = (word, deep)
        known = self._similar.get(memo_key)
        if known is not None:
            return known
        found: set[str] = set()
        max_depth = _query_depth(word) if deep else min(_query_depth(word), 1)
        # Long words (where two slips are common) go straight to the full depth.
        first = max_depth if len(word) >= LONG_WORD else min(max_depth, 1)
        for depth in range(first, max_depth + 1):
            for variant in _deletes(word, depth):
                hit = self.neighbours.get(variant)
                if hit:
                    found.update(hit)
            if found:
                break
        if len(self._similar) >= SIMILAR_MEMO:
            self._similar.clear()
        self._similar[memo_key] = found
        return found

    def candidates(self, query: str) -> list[int]:
        words = query.split()
        groups: list[set[int]] = []
        probes = [(w, True) for w in words]
        if len(words) > 1:
            probes.append(("".join(words), False))
        for word, deep in probes:
            ids: set[int] = set()
            for similar in self.similar_words(word, deep):
                ids.update(self.postings[similar])
            if ids:
                groups.append(ids)
        if not groups:
            return []
        groups.sort(key=len)
        chosen: set[int] = set(groups[0])
        for group in groups[1:]:
            if len(chosen) + len(group) > MAX_CANDIDATES:
                break
            chosen |= group
        return list(chosen)

    def fuzzy(self, query: str, limit: int = 10) -> list[tuple[str, float]]:
        """Best keys for ``query`` with a 0-100 score, best first.

        One C-level pass with ``token_sort_ratio`` shortlists; the shortlist is rescored with
        the better of ``ratio`` and ``token_sort_ratio``.
        """
        ids = self.candidates(query)
        if not ids:
            return []
        keys = self.keys
        choices = [keys[i] for i in ids]
        rough = process.extract(
            query, choices, scorer=fuzz.token_sort_ratio, limit=limit * 3, score_cutoff=40
        )
        best = {
            key: max(score, fuzz.ratio(query, key)) for key, score, _ in rough
        }
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

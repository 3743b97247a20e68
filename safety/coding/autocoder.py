"""The autocoder: a verbatim in, the chosen concept with its roll-up and suggestions out.

It auto-codes only when a physician would not have chosen differently: an exact or synonym
match that names one PT, or a fuzzy match above a calibrated score with a clear margin over
the best match to a *different* PT. Everything else goes to review with ranked candidates.
Thresholds are data (``dictionaries/curation/autocoder_thresholds.json``), calibrated by
``scripts/evaluate_coding.py``; non-current LLTs are never indexed, so never chosen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from rapidfuzz import fuzz

from safety.cases.model import CodedTerm
from safety.coding.index import Entry, MatchIndex
from safety.coding.normalise import Rules, drug_key, event_keys, is_non_event, rules_for
from safety.coding.paths import curation_dir
from safety.coding.terminology import SUBSTANCE, Terminology

CANDIDATES = 5


@dataclass(frozen=True, slots=True)
class Thresholds:
    """``fuzzy_auto``: minimum fuzzy score; ``margin``: lead over the runner-up PT;
    ``min_length``: shortest normalised text a fuzzy match may auto-code; ``suggest_min``:
    below it the best fuzzy match is only a candidate, not the chosen code."""

    fuzzy_auto: float = 92.0
    margin: float = 6.0
    min_length: int = 5
    suggest_min: float = 70.0

    @classmethod
    def load(cls, kind: str, path: Path | None = None) -> Thresholds:
        path = path or curation_dir() / "autocoder_thresholds.json"
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))[kind]
        return cls(
            float(data["fuzzy_auto"]), float(data["margin"]), int(data["min_length"]),
            float(data["suggest_min"]),
        )


@dataclass(slots=True)
class Candidate:
    code: str
    term: str
    score: float


class CodingLine(TypedDict):
    """One line of the CLI's JSON-lines output (fixed; other tools parse it)."""

    verbatim: str
    code: str | None
    term: str | None
    level: str | None
    pt_code: str | None
    pt_term: str | None
    soc_code: str | None
    score: float | None
    method: str
    auto: bool
    candidates: list[dict[str, Any]]  # Candidate fields


@dataclass(slots=True)
class CodingResult:
    verbatim: str
    code: str | None = None
    term: str | None = None
    level: str | None = None
    pt_code: str | None = None
    pt_term: str | None = None
    soc_code: str | None = None
    soc_term: str | None = None
    score: float | None = None
    method: str = "none"  # exact, synonym, fuzzy, none, non_event
    auto: bool = False
    candidates: list[Candidate] = field(default_factory=list)
    family: str | None = None
    version: str | None = None
    moiety_code: str | None = None
    moiety_term: str | None = None
    origin: str | None = None  # of an exact match: "name", or the synonym's origin

    def to_line(self) -> CodingLine:
        """The CLI's JSON-lines shape (fixed; other tools parse it)."""
        return {
            "verbatim": self.verbatim,
            "code": self.code,
            "term": self.term,
            "level": self.level,
            "pt_code": self.pt_code,
            "pt_term": self.pt_term,
            "soc_code": self.soc_code,
            "score": self.score,
            "method": self.method,
            "auto": self.auto,
            "candidates": [asdict(c) for c in self.candidates],
        }

    def to_coded_term(self) -> CodedTerm:
        return CodedTerm(
            verbatim=self.verbatim, code=self.code, term=self.term, level=self.level,
            family=self.family, version=self.version, pt_code=self.pt_code,
            pt_term=self.pt_term, soc_code=self.soc_code, soc_term=self.soc_term,
            method=self.method, score=self.score, auto=self.auto,
        )


WORD_AGREEMENT = 75.0


def words_agree(query: str, key: str) -> bool:
    """Every word on each side has a close counterpart on the other.

    Whole-string similarity lets one shared long word carry a match ("rectal bleeding" vs
    "coital bleeding" scores 87); a misspelling changes letters, not whole words, so a fuzzy
    match is auto-coded only when no word has been swapped for a different one.
    """
    q, k = query.split(), key.split()
    if not q or not k:
        return False
    return all(max(fuzz.ratio(a, b) for b in k) >= WORD_AGREEMENT for a in q) and all(
        max(fuzz.ratio(b, a) for a in q) >= WORD_AGREEMENT for b in k
    )


@dataclass(frozen=True, slots=True)
class _Exact:
    ordered: list[tuple[str, str]]  # (code, origin)
    by_name: dict[str, tuple[str, str]]
    auto: bool


class Autocoder:
    """Codes verbatims against one terminology release (events or drugs)."""

    def __init__(
        self,
        terms: Terminology,
        kind: str,
        thresholds: Thresholds | None = None,
        rules: Rules | None = None,
        curation: Path | None = None,
    ) -> None:
        """``curation`` is the folder of the normalisation lists and thresholds used where
        ``rules`` and ``thresholds`` are not given (default: the bundled dictionary's)."""
        if kind not in ("events", "drugs"):
            raise ValueError(f"kind must be 'events' or 'drugs', not {kind!r}")
        curation = curation or curation_dir()
        self.terms = terms
        self.kind = kind
        self.level = "LLT" if kind == "events" else SUBSTANCE
        self.rules = rules or rules_for(curation)
        self.thresholds = thresholds or Thresholds.load(kind,
                                                        curation / "autocoder_thresholds.json")
        self.index = MatchIndex(self._keyed(self._entries()))
        self._group: dict[str, str] = {}
        self._exact: dict[int, tuple[list[Entry], _Exact]] = {}
        self._filled: dict[str, tuple[str | None, ...]] = {}

    def _entries(self) -> Iterable[Entry]:
        current = {c.code for c in self.terms.at_level(self.level) if c.current}
        for code in current:
            concept = self.terms.get(self.level, code)
            if concept is not None:
                yield Entry(concept.name, code, "name", True)
        for syn in self.terms.synonyms:
            if syn.level == self.level and syn.code in current:
                yield Entry(syn.text, syn.code, syn.origin, syn.auto)

    def _keyed(self, entries: Iterable[Entry]) -> Iterable[tuple[str, str, Entry]]:
        for entry in entries:
            full, core = self._keys(entry.text)
            yield full, core, entry

    def _keys(self, text: str) -> tuple[str, str]:
        if self.kind == "events":
            keys = event_keys(text, self.rules)
            return keys.full, keys.core
        key = drug_key(text, self.rules)
        return key, key

    def group_of(self, code: str) -> str:
        """What two candidates must differ in to count as different answers: the PT for
        events, the active moiety for drugs."""
        cached = self._group.get(code)
        if cached is not None:
            return cached
        if self.kind == "events":
            pt = self.terms.rollup(code, "LLT").pt
            group = pt.code if pt else code
        else:
            moiety = self.terms.moiety_of(code)
            group = moiety.code if moiety else code
        self._group[code] = group
        return group

    def code(self, verbatim: str) -> CodingResult:
        result = CodingResult(
            verbatim=verbatim,
            family=self.terms.release.family,
            version=self.terms.release.version,
        )
        if self.kind == "events":
            keys = event_keys(verbatim, self.rules)
            if is_non_event(keys, self.rules):
                result.method = "non_event"
                return result
            full, core = keys.full, keys.core
        else:
            full = core = drug_key(verbatim, self.rules)
        if not full:
            return result
        hits = self.index.exact(full, core)
        if hits:
            exact = self._resolve(hits)
            text = " ".join(verbatim.lower().split())
            code, origin = exact.by_name.get(text) or exact.ordered[0]
            result.method = "exact" if origin == "name" else "synonym"
            result.origin = origin
            result.score = 100.0
            result.auto = exact.auto
            self._fill(result, code)
            ranked = [(code, 100.0)] + [(c, 100.0) for c, _ in exact.ordered]
            if not result.auto:
                # Only a term going to review needs look-alike suggestions.
                ranked += self._fuzzy_codes(core, exclude={c for c, _ in exact.ordered})
            result.candidates = self._candidates(ranked)
            return result
        ranked = self._fuzzy_codes(core)
        result.candidates = self._candidates(ranked)
        if not ranked:
            return result
        best_code, best_score = ranked[0]
        if best_score < self.thresholds.suggest_min:
            return result
        best_group = self.group_of(best_code)
        runner_up = next((s for c, s in ranked[1:] if self.group_of(c) != best_group), 0.0)
        result.method = "fuzzy"
        result.score = round(best_score, 1)
        self._fill(result, best_code)
        best_entries = self._entries_for_key_code(ranked[0])
        t = self.thresholds
        result.auto = (
            best_score >= t.fuzzy_auto
            and best_score - runner_up >= t.margin
            and len(core) >= t.min_length
            and all(e.auto for e in best_entries)
            and words_agree(core, self._last_keys.get(best_code, ""))
        )
        return result

    def _resolve(self, hits: list[Entry]) -> _Exact:
        """What an exact key means, computed once per key: its codes in preference order
        (dictionary name before synonym, the PT's own LLT first), and whether it is safe to
        auto-code (one PT/moiety, no suggestion-only rows)."""
        cached = self._exact.get(id(hits))
        if cached is not None and cached[0] is hits:
            return cached[1]

        def rank(e: Entry) -> tuple[int, int, str]:
            return (
                0 if e.origin == "name" else 1,
                0 if self.group_of(e.code) == e.code else 1,
                e.code,
            )

        ordered: list[tuple[str, str]] = []
        seen: set[str] = set()
        for e in sorted(hits, key=rank):
            if e.code not in seen:
                seen.add(e.code)
                ordered.append((e.code, e.origin))
        by_name: dict[str, tuple[str, str]] = {}
        for code, origin in ordered:
            concept = self.terms.get(self.level, code)
            if concept is not None and origin == "name":
                # The LLT spelled exactly as the reporter wrote it wins ("Anemia" vs "Anaemia").
                by_name.setdefault(" ".join(concept.name.lower().split()), (code, origin))
        groups = {self.group_of(c) for c, _ in ordered}
        resolved = _Exact(ordered, by_name, len(groups) == 1 and all(e.auto for e in hits))
        self._exact[id(hits)] = (hits, resolved)
        return resolved

    def _fuzzy_codes(self, core: str, exclude: set[str] | None = None) -> list[tuple[str, float]]:
        exclude = exclude or set()
        out: list[tuple[str, float]] = []
        seen: set[str] = set(exclude)
        self._last_entries: dict[str, list[Entry]] = {}
        self._last_keys: dict[str, str] = {}
        for key, score in self.index.fuzzy(core, limit=12):
            for entry in self.index.core[key]:
                self._last_entries.setdefault(entry.code, []).append(entry)
                self._last_keys.setdefault(entry.code, key)
                if entry.code not in seen:
                    seen.add(entry.code)
                    out.append((entry.code, score))
        return out

    def _entries_for_key_code(self, ranked_first: tuple[str, float]) -> list[Entry]:
        return self._last_entries.get(ranked_first[0], [])

    def _candidates(self, ranked: list[tuple[str, float]]) -> list[Candidate]:
        out: list[Candidate] = []
        groups: set[str] = set()
        for code, score in ranked:
            group = self.group_of(code)
            if group in groups:
                continue
            groups.add(group)
            concept = self.terms.get(self.level, code)
            out.append(Candidate(code, concept.name if concept else code, round(score, 1)))
            if len(out) == CANDIDATES:
                break
        return out

    def _fill(self, result: CodingResult, code: str) -> None:
        filled = self._filled.get(code)
        if filled is None:
            concept = self.terms.get(self.level, code)
            term = concept.name if concept else None
            if self.kind == "events":
                up = self.terms.rollup(code, "LLT")
                filled = (
                    term,
                    up.pt.code if up.pt else None, up.pt.name if up.pt else None,
                    up.soc.code if up.soc else None, up.soc.name if up.soc else None,
                    None, None,
                )
            else:
                moiety = self.terms.moiety_of(code)
                filled = (
                    term, None, None, None, None,
                    moiety.code if moiety else None, moiety.name if moiety else None,
                )
            self._filled[code] = filled
        result.code, result.level = code, self.level
        (result.term, result.pt_code, result.pt_term, result.soc_code, result.soc_term,
         result.moiety_code, result.moiety_term) = filled

"""The autocoder: a verbatim in, the chosen concept with its roll-up and suggestions out.

It auto-codes only when a physician would not have chosen differently: an exact or synonym
match that names one PT, or a fuzzy match above a calibrated score with a clear margin over
the best match to a *different* PT. Everything else goes to review with ranked candidates.
Thresholds are data (``dictionaries/curation/autocoder_thresholds.json``), calibrated by
``scripts/evaluate_coding.py``; non-current LLTs are never indexed, so never chosen.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

from rapidfuzz import fuzz

from safety.cases.model import CodedTerm
from safety.coding.index import Entry, MatchIndex
from safety.coding.lay import FUNCTION_WORDS, LayReading, LayRules, lay_rules
from safety.coding.normalise import Rules, drug_key, event_keys, is_non_event, rules_for
from safety.coding.paths import curation_dir
from safety.coding.semantic import Embedder, SemanticIndex
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
    # Semantic mode: the fused score (0-100) and lead over the next PT needed to auto-code.
    semantic_auto: float = 101.0
    semantic_margin: float = 100.0
    # Calibration table: (lowest fused score, precision observed there), highest first.
    confidence: tuple[tuple[float, float], ...] = ()
    # The calibrated semantic decision (scripts/evaluate_coding.py --calibrate-semantic): a
    # logistic model over ``Fused.features`` gives the probability that the best candidate is
    # right (the confidence); auto-coded at ``semantic_p_min`` and above. Empty: the
    # score/margin rule above decides.
    semantic_model: tuple[float, ...] = ()  # intercept, then one weight per feature
    semantic_p_min: float = 1.01
    # The embedding model it was calibrated with: another model's similarities are on another
    # scale, so with another model nothing is auto-coded by the semantic stage.
    semantic_for: str = ""
    # The names of ``Fused.named()`` the model's weights go with, in order; empty: the first
    # seven (``FEATURES_V1``), what thresholds calibrated before the names were stored used.
    semantic_features: tuple[str, ...] = ()

    @classmethod
    def load(cls, kind: str, path: Path | None = None) -> Thresholds:
        path = path or curation_dir() / "autocoder_thresholds.json"
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))[kind]
        return cls(
            float(data["fuzzy_auto"]), float(data["margin"]), int(data["min_length"]),
            float(data["suggest_min"]),
            float(data.get("semantic_auto", 101.0)), float(data.get("semantic_margin", 100.0)),
            tuple((float(a), float(b)) for a, b in data.get("confidence", ())),
            tuple(float(w) for w in data.get("semantic_model", ())),
            float(data.get("semantic_p_min", 1.01)),
            str(data.get("semantic_for", "")),
            tuple(str(n) for n in data.get("semantic_features", ())),
        )

    def probability(self, fused: Fused) -> float | None:
        """The calibrated probability that the best semantic candidate is right."""
        if not self.semantic_model:
            return None
        z = self.semantic_model[0] + sum(
            w * x for w, x in zip(self.semantic_model[1:],
                                  fused.features(self.semantic_features or FEATURES_V1),
                                  strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def confidence_of(self, score: float) -> float | None:
        """The precision observed at this fused score on the calibration rows."""
        for lowest, precision in self.confidence:
            if score >= lowest:
                return precision
        return None


class Fused(NamedTuple):
    """What the semantic stage saw for its best candidate (scores 0-100)."""

    best: float  # fused score
    lead: float  # over the best candidate of another PT
    eligible: bool  # may be auto-coded at all (auto-codable term, nothing denied or joined)
    lexical: bool  # the clinical fuzzy rule auto-coded the same PT
    cosine: float  # the model's similarity (x100), 0 when the model did not retrieve it
    fuzzy: float  # the lexical score, 0 when the lexical path did not retrieve it
    views: bool  # the lay reading and the words as written retrieve the same PT first
    lay: bool  # the lay rules rewrote the text
    # Word agreement (0-1) between what was read and the text the code was found through:
    # low when either names a word the other lacks ("near syncope" vs "Syncope", "hearing
    # loss" vs "Sudden hearing loss") -- a qualifier the similarity blurs.
    coverage: float = 1.0
    read_covered: float = 1.0  # share of the read words the found text names
    found_covered: float = 1.0  # share of the found text's words the reading names
    words: int = 1  # words in the reading that was searched
    sem_lead: float = 0.0  # the model's cosine (x100) over the next PT's it retrieved
    lexical_top: bool = False  # the lexical (fuzzy) ranking has the same PT first

    def named(self) -> dict[str, float]:
        """The calibrated model's possible inputs by name, each about 0-1."""
        return {
            "best": self.best / 100, "lead": self.lead / 100, "cosine": self.cosine / 100,
            "fuzzy": self.fuzzy / 100,
            "both": 1.0 if self.cosine > 0 and self.fuzzy > 0 else 0.0,
            "views": 1.0 if self.views else 0.0, "lay": 1.0 if self.lay else 0.0,
            "coverage": self.coverage, "read_covered": self.read_covered,
            "found_covered": self.found_covered, "words": min(self.words, 8) / 8,
            "sem_lead": self.sem_lead / 100, "lexical_top": 1.0 if self.lexical_top else 0.0,
        }

    def features(self, names: tuple[str, ...] = ()) -> tuple[float, ...]:
        """The model's inputs (``Thresholds.semantic_model``) in the order of ``names``."""
        values = self.named()
        return tuple(values[n] for n in (names or FEATURES_V1))


FEATURES_V1 = ("best", "lead", "cosine", "fuzzy", "both", "views", "lay")
# Words that carry no concept: left out when words are compared (``coverage``).
_LINKING = frozenset({"a", "an", "the", "of", "in", "on", "to", "at", "my", "and", "with",
                      "or", "for", "from", "by", "is", "was", "be"})


def coverage(query: str, text: str) -> tuple[float, float]:
    """The shares of each side's words with a close counterpart (fuzz ratio >=
    ``WORD_AGREEMENT``) on the other: (1, 1) when the two name the same things."""
    # A hyphen joins one word ("maculo-papular" is "maculopapular").
    q = [w for w in _FOLD_WORDS.sub(" ", query.lower().replace("-", "")).split()
         if w not in _LINKING]
    t = [w for w in _FOLD_WORDS.sub(" ", text.lower().replace("-", "")).split()
         if w not in _LINKING]
    if not q or not t:
        return 0.0, 0.0
    a = sum(1 for w in q if max(fuzz.ratio(w, x) for x in t) >= WORD_AGREEMENT) / len(q)
    b = sum(1 for x in t if max(fuzz.ratio(x, w) for w in q) >= WORD_AGREEMENT) / len(t)
    return a, b


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
    method: str = "none"  # exact, synonym, lay, fuzzy, semantic, none, non_event
    auto: bool = False
    confidence: float | None = None
    # Semantic stage: what the auto decision was made from, kept so that calibration can
    # replay it with other weights and thresholds.
    fused: Fused | None = None
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
_FOLD_WORDS = re.compile(r"[^a-z0-9]+")
AGREEMENT_BONUS = 3.0
# "tylenol and advil", "amlodipine/valsartan": two products, unless the dictionary names the
# combination itself (then the exact path has answered before this is asked).
_SEVERAL_DRUGS = re.compile(r"\band\b|&|\+|/|,|\bwith\b")


@dataclass(frozen=True, slots=True)
class _Pending:
    """A verbatim the lexical path left undecided, for the semantic stage."""

    query: str
    verbatim: str
    ranked: list[tuple[str, float]]
    negated: bool
    multiple: bool
    vague: bool = False
    lay: bool = False
    # The lay reading is one of two conventions (``LayReading.contested``): the physician
    # chooses, whatever the similarity says.
    doubted: bool = False


def words_agree(query: str, key: str) -> bool:
    """Every word on each side has a close counterpart on the other.

    Whole-string similarity lets one shared long word carry a match ("rectal bleeding" vs
    "coital bleeding" scores 87); a misspelling changes letters, not whole words, so a fuzzy
    match is auto-coded only when no word has been swapped for a different one.
    """
    q, k = query.split(), key.split()
    if not q or not k:
        return False
    # A hyphen the key lost joins one word ("Rash maculo-papular" keys "maculo papular";
    # a reporter writes "maculopapular"): two adjacent words that together are one word of
    # the other side count as that word.
    k, q = _joined(k, q), _joined(q, k)
    return all(max(fuzz.ratio(a, b) for b in k) >= WORD_AGREEMENT for a in q) and all(
        max(fuzz.ratio(b, a) for a in q) >= WORD_AGREEMENT for b in k
    )


def _joined(words: list[str], other: list[str]) -> list[str]:
    """``words`` with each adjacent pair that spells a word of ``other`` as one word."""
    if len(words) < 2:
        return words
    targets = set(other)
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in targets:
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


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
        embedder: Embedder | None = None,
        index_dir: Path | None = None,
    ) -> None:
        """``curation`` is the folder of the normalisation lists and thresholds used where
        ``rules`` and ``thresholds`` are not given (default: the bundled dictionary's).
        ``embedder`` (``semantic.load_embedder()``) turns on semantic retrieval; its index
        is stored in ``index_dir`` and reused by later processes."""
        if kind not in ("events", "drugs"):
            raise ValueError(f"kind must be 'events' or 'drugs', not {kind!r}")
        curation = curation or curation_dir()
        self.terms = terms
        self.kind = kind
        self.level = "LLT" if kind == "events" else SUBSTANCE
        self.rules = rules or rules_for(curation)
        self.thresholds = thresholds or Thresholds.load(kind,
                                                        curation / "autocoder_thresholds.json")
        entries = list(self._entries())
        self.index = MatchIndex(self._keyed(entries))
        self.lay: LayRules | None = lay_rules(curation) if kind == "events" else None
        self._group: dict[str, str] = {}
        self._exact: dict[int, tuple[list[Entry], _Exact]] = {}
        self._filled: dict[str, tuple[str | None, ...]] = {}
        self.semantic: SemanticIndex | None = None
        self._auto_codes = {e.code for e in entries if e.auto}
        # Lay phrases of rows that name two conventions (``a|b``), as indexed exemplars.
        self._doubted_exemplars = frozenset(
            row.partition(" ")[2] for row in (self.lay.alternatives if self.lay else {})
            if row.startswith("phrase "))
        if embedder is not None:
            self.attach_semantic(embedder, index_dir)

    def attach_semantic(self, embedder: Embedder, index_dir: Path | None, *,
                        lay_exemplars: bool = True) -> None:
        """Turn on semantic retrieval: the stored index of this release is loaded (or built
        and stored). A lexical coder kept built between processes gets it this way.

        ``lay_exemplars=False`` indexes the dictionary's own texts only: calibration reads the
        development verbatims so, because their phrasing went into the lay vocabulary."""
        entries = list(self._entries())
        exemplars = self._lay_exemplars() if lay_exemplars else []
        self.semantic = SemanticIndex(
            [e.text for e in entries] + [t for t, _ in exemplars],
            [e.code for e in entries] + [c for _, c in exemplars],
            embedder,
            release_checksum=self.terms.release.checksum or self.terms.release.version,
            cache_dir=index_dir,
        )

    def _entries(self) -> Iterable[Entry]:
        current = {c.code for c in self.terms.at_level(self.level) if c.current}
        # In code order: a set's order changes with each process's string hashing, and the
        # stored semantic index is keyed on its texts in order (it was rebuilt every run).
        for code in sorted(current):
            concept = self.terms.get(self.level, code)
            if concept is not None:
                yield Entry(concept.name, code, "name", True)
        for syn in self.terms.synonyms:
            if syn.level == self.level and syn.code in current:
                yield Entry(syn.text, syn.code, syn.origin, syn.auto)

    def _lay_exemplars(self) -> list[tuple[str, str]]:
        """Lay phrases of the vocabulary whose medical reading is a dictionary key, as
        (lay text, code): a new lay wording is then near a known one, not only near the
        medical name ("my knees are killing me" near "knees hurt")."""
        if self.lay is None:
            return []
        out: list[tuple[str, str]] = []
        for lay, medical in sorted(self.lay.phrases.items()):
            keys = event_keys(medical, self.rules)
            hits = self.index.exact(keys.full, keys.core)
            if hits and (" " in lay or len(lay) > 5):
                out.append((lay, self._resolve(hits).ordered[0][0]))
        return out

    def _keyed(self, entries: Iterable[Entry]) -> Iterable[tuple[str, str, Entry]]:
        for entry in entries:
            full, core = self._keys(entry.text)
            if (self.kind == "drugs" and entry.origin != "name" and entry.auto
                    and " " not in full and any(c.isdigit() for c in entry.text)
                    and not any(c.isdigit() for c in full)):
                # "ANTIBIOTIC 503-3" loses its number as a dose and leaves "antibiotic": a
                # class word, not this substance's name. Suggest, never auto-code.
                entry = Entry(entry.text, entry.code, entry.origin, False)
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

    @property
    def mode(self) -> str:
        """Which retrieval runs: ``lexical`` or ``semantic (<model>)``."""
        if self.semantic is None:
            return "lexical"
        return f"semantic ({self.semantic.embedder.name})"

    def code(self, verbatim: str) -> CodingResult:
        return self.code_many([verbatim])[0]

    def code_many(self, verbatims: list[str]) -> list[CodingResult]:
        """Code several verbatims; the semantic model encodes the undecided ones as a batch."""
        out: list[CodingResult] = []
        pending: list[tuple[CodingResult, _Pending]] = []
        for verbatim in verbatims:
            result, state = self._lexical(verbatim)
            out.append(result)
            if state is not None:
                pending.append((result, state))
        if pending and self.semantic is not None:
            # The lay reading and the words as written: the model knows some lay phrasing
            # the rules do not, and the rules fix misspellings the model does not know.
            # Both in one call: the model encodes them as one batch.
            both = self.semantic.matches_many([s.query for _, s in pending]
                                              + [s.verbatim for _, s in pending])
            by_reading, as_written = both[:len(pending)], both[len(pending):]
            for (result, state), one, two in zip(pending, by_reading, as_written, strict=True):
                # Per code: the better cosine of the two views, and what it was found through
                # (the indexed text, and which of the two texts was read).
                best: dict[str, tuple[float, str, str]] = {
                    code: (cosine, text, state.verbatim) for code, cosine, text in two}
                for code, cosine, text in one:
                    if cosine > best.get(code, (-1.0, "", ""))[0]:
                        best[code] = (cosine, text, state.query)
                hits = sorted(((c, v[0]) for c, v in best.items()), key=lambda kv: -kv[1])
                views = bool(one and two and self.group_of(one[0][0]) == self.group_of(two[0][0]))
                found = {c: (v[1], v[2]) for c, v in best.items()}
                self._fuse(result, state, hits, views, found)
        return out

    def _lexical(self, verbatim: str) -> tuple[CodingResult, _Pending | None]:
        result = CodingResult(
            verbatim=verbatim,
            family=self.terms.release.family,
            version=self.terms.release.version,
        )
        if self.kind == "events":
            keys = event_keys(verbatim, self.rules)
            if is_non_event(keys, self.rules):
                result.method = "non_event"
                return result, None
            full, core = keys.full, keys.core
        else:
            full = core = drug_key(verbatim, self.rules)
        if not full:
            return result, None
        hits = self.index.exact(full, core)
        several = self.kind == "drugs" and _SEVERAL_DRUGS.search(verbatim) is not None
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
            return result, None
        ranked = self._fuzzy_codes(core)
        best_key = dict(self._last_keys)
        best_entries = self._last_entries.get(ranked[0][0], []) if ranked else []
        auto = self._fuzzy_auto(core, ranked, best_key, best_entries)
        # The lay layer only reads what the clinical path could not auto-code, so clinical
        # wording is coded exactly as before it existed.
        reading = self.lay.read(verbatim) if self.lay is not None and not auto else None
        if reading is not None and self._lay_exact(result, reading, core):
            return result, None
        if reading is not None:
            merged = dict(ranked)
            for query in reading.queries[:2]:
                q_core = event_keys(query, self.rules).core
                if q_core == core:
                    continue
                for code, score in self._fuzzy_codes(q_core):
                    if score > merged.get(code, -1.0):
                        merged[code] = score
            ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        result.candidates = self._candidates(ranked)
        negated = (reading is not None and reading.negated) or (several and not hits)
        if ranked and ranked[0][1] >= self.thresholds.suggest_min:
            result.method = "fuzzy"
            result.score = round(ranked[0][1], 1)
            self._fill(result, ranked[0][0])
            result.auto = auto and not negated
        if result.auto:
            return result, None  # the clinical rule decided; similarity cannot overrule it
        query = reading.queries[0] if reading is not None and reading.queries else core
        # The words as written, less the framing a report wraps the event in (round 6).
        written = reading.event if reading is not None and reading.event else verbatim
        return result, _Pending(query, written, ranked, negated,
                                reading.multiple if reading else False,
                                reading.vague if reading else False,
                                reading is not None and query != core,
                                bool(reading.contested) if reading else False)

    def _fuzzy_auto(self, core: str, ranked: list[tuple[str, float]], keys: dict[str, str],
                    entries: list[Entry]) -> bool:
        if not ranked:
            return False
        best_code, best_score = ranked[0]
        best_group = self.group_of(best_code)
        runner_up = next((s for c, s in ranked[1:] if self.group_of(c) != best_group), 0.0)
        t = self.thresholds
        return (
            best_score >= t.fuzzy_auto
            and best_score - runner_up >= t.margin
            and len(core) >= t.min_length
            and all(e.auto for e in entries)
            and words_agree(core, keys.get(best_code, ""))
        )

    def _lay_exact(self, result: CodingResult, reading: LayReading, core: str) -> bool:
        """A lay reading that is itself a dictionary key: coded as ``lay``; auto-coded when
        the key names one PT, the text denies nothing and names one event only."""
        for query in reading.queries:
            keys = event_keys(query, self.rules)
            hits = self.index.exact(keys.full, keys.core)
            if not hits:
                continue
            exact = self._resolve(hits)
            code = exact.ordered[0][0]
            result.method = "lay"
            result.score = 100.0
            # A body-part reading is auto-coded only when every word it leaves unread is a
            # function word: "open sore on my shin that won't heal" is not only shin pain.
            # With a vaccination/injection site named, only the site's own terms are.
            # A reading the vocabulary marks as one of two conventions (``a|b``): both offered,
            # neither auto-coded.
            others = dict(reading.contested).get(query, ())
            result.auto = (exact.auto and not others and not reading.negated
                           and not reading.multiple
                           and not (query == reading.combo
                                    and (self._names_event(reading.rest)
                                         or any(w not in FUNCTION_WORDS for w in reading.rest)))
                           and (not reading.site or query in reading.site))
            self._fill(result, code)
            ranked = [(c, 100.0) for c, _ in exact.ordered]
            for other in others:
                other_keys = event_keys(other, self.rules)
                ranked += [(e.code, 100.0) for e in self.index.exact(other_keys.full,
                                                                     other_keys.core)]
            if not result.auto:
                ranked += self._fuzzy_codes(core, exclude={c for c, _ in exact.ordered})
            result.candidates = self._candidates(ranked)
            return True
        return False

    def _names_event(self, words: tuple[str, ...]) -> bool:
        """Whether a word left beside a body-part reading is a dictionary term by itself."""
        for word in words:
            keys = event_keys(word, self.rules)
            if keys.core and self.index.exact(keys.full, keys.core):
                return True
        return False

    def _fuse(self, result: CodingResult, state: _Pending, hits: list[tuple[str, float]],
              views: bool, found: dict[str, tuple[str, str]] | None = None) -> None:
        """Lexical and semantic scores fused: a code's score is the better of its fuzzy score
        and its cosine (x100), plus a small agreement bonus when both retrieve it."""
        fused: dict[str, float] = {}
        scores = dict(state.ranked)
        for code, cosine in hits:
            fused[code] = 100.0 * cosine
        for code, score in scores.items():
            fused[code] = max(fused.get(code, 0.0), score)
        retrieved = {c for c, _ in hits}
        for code in fused:
            if code in scores and code in retrieved:
                fused[code] += AGREEMENT_BONUS
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
        result.candidates = self._candidates(ranked)
        if not ranked:
            return
        best_code, best = ranked[0]
        group = self.group_of(best_code)
        runner_up = next((s for c, s in ranked[1:] if self.group_of(c) != group), 0.0)
        t = self.thresholds
        text, read = (found or {}).get(best_code, ("", ""))
        # Found through a doubted row's lay phrase (an index exemplar): as doubted as the row.
        eligible = (best_code in self._auto_codes and not state.negated
                    and not state.multiple and not state.vague and not state.doubted
                    and text not in self._doubted_exemplars)
        lexical = bool(result.auto and result.code is not None
                       and self.group_of(result.code) == group)
        cosines = dict(hits)
        cosine = cosines.get(best_code, 0.0)
        next_cosine = next((v for c, v in hits if self.group_of(c) != group), 0.0)
        if not text:  # found by the lexical path only: its words against the term's name
            concept = self.terms.get(self.level, best_code)
            text, read = (concept.name if concept else ""), state.query
        covered = coverage(read, text)
        lexical_top = bool(state.ranked) and self.group_of(state.ranked[0][0]) == group
        fused_record = Fused(best, best - runner_up, eligible, lexical,
                             100.0 * cosine, scores.get(best_code, 0.0),
                             views, state.lay, min(covered), *covered, len(state.query.split()),
                             100.0 * max(cosine - next_cosine, 0.0) if cosine else 0.0,
                             lexical_top)
        result.fused = fused_record
        probability = t.probability(fused_record)
        if probability is not None:
            calibrated = self.semantic is not None and t.semantic_for in (
                "", self.semantic.embedder.name)
            semantic_auto = lexical or (eligible and calibrated
                                        and probability >= t.semantic_p_min)
            result.confidence = round(probability, 3)
        else:
            semantic_auto = lexical or (
                eligible and best >= t.semantic_auto and best - runner_up >= t.semantic_margin)
            result.confidence = t.confidence_of(best)
        if not lexical:
            result.method = "semantic"
        result.score = round(best, 1)
        result.auto = semantic_auto
        self._fill(result, best_code)

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

"""Event and drug terms as concepts: what two differently worded reports of one case share.

Two reports of one case rarely word or code their events alike: a consumer writes "threw up",
the physician "emesis", the partner codes the PT *Vomiting*; one sender codes the LLT, another
leaves the verbatim uncoded. Comparing exact codes calls all of these different events (FDA and
UMC both list differing event terms among the ways one case's reports come to differ). Here each
term is reduced to a *concept* with the bundled open dictionary's autocoder (exact, synonym and
lay-language matches and the calibrated fuzzy rule, auto-coded results only: a guess is never a
concept), and drugs to their active moiety (FDA UNII), so that brand and generic, coded and
uncoded, meet.

The open dictionary has no HLT or HLGT level (dictionaries/README.md), so "same HLT" cannot be
told from it; the partial agreement used instead is a token similarity between one side's
verbatim and the other side's concept names and synonyms (``event_agreement``).

Which dictionary: the one the installation codes with (``ConceptSource``), which the service
layer names from the settings and the active releases (``safety.dedup.service.concept_source``)
and makes current for the work it does (``using``); without one (file-level scans, the
evaluation), the open dictionary bundled with the package, which is also the settings' default.
Nothing is loaded until a text is first resolved (building an autocoder takes about 3 s); the
coders and every resolved text are then kept per source for the life of the process, so a warm
worker pays it once per release. Profile building stays a plain function of the case.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

from safety.cases.identifiers import norm_text
from safety.coding.autocoder import Autocoder
from safety.coding.bundled import bundled_autocoder
from safety.package_data import BUNDLED_DICTIONARIES

SIMILAR = 88.0  # token-set similarity of a verbatim to one of a concept's names: same event
UNLIKE = 50.0  # below this against every name, an uncoded verbatim names something else
KEPT_SOURCES = 2  # sources kept built per process (the active release and the one before)
MAX_TEXTS = 65536  # resolved texts kept per source and kind


@dataclass(frozen=True)
class ConceptSource:
    """The coders concepts are read from. ``key`` names the releases (or dictionary folder):
    two sources with one key are the same dictionary, and share what was built and resolved.
    The factories are called once, at the first text resolved."""

    key: str
    events: Callable[[], Autocoder] = field(compare=False)
    drugs: Callable[[], Autocoder] = field(compare=False)


def folder_source(path: Path = BUNDLED_DICTIONARIES) -> ConceptSource:
    """The open dictionary in a folder (``settings.dictionaries``; by default the bundled one)."""
    return ConceptSource(f"dir:{path}", lambda: bundled_autocoder("events", path),
                         lambda: bundled_autocoder("drugs", path))


class Concepts:
    """Concept lookups over one dictionary: coders built at first use, each text resolved once.

    It keeps no source (whose factories may hold the session of the job that named it, which a
    job may not keep, docs/decisions.md): each call passes the source current then."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._coders: dict[str, Autocoder] = {}
        self._texts: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()
        self._names: dict[str, tuple[str, ...]] | None = None

    def coder(self, kind: str, source: ConceptSource) -> Autocoder:
        with self._lock:
            coder = self._coders.get(kind)
            if coder is None:
                coder = (source.events if kind == "events" else source.drugs)()
                self._coders[kind] = coder
            return coder

    def resolve(self, kind: str, text: str, source: ConceptSource) -> str | None:
        key = (kind, text)
        if key in self._texts:
            return self._texts[key]
        result = self.coder(kind, source).code(text)
        value: str | None = None
        if kind == "events":
            if result.auto and (result.pt_term or result.term):
                value = f"c:{norm_text(result.pt_term or result.term)}"
        elif result.auto and (code := result.moiety_code or result.code):
            value = f"u:{code}"
        if len(self._texts) < MAX_TEXTS:
            self._texts[key] = value
        return value

    def names_by_pt(self, source: ConceptSource) -> dict[str, tuple[str, ...]]:
        if self._names is None:
            self._names = _names_by_pt(self.coder("events", source))
        return self._names


_kept: OrderedDict[str, Concepts] = OrderedDict()
_kept_lock = threading.Lock()
_current: ContextVar[ConceptSource | None] = ContextVar("dedup_concepts", default=None)


def current_source() -> ConceptSource:
    """The source made current (``using``), else the bundled open dictionary."""
    return _current.get() or _default_source()


def concepts(source: ConceptSource) -> Concepts:
    """The concepts of ``source``, kept once per process and key; the least recently used
    beyond ``KEPT_SOURCES`` dropped."""
    with _kept_lock:
        found = _kept.get(source.key)
        if found is None:
            found = _kept[source.key] = Concepts(source.key)
            while len(_kept) > KEPT_SOURCES:
                _kept.popitem(last=False)
        _kept.move_to_end(source.key)
        return found


@lru_cache(maxsize=1)
def _default_source() -> ConceptSource:
    return folder_source()


@contextmanager
def using(source: ConceptSource) -> Iterator[Concepts]:
    """Resolve terms with ``source`` within the block (this thread or task only)."""
    token = _current.set(source)
    try:
        yield concepts(source)
    finally:
        _current.reset(token)


def event_concept(text: str) -> str | None:
    """The PT an event text auto-codes to (``"c:<pt name>"``), or None."""
    source = current_source()
    return concepts(source).resolve("events", text, source)


def drug_moiety(text: str) -> str | None:
    """The active moiety a drug name auto-codes to (``"u:<code>"``), or None."""
    source = current_source()
    return concepts(source).resolve("drugs", text, source)


def event_key_of(texts: list[str], fallback: str) -> str:
    """One concept per reaction: the first of its texts (PT name, term, verbatim: most
    standard first) that auto-codes, else the code or verbatim key it had."""
    for text in texts:
        concept = event_concept(text)
        if concept is not None:
            return concept
    return fallback


def drug_key_of(texts: list[str], fallback: set[str]) -> set[str]:
    """The drug's active moiety when one of its names (coded term first) auto-codes, else its
    code or verbatim keys."""
    for text in texts:
        moiety = drug_moiety(text)
        if moiety is not None:
            return {moiety}
    return fallback


def _names_by_pt(coder: Autocoder) -> dict[str, tuple[str, ...]]:
    """Every name the dictionary gives a PT: its own, its LLTs' and their synonyms."""
    terms = coder.terms
    pt_of: dict[str, str] = {}
    for (level, code), _ in terms.concepts.items():
        if level == "LLT":
            edges = terms.parents("LLT", code)
            edge = next((e for e in edges if e.primary), edges[0] if edges else None)
            parent = terms.concepts.get(edge.parent) if edge is not None else None
            if parent is not None:
                pt_of[code] = parent.name
    names: dict[str, list[str]] = {}
    for (level, code), concept in terms.concepts.items():
        if level == "LLT" and code in pt_of:
            names.setdefault(norm_text(pt_of[code]) or "", []).append(concept.name)
    for syn in terms.synonyms:
        pt = pt_of.get(syn.code)
        if pt is not None and syn.auto:
            names.setdefault(norm_text(pt) or "", []).append(syn.text)
    return {pt: tuple(sorted({n for x in v if (n := norm_text(x))})) for pt, v in names.items()}


def concept_names(concept: str) -> tuple[str, ...]:
    """Normalised names of a ``c:`` concept (empty for a code or verbatim key)."""
    if not concept.startswith("c:"):
        return ()
    pt = concept[2:]
    source = current_source()
    return concepts(source).names_by_pt(source).get(pt, (pt,))


def event_agreement(xs: frozenset[str], tx: tuple[str, ...],
                    ys: frozenset[str], ty: tuple[str, ...]) -> str | None:
    """How two reports' events agree, from their concepts (``xs``, ``ys``) and texts.

    - ``same``: the same concepts (same PT, however worded or coded);
    - ``overlap``: some concepts shared (one report lists an event the other left out);
    - ``similar``: no concept shared, but a verbatim of one is at least ``SIMILAR`` token-set
      similar to a text, name or synonym of a concept of the other (a misspelt or lay
      verbatim the coder left uncoded, against the coded term it means);
    - ``uncoded_differs``: nothing similar, but one side has an uncoded verbatim that is at
      least ``UNLIKE`` similar to some name of the other (weak);
    - ``uncoded_unlike``: an uncoded verbatim below ``UNLIKE`` against every name of the other;
    - ``disjoint``: different concepts.
    """
    if not xs or not ys:
        return None
    if xs == ys:
        return "same"
    if xs & ys:
        return "overlap"
    other_x = tx + tuple(n for c in xs for n in concept_names(c))
    other_y = ty + tuple(n for c in ys for n in concept_names(c))
    best = max((fuzz.token_set_ratio(a, b) for a in tx for b in other_y), default=0.0)
    best = max(best, max((fuzz.token_set_ratio(a, b) for a in ty for b in other_x), default=0.0))
    if best >= SIMILAR:
        return "similar"
    if not any(k.startswith("v:") for k in xs | ys):
        return "disjoint"
    # An uncoded verbatim that shares hardly a word with the other side's terms, their names
    # and synonyms: most probably another event (a second SAE of the same subject), though a
    # lay wording the dictionary lacks looks the same; calibration weighs the two.
    return "uncoded_differs" if best >= UNLIKE else "uncoded_unlike"

"""The internal terminology model every loader produces and the autocoder reads.

MedDRA, the bundled open dictionary and WHODrug-style drug files differ in layout but not in
shape: a release, concepts at levels, synonyms, parent edges (with MedDRA's primary-SOC flag)
and list memberships (IME/DME, SMQs). Keeping one shape means coding, roll-up and recode
diffs are written once.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("LLT", "PT", "HLT", "HLGT", "SOC")
SUBSTANCE = "substance"
PARENT_LEVEL = {"LLT": "PT", "PT": "HLT", "HLT": "HLGT", "HLGT": "SOC"}


class TerminologyError(ValueError):
    """A release is internally inconsistent; the message names the file/record and why."""


@dataclass(frozen=True, slots=True)
class Release:
    family: str
    version: str
    language: str
    checksum: str
    source: str = ""


def by_constructor(self: Any) -> tuple[type, tuple[Any, ...]]:
    """``__reduce__`` of a frozen slots dataclass whose fields are all its ``__init__``'s, in
    order: unpickled by calling the class. The default (dataclasses' ``__setstate__``, which
    asks ``fields()`` for every object) took half the time of reading a built autocoder back
    (``bundled.cached_autocoder``: some 24,000 such objects), and ``safety code events``
    starts by reading one (issue 20: a cold start in under 0.3 s)."""
    return type(self), tuple(getattr(self, name) for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class Concept:
    code: str
    name: str
    level: str
    current: bool = True
    abbrev: str | None = None

    __reduce__ = by_constructor



DICTIONARY = "dictionary"  # the source's own synonym (MedDRA LLTs aside, WHODrug names)
CURATED = "curated"  # shipped with the release by its editors: every sponsor's
TEAM = "team"  # a sponsor's team added it: that sponsor's only (a NOT NULL sponsor_id)

@dataclass(frozen=True, slots=True)
class Synonym:
    """A text that names a concept without being its dictionary name.

    Its origin: the dictionary's own (``DICTIONARY``), the curated synonym table shipped with
    a release (``CURATED``, the open dictionary's ``synonyms.csv``: every sponsor's, like the
    dictionary), or a sponsor's team's confirmed decision (``TEAM``: that sponsor's only).
    ``auto`` False marks curated or team rows that are good suggestions but must never be
    auto-coded.
    """

    text: str
    code: str
    level: str
    origin: str  # DICTIONARY, CURATED or TEAM
    auto: bool = True
    added_by: str = ""
    reason: str = ""

    __reduce__ = by_constructor


@dataclass(frozen=True, slots=True)
class Edge:
    child: tuple[str, str]  # (level, code)
    parent: tuple[str, str]
    primary: bool = True

    __reduce__ = by_constructor


@dataclass(frozen=True, slots=True)
class RollUp:
    llt: Concept | None
    pt: Concept | None
    hlt: Concept | None
    hlgt: Concept | None
    soc: Concept | None


@dataclass
class Terminology:
    release: Release
    concepts: dict[tuple[str, str], Concept] = field(default_factory=dict)
    synonyms: list[Synonym] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    memberships: dict[str, set[str]] = field(default_factory=dict)
    moieties: dict[str, str] = field(default_factory=dict)
    primary_paths: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    _parents: dict[tuple[str, str], list[Edge]] = field(default_factory=dict, repr=False)

    def add(self, concept: Concept) -> None:
        self.concepts[(concept.level, concept.code)] = concept

    def link(self, child: tuple[str, str], parent: tuple[str, str], primary: bool = True) -> None:
        edge = Edge(child, parent, primary)
        self.edges.append(edge)
        self._parents.setdefault(child, []).append(edge)

    def get(self, level: str, code: str) -> Concept | None:
        return self.concepts.get((level, code))

    def at_level(self, level: str) -> Iterable[Concept]:
        return (c for (lv, _), c in self.concepts.items() if lv == level)

    def parents(self, level: str, code: str) -> list[Edge]:
        return self._parents.get((level, code), [])

    def _primary_parent(self, level: str, code: str) -> Concept | None:
        edges = self.parents(level, code)
        chosen = next((e for e in edges if e.primary), edges[0] if edges else None)
        return self.concepts.get(chosen.parent) if chosen else None

    def rollup(self, code: str, level: str = "LLT") -> RollUp:
        """The primary path upwards; levels a dictionary does not have come back ``None``.

        The open dictionary links PT straight to SOC (it has no HLT/HLGT); the walk follows
        whatever primary edge exists and files each concept under its own level.
        """
        found: dict[str, Concept] = {}
        concept = self.get(level, code)
        if concept is not None and concept.level == "LLT":
            found["LLT"] = concept
            concept = self._primary_parent("LLT", concept.code)
        if concept is not None and concept.code in self.primary_paths and concept.level == "PT":
            # MedDRA's mdhier gives the whole primary path; HLTs and HLGTs can sit under
            # several parents, so walking edges upwards could leave the primary path.
            found["PT"] = concept
            hlt, hlgt, soc = self.primary_paths[concept.code]
            for lv, c in (("HLT", hlt), ("HLGT", hlgt), ("SOC", soc)):
                node = self.get(lv, c)
                if node is not None:
                    found[lv] = node
            return RollUp(*(found.get(lv) for lv in LEVELS))
        seen = 0
        while concept is not None and seen < 6:
            found[concept.level] = concept
            concept = self._primary_parent(concept.level, concept.code)
            seen += 1
        return RollUp(*(found.get(lv) for lv in LEVELS))

    def socs_of_pt(self, pt_code: str) -> list[tuple[str, bool]]:
        """Every SOC a PT reaches, with whether it is the PT's primary SOC."""
        out: dict[str, bool] = {}
        for edge in self.parents("PT", pt_code):
            if edge.parent[0] == "SOC":
                out[edge.parent[1]] = out.get(edge.parent[1], False) or edge.primary
                continue
            for soc in self._socs_above(edge.parent):
                out[soc] = out.get(soc, False) or edge.primary
        return sorted(out.items())

    def _socs_above(self, node: tuple[str, str]) -> set[str]:
        if node[0] == "SOC":
            return {node[1]}
        result: set[str] = set()
        for edge in self.parents(*node):
            result |= self._socs_above(edge.parent)
        return result

    def moiety_of(self, unii: str) -> Concept | None:
        target = self.moieties.get(unii, unii)
        return self.get(SUBSTANCE, target)

    def check(self) -> None:
        """Every edge, synonym and membership must point at a concept that exists."""
        for edge in self.edges:
            for end in (edge.child, edge.parent):
                if end not in self.concepts:
                    raise TerminologyError(f"edge {edge.child}->{edge.parent}: {end} unknown")
        for syn in self.synonyms:
            if (syn.level, syn.code) not in self.concepts:
                raise TerminologyError(f"synonym {syn.text!r}: {syn.level} {syn.code} unknown")
        for unii, parent in self.moieties.items():
            if (SUBSTANCE, parent) not in self.concepts:
                raise TerminologyError(f"moiety of {unii}: substance {parent} unknown")

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for level, _ in self.concepts:
            counts[level] += 1
        counts["synonyms"] = len(self.synonyms)
        counts["edges"] = len(self.edges)
        return dict(counts)


def checksum_of(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()

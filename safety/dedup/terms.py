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

The dictionary is read once per process (about 3 s) and every text is resolved once (cached):
profile building stays a plain function of the case.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz

from safety.cases.identifiers import norm_text
from safety.coding.autocoder import Autocoder
from safety.coding.bundled import bundled_autocoder

SIMILAR = 88.0  # token-set similarity of a verbatim to one of a concept's names: same event
UNLIKE = 50.0  # below this against every name, an uncoded verbatim names something else


@lru_cache(maxsize=2)
def _coder(kind: str) -> Autocoder:
    return bundled_autocoder(kind)


@lru_cache(maxsize=65536)
def event_concept(text: str) -> str | None:
    """The open dictionary PT an event text auto-codes to (``"c:<pt name>"``), or None."""
    result = _coder("events").code(text)
    if not result.auto or not (result.pt_term or result.term):
        return None
    return f"c:{norm_text(result.pt_term or result.term)}"


@lru_cache(maxsize=65536)
def drug_moiety(text: str) -> str | None:
    """The active moiety (UNII) a drug name auto-codes to (``"u:<unii>"``), or None."""
    result = _coder("drugs").code(text)
    if not result.auto:
        return None
    code = result.moiety_code or result.code
    return f"u:{code}" if code else None


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


@lru_cache(maxsize=1)
def _names_by_pt() -> dict[str, tuple[str, ...]]:
    """Every name the open dictionary gives a PT: its own, its LLTs' and their synonyms."""
    terms = _coder("events").terms
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
    return _names_by_pt().get(pt, (pt,))


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

"""Coding: the pipeline stage that autocodes every term of a new case version, and ranked
suggestions for a verbatim.

Codes go into a new revision of the case version's coded view (``safety.cases.store``); the
snapshot itself is never rewritten. Terms the autocoder was not sure of are listed for the
physician's review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from safety.cases.codec import case_from_json
from safety.cases.store import CaseVersion, add_view, latest_view
from safety.coding import store
from safety.coding.autocoder import Autocoder
from safety.coding.case_coding import code_case
from safety.coding.store import active_autocoder
from safety.config import Settings


def _name(coder: Autocoder) -> str:
    release = coder.terms.release
    return f"{release.family} {release.version}"


def code_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    if latest_view(session, cv.id) is not None:
        return {"coded": "already coded"}
    # Events by semantic retrieval when it is on and installed (SAFETY_SEMANTIC_CODING): the
    # worker keeps the coder, its model and its index between jobs.
    events = active_autocoder(session, "events", settings.dictionaries, cv.sponsor_id,
                              semantic_index=settings.semantic_index)
    drugs = active_autocoder(session, "drugs", settings.dictionaries, cv.sponsor_id)
    # Decoded here for this call alone: coded in place, not copied again.
    result = code_case(case_from_json(cv.data), events, drugs, in_place=True)
    # The audit names the releases and the mode that ran (lexical / semantic (<model>)).
    add_view(session, cv, result.data, result.review, actor="system:coding",
             reason=f"autocoded with {_name(events)} ({events.mode}) / {_name(drugs)}")
    return {"coded": result.coded, "review": len(result.review), "mode": events.mode}


def suggest(session: Session, kind: str, verbatim: str, limit: int,
            settings: Settings, *, sponsor_id: int | None = None) -> dict[str, Any]:
    """The chosen concept (with its roll-up), whether it may be auto-coded, and the best
    ``limit`` candidates, from the active release (or the configured open dictionary), with
    the team synonyms of ``sponsor_id`` when one is given."""
    result = active_autocoder(session, kind, settings.dictionaries, sponsor_id).code(verbatim)
    body: dict[str, Any] = dict(result.to_line())
    body.update(
        soc_term=result.soc_term, moiety_code=result.moiety_code,
        moiety_term=result.moiety_term, family=result.family, version=result.version,
    )
    body["candidates"] = body["candidates"][:limit]
    return body


def warm_up(session: Session, settings: Settings) -> None:
    """Build the active releases' indexes now (a worker does it before its first job)."""
    events = active_autocoder(session, "events", settings.dictionaries,
                              semantic_index=settings.semantic_index)
    if events.semantic is not None:
        events.semantic.warm_up()  # the model too, not only the index
    active_autocoder(session, "drugs", settings.dictionaries)


def load_release(session: Session, path: Path, *, activate: bool,
                 list_name: str | None) -> list[str]:
    """Load a terminology release (or an IME/DME list) into the database; what was done."""
    return list(store.load_into(session, path, activate=activate, list_name=list_name))


def releases(session: Session) -> list[Any]:
    """Releases stored, each with whether it is its family's active one."""
    return list(store.list_releases(session))


def browse(session: Session, query: str, settings: Settings, *, sponsor_id: int | None = None,
           limit: int = 25) -> dict[str, Any]:
    """The terminology browser: LLTs and PTs whose name (or code) contains ``query``, and the
    autocoder's closest matches, each with its primary path PT -> HLT -> HLGT -> SOC as far
    as the loaded dictionary has it (the open dictionary links PTs straight to SOCs)."""
    coder = active_autocoder(session, "events", settings.dictionaries, sponsor_id)
    terms = coder.terms
    text = " ".join(query.lower().split())
    release = f"{terms.release.family} {terms.release.version}"
    if len(text) < 2:
        return {"query": query, "release": release, "rows": []}
    found: list[tuple[str, str]] = []
    for level in ("PT", "LLT"):
        for concept in terms.at_level(level):
            if concept.current and (text in concept.name.lower() or text == concept.code):
                found.append((level, concept.code))
    found.sort(key=lambda lc: (not terms.concepts[lc].name.lower().startswith(text),
                               len(terms.concepts[lc].name), lc[0] != "PT"))
    for cand in coder.code(query).candidates[:5]:
        if ("LLT", cand.code) not in found and ("PT", cand.code) not in found:
            found.append(("LLT" if terms.get("LLT", cand.code) else "PT", cand.code))
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for level, code in found:
        if (level, code) in seen or len(rows) >= limit:
            continue
        seen.add((level, code))
        up = terms.rollup(code, level)
        named = terms.get(level, code)
        rows.append({
            "level": level, "code": code, "term": named.name if named else code,
            "path": [{"level": lv, "code": c.code, "term": c.name}
                     for lv, c in zip(("LLT", "PT", "HLT", "HLGT", "SOC"),
                                      (up.llt, up.pt, up.hlt, up.hlgt, up.soc), strict=True)
                     if c is not None],
        })
    return {"query": query, "release": release, "rows": rows}

"""Case-page sections that other feature areas fill: coding, duplicates, obligations, E2B.

A section is a loader ``(session, case, version) -> data`` and a template that renders that
data. The case page shows a section only when its loader returns something, so a page never
shows an empty "Coding" heading before the coding area stores anything. An area adds its
section with :func:`register_case_section` (e.g. from its own ``register_web`` hook); the
obligations and duplicate-decision sections below read tables that exist already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safety.cases.store import Case, CaseVersion

Loader = Callable[[Session, Case, CaseVersion], Any]


@dataclass(frozen=True)
class CaseSection:
    key: str
    title: str
    template: str  # under safety/web/templates (or any loader the app knows)
    load: Loader
    order: int = 100


SECTIONS: dict[str, CaseSection] = {}


def register_case_section(section: CaseSection) -> None:
    SECTIONS[section.key] = section


def loaded_sections(session: Session, case: Case,
                    version: CaseVersion) -> list[tuple[CaseSection, Any]]:
    out = []
    for section in sorted(SECTIONS.values(), key=lambda s: (s.order, s.key)):
        data = section.load(session, case, version)
        if data:
            out.append((section, data))
    return out


def _obligations(session: Session, case: Case, version: CaseVersion) -> Any:
    from safety.rules.store import ObligationRow

    return list(session.execute(
        select(ObligationRow).where(ObligationRow.case_id == case.id)
        .order_by(ObligationRow.due, ObligationRow.destination)
    ).scalars())


def _duplicate_decisions(session: Session, case: Case, version: CaseVersion) -> Any:
    from safety.dedup.store import DedupDecision

    rows = list(session.execute(
        select(DedupDecision).where(or_(DedupDecision.case_a == case.id,
                                        DedupDecision.case_b == case.id))
        .order_by(DedupDecision.decided_at)
    ).scalars())
    if not rows:
        return []
    others = {r.case_b if r.case_a == case.id else r.case_a for r in rows}
    numbers = dict(session.execute(
        select(Case.id, Case.case_number).where(Case.id.in_(others))).all())
    return [{"other": numbers.get(r.case_b if r.case_a == case.id else r.case_a, "?"),
             "decision": r.decision, "decided_by": r.decided_by, "decided_at": r.decided_at}
            for r in rows]


register_case_section(CaseSection("obligations", "Reporting obligations",
                                  "web/sections/obligations.html", _obligations, order=30))
register_case_section(CaseSection("duplicates", "Duplicate decisions",
                                  "web/sections/duplicates.html", _duplicate_decisions,
                                  order=20))

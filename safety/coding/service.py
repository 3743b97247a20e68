"""The coding stage of the pipeline: autocode every term of a new case version.

Codes go into a new revision of the case version's coded view (``safety.cases.store``); the
snapshot itself is never rewritten. Terms the autocoder was not sure of are listed for the
physician's review.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from safety.cases.codec import case_from_json
from safety.cases.store import CaseVersion, add_view, latest_view
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
    events, drugs = active_autocoder(session, "events"), active_autocoder(session, "drugs")
    result = code_case(case_from_json(cv.data), events, drugs)
    add_view(session, cv, result.data, result.review, actor="system:coding",
             reason=f"autocoded with {_name(events)} / {_name(drugs)}")
    return {"coded": result.coded, "review": len(result.review)}

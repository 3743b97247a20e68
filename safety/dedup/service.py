"""The duplicate-screening stage: index the version and find suspected duplicates."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from safety.cases.store import CaseVersion, working_data
from safety.config import Settings
from safety.dedup.scoring import Model, load_model
from safety.dedup.store import index_case, match_stored, save_candidates


@cache
def model() -> Model:
    return load_model(None)


def screen_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    data = working_data(session, cv)
    result = match_stored(session, data, model(), case_id=str(cv.case_id))
    save_candidates(session, cv.case_id, cv.id, result)
    index_case(session, cv.case_id, data, cv.id)
    return {"candidates": len(result.candidates),
            "suspected": sum(1 for c in result.candidates if c.suspected)}

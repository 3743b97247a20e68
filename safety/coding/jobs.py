"""The coding stage of the pipeline: autocode every term of a new case version.

Codes go into a new revision of the case version's coded view (``safety.cases.store``); the
snapshot itself is never rewritten. Terms the autocoder was not sure of are listed for the
physician's review.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy.orm import Session

from safety.cases.codec import case_from_json
from safety.cases.store import add_view, latest_view
from safety.coding import store
from safety.coding.api import FAMILIES
from safety.coding.autocoder import Autocoder
from safety.coding.bundled import bundled_autocoder
from safety.coding.case_coding import code_case
from safety.config import Settings
from safety.db.models import CaseVersion

_coders: dict[uuid.UUID, Autocoder] = {}
_lock = threading.Lock()


def autocoder(session: Session, kind: str) -> Autocoder:
    """The active licensed release (MedDRA, WHODrug) when one is loaded, else the bundled
    open dictionary. Indexes are built once per process and release."""
    for family in FAMILIES[kind]:
        release = store.active_release(session, family)
        if release is None:
            continue
        with _lock:
            coder = _coders.get(release.id)
            if coder is None:
                coder = Autocoder(store.read(session, release.id), kind)
                _coders[release.id] = coder
        return coder
    return bundled_autocoder(kind)


def _name(coder: Autocoder) -> str:
    release = coder.terms.release
    return f"{release.family} {release.version}"


def code_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    if latest_view(session, cv.id) is not None:
        return {"coded": "already coded"}
    events, drugs = autocoder(session, "events"), autocoder(session, "drugs")
    result = code_case(case_from_json(cv.data), events, drugs)
    add_view(session, cv, result.data, result.review, actor="system:coding",
             reason=f"autocoded with {_name(events)} / {_name(drugs)}")
    return {"coded": result.coded, "review": len(result.review)}

"""The recode job: bring open cases' event codes onto the active release.

After ``safety dictionary load`` activates a new release (say MedDRA 27.1 after 27.0), coded
terms of open cases still name the old release. This reports, per case, each term whose code is
retired, removed, moved to another PT or renamed (``safety.coding.recode``), and with ``apply``
writes a new coded-view revision carrying the new codes (the verbatim untouched), an audit
event listing verbatim, old code and new code, and re-drafts the unsent E2B messages. Each case
is recoded with its sponsor's team synonyms.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.store import add_view, latest_view, open_current_versions, working_data
from safety.coding.recode import recode
from safety.coding.store import active_autocoder
from safety.config import Settings
from safety.submissions.drafting import redraft


def recode_open_cases(session: Session, settings: Settings, actor: str,
                      apply: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for case, cv in open_current_versions(session):
        coder = active_autocoder(session, "events", settings.dictionaries, cv.sponsor_id)
        release = coder.terms.release
        data = working_data(session, cv)
        stale = [r for r in data.reactions if r.coding is not None
                 and r.coding.family == release.family and r.coding.version != release.version]
        if not stale:
            continue
        changes = recode([r.coding for r in stale if r.coding], coder.terms, coder)
        by_old = {id(c.old): c for c in changes}
        for change in changes:
            rows.append({"case_number": case.case_number, **change.as_row()})
        if not apply:
            continue
        view = latest_view(session, cv.id)
        review = list(view.review) if view else []
        for r in stale:
            found = by_old.get(id(r.coding))
            if found is not None:
                r.coding = found.new
                path = f"reactions[{data.reactions.index(r)}]"
                if not (found.new.auto and found.new.code) and path not in review:
                    review.append(path)  # the physician decides what the new release lacks
            elif r.coding is not None:
                r.coding.version = release.version  # same code, valid in the new release
        add_view(session, cv, data, review, actor=actor,
                 reason=f"recoded to {release.family} {release.version}")
        record(session, actor=actor, action="coding.recoded", entity=cv, case_id=case.id,
               changes=[{"field": "coding", "from": f"{c.old.code} ({c.verbatim})",
                         "to": f"{c.new.code} [{c.reason}]"} for c in changes],
               reason=f"new release {release.family} {release.version}")
        redraft(session, cv, settings)
    return rows

"""The recode job: bring open cases' event codes onto the active release.

After ``safety dictionary load`` activates a new release (say MedDRA 27.1 after 27.0), coded
terms of open cases still name the old release. This reports, per case, each term whose code is
retired, removed, moved to another PT or renamed (``safety.coding.recode``), and with ``apply``
writes a new coded-view revision carrying the new codes (the verbatim untouched), an audit
event listing verbatim, old code and new code, and re-drafts the unsent E2B messages. Each case
is recoded with its sponsor's team synonyms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.store import add_view, latest_view, open_current_versions, working_data
from safety.coding.recode import recode
from safety.coding.service import load_release
from safety.coding.store import DRUG_FAMILIES, EVENT_FAMILIES, active_autocoder, active_release
from safety.config import Settings
from safety.dedup.service import concepts_changed
from safety.submissions.drafting import redraft


def _concept_releases(session: Session) -> dict[str, tuple[str, str]]:
    """The active release (id, family and version) of each family concepts come from."""
    found: dict[str, tuple[str, str]] = {}
    for family in (*EVENT_FAMILIES, *DRUG_FAMILIES):
        row = active_release(session, family)
        if row is not None:
            found[family] = (str(row.id), f"{row.family} {row.version}")
    return found


def load_dictionary(session: Session, path: Path, *, activate: bool,
                    list_name: str | None) -> list[str]:
    """``safety dictionary load``: store a release (or a PT list) and, when it changes an
    active event or drug release, mark the duplicate-screening profiles for re-indexing
    (their blocking keys are that release's concepts, ``safety.dedup.terms``), in the same
    transaction as the activation; the lines say what was done and what to run next.

    Loading a release already active, an inactive one or a PT list changes no concept and
    marks nothing."""
    before = _concept_releases(session)
    lines = load_release(session, path, activate=activate, list_name=list_name)
    after = _concept_releases(session)
    changed = sorted(name for family, (rid, name) in after.items()
                     if before.get(family, ("", ""))[0] != rid)
    if changed:
        marked = concepts_changed(session, "release " + ", ".join(changed))
        lines.append(f"duplicate screening: {marked} profile(s) marked for re-indexing "
                     f"(concepts of {', '.join(changed)}); run `safety dedup reindex` "
                     "(`safety db upgrade` does it too)")
    return lines


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

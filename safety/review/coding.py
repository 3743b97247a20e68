"""A person's coding decision on an event: a new coded-view revision, an audit event, and
optionally a team synonym, all in the caller's transaction. The version's unsent messages
are drafted again, since E.i.2.1 carries the code."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.store import Case, add_view, current_version, latest_view, working_data
from safety.coding import store
from safety.coding.decision import CodingDecisionError, manual_term
from safety.coding.terminology import TerminologyError
from safety.config import Settings
from safety.submissions.drafting import redraft


class CodingDecisionFailed(ValueError):
    pass


def decide_event_coding(session: Session, case: Case, reaction_id: str, code: str,
                        actor: str, reason: str, add_synonym: bool = False, *,
                        settings: Settings) -> dict[str, Any]:
    """Code one event of the case's current version."""
    cv = current_version(session, case)
    data = working_data(session, cv)
    reaction = data.reaction(reaction_id)
    if reaction is None:
        raise LookupError(f"no event {reaction_id} in version {cv.version}")
    coder = store.active_autocoder(session, "events", settings.dictionaries, case.sponsor_id)
    try:
        term = manual_term(coder.terms, reaction.verbatim, code, actor)
    except CodingDecisionError as exc:
        raise CodingDecisionFailed(str(exc)) from exc
    before = reaction.coding
    reaction.coding = term
    view = latest_view(session, cv.id)
    path = f"reactions[{data.reactions.index(reaction)}]"
    review = [p for p in (view.review if view else []) if p != path]
    add_view(session, cv, data, review, actor=actor, reason=reason)
    record(session, actor=actor, action="coding.decided", entity=cv, case_id=cv.case_id,
           changes=[{"field": f"{path}.coding",
                     "from": f"{before.code} {before.term}" if before and before.code else None,
                     "to": f"{term.code} {term.term}"}],
           reason=reason)
    if add_synonym and isinstance(reaction.verbatim, str):
        try:
            store.add_team_synonym(session, term.family or "", reaction.verbatim, term.code or "",
                                   term.level or "LLT", actor, reason, case.sponsor_id)
        except TerminologyError as exc:
            raise CodingDecisionFailed(f"decision kept out: {exc}") from exc
        record(session, actor=actor, action="coding.synonym_added", entity=cv,
               case_id=cv.case_id,
               changes=[{"field": "synonym", "from": None,
                         "to": f"{reaction.verbatim} -> {term.code}"}], reason=reason)
    redraft(session, cv, settings)
    return asdict(term)

"""Correcting a case: a person's edit becomes a new case version of kind ``correction``.

The version before stays as it was (snapshots are immutable); the new one carries the case as
worked (with its coding) plus the changes. In the same transaction: the correction's record
(who, why, which fields, old -> new), an audit event per correction listing every field, the
signature that bound the earlier version shown as no longer holding, a case awaiting or past
approval returned to medical review, and messages approved but not yet sent withdrawn (they
say what the signature approved, not what the case says now). The caller enqueues the
processing stages (coding, duplicates, rules, drafting) after the commit, so the correction
is coded, screened, evaluated and drafted like any other version; a regulator that already
holds the case gets a follow-up (or, where only the form was wrong, an amendment) from the
drafting stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.codec import case_to_json
from safety.cases.editing import EditError, FieldChange, apply_changes
from safety.cases.model import CaseVersionData
from safety.cases.store import (
    Case,
    CaseCorrection,
    CaseVersion,
    add_version,
    change_state,
    current_version,
    working_data,
)
from safety.cases.versioning import VersionKind
from safety.cases.workflow import CaseState, PipelineStatus, system_change
from safety.review.edit_form import changes_from_form
from safety.review.narrative import CaseType, draft
from safety.review.signing import content_hash
from safety.review.store import signatures
from safety.submissions.outbox import withdraw_unsent_before

# Where a case may be corrected: from triage to submission. A closed case is reopened first
# (with its reason), a nullified one is final (E2B C.1.11.1 = 1).
EDITABLE = frozenset({CaseState.TRIAGE, CaseState.DATA_ENTRY, CaseState.MEDICAL_REVIEW,
                      CaseState.APPROVAL, CaseState.SUBMISSION})
BACK_TO_REVIEW = frozenset({CaseState.APPROVAL, CaseState.SUBMISSION})


class CorrectionRefused(ValueError):
    """Not corrected; ``field`` names what was wrong, ``status`` is the HTTP answer."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Correction:
    version: CaseVersion
    changes: list[FieldChange]
    invalidated: list[int]  # versions whose signature no longer holds
    returned: bool  # the case went back to medical review


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise CorrectionRefused("reason", "a correction needs the reason it is made "
                                          "(21 CFR 11.10(e))")
    return text


def editable_version(session: Session, case: Case) -> CaseVersion:
    """The current version, when the case may be corrected now; refused (409) otherwise."""
    state = CaseState(case.state)
    if state not in EDITABLE:
        hint = " (reopen it first, with the reason)" if state is CaseState.CLOSED else ""
        raise CorrectionRefused("state", f"case {case.case_number} is {state.value}: it cannot "
                                         f"be corrected{hint}", status=409)
    cv = current_version(session, case)
    if cv.pipeline != PipelineStatus.DONE:
        raise CorrectionRefused(
            "version", f"version {cv.version} is still being processed "
                       f"({PipelineStatus(cv.pipeline).value}); correct it once it is done",
            status=409)
    return cv


def correct_case(session: Session, case: Case, changes: dict[str, Any], *, actor: str,
                 reason: str | None, now: datetime, amendment: bool = False,
                 seen_version: int | None = None) -> Correction:
    """Apply ``changes`` (field path -> new JSON value) to the case's current version as a
    new correction version. ``case`` must be locked by the caller. ``seen_version``: the
    version the person edited; refused when the case moved on meanwhile."""
    text = check_reason(reason)
    cv = editable_version(session, case)
    if seen_version is not None and seen_version != cv.version:
        raise CorrectionRefused("version", f"you edited version {seen_version}, but the case "
                                           f"is now version {cv.version}: reload and redo",
                                status=409)
    if not isinstance(changes, dict):
        raise CorrectionRefused("changes", "give the changed fields as {path: value}")
    try:
        data, field_changes = apply_changes(working_data(session, cv), changes)
    except EditError as exc:
        raise CorrectionRefused(f"changes.{exc.field}", exc.message) from exc
    if not field_changes:
        raise CorrectionRefused("changes", "every value given is already the case's: nothing "
                                           "to correct")
    return new_correction(session, case, cv, data, field_changes, actor=actor, reason=text,
                          now=now, kind="edit", amendment=amendment)


def new_correction(session: Session, case: Case, previous: CaseVersion, data: CaseVersionData,
                   field_changes: list[FieldChange], *, actor: str, reason: str,
                   now: datetime, kind: str, amendment: bool = False) -> Correction:
    """The correction version and everything that goes with it (see the module's doc)."""
    before_state = CaseState(case.state)
    signed = [s for s in signatures(session, case.id)
              if s.version == previous.version and s.data_sha256 == content_hash(previous.data)]
    cv = add_version(session, case, version=previous.version + 1, kind=VersionKind.CORRECTION,
                     report_id=None, data=data, received_at=now, has_stages=True, actor=actor,
                     reason=f"correction of version {previous.version} by {actor}: {reason}")
    audit = [c.as_audit() for c in field_changes]
    session.add(CaseCorrection(case_version_id=cv.id, case_id=case.id, kind=kind, actor=actor,
                               reason=reason, fields=audit, amendment=amendment,
                               created_at=now))
    record(session, actor=actor, action=f"case.{'corrected' if kind == 'edit' else kind}",
           entity=case, changes=audit, reason=reason)
    record(session, actor=actor, action="case.version_added", entity=case,
           changes=[{"field": "current_version", "from": previous.version, "to": cv.version}],
           reason=f"correction: {reason}")
    for sig in signed:
        record(session, actor=actor, action="signature.invalidated", entity=case,
               changes=[{"field": "signature",
                         "from": f"valid for version {sig.version} ({sig.printed_name}, "
                                 f"{sig.signed_at:%Y-%m-%d %H:%M} UTC)",
                         "to": f"no longer holds: the case is now version {cv.version}"}],
               reason=reason)
    returned = before_state in BACK_TO_REVIEW
    if returned:
        change_state(session, case, system_change(
            case.state, "returned_by_correction",
            f"version {cv.version} corrects the version signed for approval: {reason}"),
            actor=actor)
    withdraw_unsent_before(session, case.id, cv.version, actor=actor,
                           reason=f"version {cv.version} corrected the case: {reason}")
    return Correction(cv, field_changes, [s.version for s in signed], returned)


def corrections(session: Session, case_id: Any) -> list[CaseCorrection]:
    return list(session.scalars(select(CaseCorrection).where(CaseCorrection.case_id == case_id)
                                .order_by(CaseCorrection.created_at)))


def correct_from_form(session: Session, case: Case, form: Mapping[str, str], *, actor: str,
                      now: datetime) -> Correction:
    """The case page's edit form: the fields whose submitted value differs, corrected with
    the form's reason (the same correction as ``PATCH /api/v1/cases/{id}``)."""
    check_reason(form.get("reason"))
    cv = editable_version(session, case)
    try:
        changes = changes_from_form(case_to_json(working_data(session, cv)), form)
    except EditError as exc:
        raise CorrectionRefused(exc.field, exc.message) from exc
    if not changes:
        raise CorrectionRefused("changes", "no field was changed")
    version = form.get("version", "")
    return correct_case(session, case, changes, actor=actor, reason=form.get("reason"),
                        now=now, amendment=form.get("amendment") == "1",
                        seen_version=int(version) if version.isdigit() else None)


def save_narrative(session: Session, case: Case, *, narrative: str, sender_comments: str,
                   diagnosis: str, actor: str, reason: str | None, now: datetime,
                   seen_version: int | None = None) -> Correction:
    """The company narrative (H.1), the sender's comment (H.4) and the sender's diagnosis
    (H.3.r, coded by the coding stage like any event term), saved as a correction."""
    cv = editable_version(session, case)
    doc = case_to_json(working_data(session, cv)).get("narrative") or {}
    changes: dict[str, Any] = {}
    for path, key, value in (("narrative.narrative", "narrative", narrative),
                             ("narrative.sender_comments", "sender_comments", sender_comments)):
        text = value.replace("\r\n", "\n").strip() or None
        if text != doc.get(key):
            changes[path] = text
    old = [d.get("verbatim") for d in doc.get("sender_diagnosis") or []]
    wanted = diagnosis.strip()
    if wanted and (not old or old[0] != wanted):
        changes["narrative.sender_diagnosis[0]"] = {"verbatim": wanted}
    elif not wanted and old:
        changes["narrative.sender_diagnosis[0]"] = None
    return correct_case(session, case, changes, actor=actor, reason=reason, now=now,
                        seen_version=seen_version)


def narrative_draft(session: Session, case: Case, kind: str | None) -> str:
    """A narrative drafted from the current version's data by the template of ``kind``
    (trial SAE, spontaneous, literature; default: the case's own type)."""
    data = working_data(session, current_version(session, case))
    chosen = CaseType(kind) if kind in {t.value for t in CaseType} else None
    return draft(data, chosen)

"""Drafting: the E2B message each regulator is owed for a case version, checked for
conformance before anyone signs it.

The pipeline's last stage drafts a message per regulator the version owes a report to
(:func:`draft_stage`); to a regulator that already holds the case it is a follow-up of what it
holds. When the case changes under its unsent messages (a coding or duplicate decision, a new
dictionary release) they are drafted again (:func:`redraft`), so what is signed and sent is
what the physician saw. A nullified case gets nothing more (C.1.11.1 = 1 is final).

A blinded study's SUSAR goes to regulators unblinded (EU CTR 536/2014 Annex III 2.5; ICH E2A
III.C.2; FDA, Safety Reporting Requirements for INDs and BA/BE Studies (2012) V.A.3): an
obligation awaiting unblinding gets no message, and once the blind is broken
(:func:`after_reveal`) the case's unsent messages are superseded and drafted again naming the
product the subject received (G.k.2.2, G.k.2.3.r), or withdrawn when the subject received
placebo (no SUSAR is owed then).
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.blinding.mask import ArmSecrets, is_study_drug, unblind_case
from safety.blinding.store import read_assignments, unblinded_result
from safety.cases.model import CaseVersionData, Substance
from safety.cases.store import (
    Case,
    CaseCorrection,
    CaseVersion,
    current_version,
    locked_case,
    shared_working_data,
    working_data,
)
from safety.cases.values import PartialDate
from safety.cases.versioning import VersionKind
from safety.cases.workflow import CaseState
from safety.config import Settings
from safety.db.base import utcnow
from safety.db.created import VERSION, held_rows, none_yet
from safety.dedup.decisions import Confirmation, citations, cite_duplicates, linked_ids
from safety.dedup.store import confirmed_under
from safety.e2b.export import export_case
from safety.e2b.lifecycle import AMENDED, NULLIFIED, LifecycleError, ReportKind
from safety.e2b.lifecycle import prepare as lifecycle_prepare
from safety.e2b.writer import ExportHeader
from safety.products.store import load_registry
from safety.rules.obligations import OPEN_STATUSES, ObligationStatus
from safety.rules.regime import load_regimes
from safety.rules.store import ObligationRow
from safety.sponsors.profile import SponsorProfile
from safety.sponsors.service import profile
from safety.submissions import conformity
from safety.submissions.prepare import prepare
from safety.submissions.routing import e2b_key, region_for
from safety.submissions.states import TRANSMITTED, SubmissionState
from safety.submissions.store import (
    Submission,
    discard,
    last_transmitted,
    last_transmitted_each,
    message_lifecycle,
    new_submission,
    obligation_days,
    rewrite,
    transmitted_case,
)

ACTOR = "system:submissions"


def build_message(session: Session, cv: CaseVersion, case: Case, region: str, days: int | None,
                  settings: Settings, now: datetime | None = None, *,
                  previous: Submission | None = None, kind: ReportKind | None = None,
                  reason: str | None = None,
                  obligation: ObligationRow | None = None) -> dict[str, Any]:
    """Export and check one message; returns the columns of a submission (not stored).

    ``previous`` is the last submission transmitted to this regulator: the message is then a
    follow-up (default), an amendment or a nullification of it, derived with
    ``safety.e2b.lifecycle``; without it the message is an initial report.

    ``obligation`` is the obligation the message answers (by default, the one the amended
    message answered): the registry's IND numbers are put in for an IND safety report, and a
    message that does not answer it (another route, no IND number) is invalid with the reason
    (``safety.submissions.conformity``).
    """
    now = now or utcnow()
    kind = kind or (ReportKind.FOLLOW_UP if previous is not None else ReportKind.INITIAL)
    if obligation is None and previous is not None and previous.obligation_id is not None:
        # an amendment answers what the message it amends answered
        obligation = session.get(ObligationRow, previous.obligation_id)
    owed = answered(obligation) if obligation is not None else None
    sponsor = profile(session, case.sponsor_id)
    sender = sponsor.sender
    notes: list[str] = []
    before = transmitted_case(previous) if previous is not None else None
    if kind is ReportKind.NULLIFICATION and before is not None:
        # What the regulator holds, withdrawn: nothing new is sent with a nullification.
        data = copy.deepcopy(before)
        data.admin.creation_date = PartialDate.from_datetime(now)
    else:
        # Shared with the job's other stages, read only: unblinding, citing and preparing
        # copy it.
        shared = shared_working_data(session, cv)
        source = _unblinded(session, case, shared, notes)
        source = _with_duplicate_citations(session, case, source, sender, notes)
        if owed is not None:
            source, registry_notes = conformity.with_registry_numbers(
                source, owed, region, load_registry(session, case.sponsor_id))
            notes += registry_notes
        # A copy made above (citations, registry numbers) is this message's own: prepared in
        # place; the shared version is copied once.
        prepared = prepare(source, region=region, days=days, now=now, sender=sender,
                           in_place=source is not shared)
        data = prepared.case
        notes = prepared.notes + notes
    routed = route(sponsor, region, data)
    if isinstance(routed, str):
        return {"e2b_destination": None, "profile": "ich", "xml": None,
                "state": SubmissionState.INVALID,
                "findings": [{"element": "N.2.r.3", "xpath": "-", "rule": "receiver",
                              "message": routed, "severity": "error"}],
                "notes": notes}
    key, header = routed
    try:
        data = _lifecycle(cv, data, before, kind, reason, sponsor, notes)
    except LifecycleError as exc:
        return {"e2b_destination": key, "profile": "ich", "xml": None,
                "state": SubmissionState.INVALID,
                "findings": [lifecycle_finding(exc)], "notes": notes}
    if previous is not None:
        notes.append(f"{kind} of batch {previous.batch_id} (message {previous.message_id}, "
                     f"{previous.state} {previous.sent_at:%Y-%m-%d %H:%M} UTC)"
                     if previous.sent_at else f"{kind} of batch {previous.batch_id}")
    result = export_case(data, replace(header, created=now),
                         schemas=settings.schemas_dir, xsd_dir=settings.e2b_xsd_dir)
    findings = [asdict(f) for f in result.findings]
    if owed is not None and kind is not ReportKind.NULLIFICATION:
        findings = [f.as_dict() for f in conformity.mismatches(owed, region, key, data)
                    ] + findings
    errors = [f for f in findings if f["severity"] == "error"]
    return {
        "e2b_destination": key, "profile": result.profile, "xml": result.xml,
        "batch_id": result.batch_id, "message_id": result.message_ids[0],
        "receiver": result.message_receiver,
        "findings": findings,
        "notes": notes,
        "state": SubmissionState.DRAFT if not errors else SubmissionState.INVALID,
    }


def _unblinded(session: Session, case: Case, data: CaseVersionData,
               notes: list[str]) -> CaseVersionData:
    """The case as a regulator reads it: for a blinded study whose subject's assignment has
    been revealed, each study drug is the product the subject received, by name (G.k.2.2) and
    active substances (G.k.2.3.r) from the registry (ICH E2A III.C.2: the regulator gets the
    unblinded product; EU CTR 536/2014 Annex III 2.5). Reading the assignment is an audited
    read of the compartment. Not revealed (or an open study): the case as reported."""
    protocol = str(data.study.sponsor_study_number or "") if data.study else ""
    registry = load_registry(session, case.sponsor_id)
    study = registry.studies.get(protocol)
    if study is None or not study.blinded or unblinded_result(session, case.id) is None:
        return data
    subject = str(data.patient.investigation_number or "")
    found = read_assignments(session, case.sponsor_id, protocol, [subject], actor=ACTOR,
                             purpose="the regulator's message names the treatment received "
                                     "(ICH E2A III.C.2)", case_id=case.id)
    if not found:
        notes.append(f"blinded study {protocol}: subject {subject or '(none)'} is not in the "
                     "randomisation list; the study drug is as reported")
        return data
    assignment = found[0]
    names = {pid: [p.name, *p.aliases, *p.substances] for pid, p in registry.products.items()
             if pid in study.products}
    secrets = ArmSecrets(ArmSecrets.of(found, names).terms
                         | {t for pid in study.products for t in names.get(pid, [])
                            if len(t) >= 3})
    product = registry.products.get(assignment.treatment)
    out = unblind_case(data, assignment, product.name if product else "placebo", secrets)
    for before, drug in zip(data.drugs, out.drugs, strict=True):
        if before.role not in ("1", "3") or not is_study_drug(before, secrets):
            continue
        given = {str(x.name).casefold(): x for x in before.substances if x.name}
        drug.substances = [given.get(name.casefold()) or Substance(name=name)
                           for name in (product.substances if product else ())]
        # Named by the message only: the notes are read by blinded people too.
        notes.append("G.k.2.2/G.k.2.3.r: the study drug is the product the subject "
                     "received (the blind was broken for this subject)")
    return out


def answered(ob: ObligationRow) -> conformity.Obligation:
    """The obligation as ``safety.submissions.conformity`` reads it, with its regime's scope."""
    regime = next((r for r in load_regimes() if r.id == ob.regime), None)
    return conformity.Obligation(destination=ob.destination, regime=ob.regime,
                                 scope=regime.scope if regime is not None else None,
                                 report_type=ob.report_type)


def _lifecycle(cv: CaseVersion, data: CaseVersionData, before: CaseVersionData | None,
               kind: ReportKind, reason: str | None, sponsor: SponsorProfile,
               notes: list[str]) -> CaseVersionData:
    """C.1.5, C.1.8.1 and C.1.11 as the kind requires (``safety.e2b.lifecycle``)."""
    # ``data`` is the message's own (prepared or copied for it): changed in place.
    if kind is not ReportKind.FOLLOW_UP or before is None:
        return lifecycle_prepare(before, data, kind, reason=reason, in_place=True)
    new = data.admin.most_recent_received
    old = before.admin.most_recent_received
    if (isinstance(new, PartialDate) and isinstance(old, PartialDate)
            and new.to_date() is not None and new.to_date() == old.to_date()
            and new.hour is None):
        # Information received the day the regulator's version was: C.1.5 must still move on,
        # so it carries the time this version was received (local time with its offset).
        new = PartialDate.from_datetime(cv.received_at.astimezone(sponsor.zone))
        notes.append(f"C.1.5: follow-up received the same day as the transmitted version "
                     f"({old}); sent with its time of receipt {new}")
    out = lifecycle_prepare(before, data, kind, most_recent=new if isinstance(new, PartialDate)
                            else None, in_place=True)
    notes.append(f"C.1.8.1 {out.admin.worldwide_case_id} kept; C.1.5 {old} -> "
                 f"{out.admin.most_recent_received}")
    return out


def route(sponsor: SponsorProfile, region: str,
          data: CaseVersionData) -> tuple[str, ExportHeader] | str:
    """The destination and transmission header of the sponsor's message to a region's
    regulator, or why there is none: a regulator the sponsor has no gateway identifiers for
    gets no message, and the reason names the setting to configure."""
    gateway = sponsor.gateway(region)
    how = (f"`safety sponsor configure {sponsor.code} --gateway "
           f"{region}:SENDER_ID[:BATCH_RECEIVER:MESSAGE_RECEIVER]`")
    if gateway is None:
        return (f"sponsor {sponsor.code} has no E2B gateway identifiers for {region} "
                f"(N.1.3/N.2.r.2 sender, N.1.4/N.2.r.3 receivers): set them with {how}")
    key = e2b_key(region, data)
    if key is None:
        if not (gateway.batch_receiver and gateway.message_receiver):
            return (f"sponsor {sponsor.code}: the {region} gateway's receivers (N.1.4, "
                    f"N.2.r.3) are not published; configure them with {how}")
        key = "ich"
    return key, ExportHeader(sender_id=gateway.sender_id, destination=key,
                             batch_receiver=gateway.batch_receiver,
                             message_receiver=gateway.message_receiver)


def lifecycle_finding(exc: LifecycleError) -> dict[str, str]:
    """A lifecycle error as a conformance finding naming its element (C.1.x)."""
    found = re.match(r"(C\.[0-9.]+)", str(exc))
    return {"element": found.group(1) if found else "C.1.11.1", "xpath": "-",
            "rule": "lifecycle", "message": str(exc), "severity": "error"}


def _with_duplicate_citations(session: Session, case: Case, data: CaseVersionData,
                              sender: Any, notes: list[str]) -> CaseVersionData:
    """A master case cites the duplicates a physician confirmed under it (C.1.9.1.r with
    their report ids, C.1.10.r with their worldwide ids), as they were transmitted when they
    were, so the receiver can connect them to the nullified reports."""
    rows = confirmed_under(session, case.id)
    dups: list[CaseVersionData] = []
    for a, b in rows:
        other = session.get(Case, b if a == case.id else a)
        if other is None:
            continue
        sent = session.scalar(select(Submission).where(
            Submission.case_id == other.id, Submission.xml.is_not(None),
            Submission.state.in_(TRANSMITTED))
            .order_by(Submission.sent_at.desc().nulls_last()).limit(1))
        dup = transmitted_case(sent) if sent is not None else working_data(
            session, current_version(session, other))
        if not dup.sender.organisation and sender is not None:
            dup.sender = sender.to_sender()  # C.1.1 ids are ours: we assigned them
        dups.append(dup)
    if not dups:
        return data
    confirmation = Confirmation(master=str(case.id), duplicates=(), nullify=(),
                                citations=citations(dups), linked=linked_ids(dups))
    notes.append("cites confirmed duplicate(s) " + ", ".join(confirmation.linked)
                 + " (C.1.9.1.r, C.1.10.r)")
    return cite_duplicates(data, confirmation)


def _open_obligations(session: Session, cv: CaseVersion) -> list[ObligationRow]:
    """The version's open obligations, earliest due first; on one day by destination, regime
    and rule, so that the drafts (and their audit events) come in the same order whichever
    way they were found: from the job that wrote them (``safety.db.created``) or a query."""
    order = (ObligationRow.due, ObligationRow.destination, ObligationRow.regime,
             ObligationRow.rule_id)
    inserted = held_rows(session, ObligationRow, (VERSION, cv.id), case_version_id=cv.id)
    if inserted is None:
        return list(session.scalars(select(ObligationRow).where(
            ObligationRow.case_version_id == cv.id, ObligationRow.status.in_(OPEN_STATUSES))
            .order_by(*order)))
    return sorted((o for o in inserted if o.status in OPEN_STATUSES),
                  key=lambda o: tuple(getattr(o, c.key) for c in order))


def draft_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    """Pipeline stage: draft a message for each regulator this version owes a report to; to a
    regulator that already holds the case it is a follow-up of what it holds. A nullified
    case gets nothing more (C.1.11.1 = 1 is final)."""
    session.flush()
    # Locked and read afresh in one statement: a nullification commits before or after.
    case = locked_case(session, cv.case_id)
    made: dict[str, Any] = {"draft": 0, "invalid": 0}
    if case.state == CaseState.NULLIFIED:
        made["nullified"] = True
        return made
    existing = set() if none_yet(session, Submission, (VERSION, cv.id),
                                 case_version_id=cv.id) \
        else set(session.scalars(select(Submission.destination).where(
            Submission.case_version_id == cv.id)))
    owed: dict[str, ObligationRow] = {}
    for ob in _open_obligations(session, cv):
        if ob.status == ObligationStatus.AWAITING_UNBLINDING:
            # What the subject received decides whether a SUSAR is owed at all, and the
            # regulator's message names it: nothing is drafted before the reveal
            # (:func:`after_reveal` drafts it then).
            made["awaiting_unblinding"] = made.get("awaiting_unblinding", 0) + 1
            continue
        owed.setdefault(ob.destination, ob)
    held = last_transmitted_each(session, cv.case_id) if set(owed) - existing else {}
    for dest, ob in owed.items():
        if dest in existing:
            continue
        previous = held.get(dest)
        cols = build_message(session, cv, case, region_for(dest), ob.days, settings,
                             previous=previous, obligation=ob)
        new_submission(session, actor=ACTOR, sponsor_id=cv.sponsor_id,
                       reason=f"{ob.report_type} owed to {dest} by {ob.due} (version "
                              f"{cv.version})",
                       case_id=cv.case_id, case_version_id=cv.id, obligation_id=ob.id,
                       destination=dest, due=ob.due, **cols)
        made[SubmissionState(cols["state"]).value] += 1
    if cv.kind == VersionKind.CORRECTION:
        for key, n in _to_holders(session, cv, case, settings, existing | set(owed)).items():
            made[key] = made.get(key, 0) + n
    return made


def _to_holders(session: Session, cv: CaseVersion, case: Case, settings: Settings,
                done: set[str]) -> dict[str, int]:
    """A correction of a case a regulator already holds: that regulator is told, by a
    follow-up (ICH E2B(R3) C.1.5: the version it holds is no longer what the sender knows),
    or, when the person said only the form of the sent report was wrong, by an amendment
    (C.1.11.1 = 2, C.1.11.2 the correction's reason). Where an obligation already owes it a
    report, that report carries the correction and nothing more is drafted."""
    correction = session.get(CaseCorrection, cv.id)
    made: dict[str, int] = {}
    holders = sorted(set(session.scalars(select(Submission.destination).where(
        Submission.case_id == cv.case_id, Submission.state.in_(TRANSMITTED)))))
    for dest in holders:
        if dest in done:
            continue
        previous = last_transmitted(session, cv.case_id, dest)
        if previous is None:
            continue
        amend = correction is not None and correction.amendment
        kind = ReportKind.AMENDMENT if amend else ReportKind.FOLLOW_UP
        reason = correction.reason if correction is not None else None
        cols = build_message(session, cv, case, region_for(dest),
                             obligation_days(session, previous), settings, previous=previous,
                             kind=kind, reason=reason if amend else None)
        new_submission(session, actor=ACTOR, sponsor_id=cv.sponsor_id,
                       reason=f"{kind} to {dest}, which holds the case: version {cv.version} "
                              f"corrected it ({reason or 'correction'})",
                       case_id=cv.case_id, case_version_id=cv.id, obligation_id=None,
                       destination=dest, due=None, **cols)
        state = SubmissionState(cols["state"]).value
        made[state] = made.get(state, 0) + 1
    return made


def redraft(session: Session, cv: CaseVersion, settings: Settings, *,
            why: str = "the case changed under the unsent message: drafted again",
            actor: str = ACTOR) -> dict[str, Any]:
    """Draft again after the case changed under its messages (a coding decision): unsent
    drafts are replaced, so what is signed and sent is what the physician saw. An amendment is
    rebuilt in place with its reason (no obligation owes it, so the stage would not draft it
    again). ``why`` is what the audit trail says of each message discarded."""
    stale = list(session.scalars(select(Submission).where(
        Submission.case_version_id == cv.id,
        Submission.state.in_((SubmissionState.DRAFT, SubmissionState.INVALID)))))
    case = session.get_one(Case, cv.case_id)
    for sub in stale:
        code, reason = message_lifecycle(sub)
        if code == NULLIFIED:
            continue  # what the regulator holds, not this version: nullifying again retries
        previous = last_transmitted(session, sub.case_id, sub.destination)
        if (code == AMENDED and previous is not None and reason
                and case.state != CaseState.NULLIFIED):
            cols = build_message(session, cv, case, region_for(sub.destination),
                                 obligation_days(session, previous), settings,
                                 previous=previous, kind=ReportKind.AMENDMENT, reason=reason)
            rewrite(session, sub, cols, actor=actor, reason="the case changed under the "
                    "amendment: drafted again", action="submission.redrafted")
        else:
            discard(session, sub, actor=actor, reason=why)
    session.flush()
    return draft_stage(session, cv, settings)


def after_reveal(session: Session, cv: CaseVersion, settings: Settings, result: str, *,
                 actor: str) -> dict[str, Any]:
    """The blind was broken for the case's subject and its obligations settled
    (``safety.rules.evaluation.apply_unblinding``): every unsent message of the version is
    superseded, audited, and the messages still owed drafted again, unblinded (EU CTR
    536/2014 Annex III 2.5; ICH E2A III.C.2). Placebo: the SUSAR obligations are not required,
    so their drafts are withdrawn and none replaces them."""
    why = ("withdrawn: unblinded, the subject received placebo; no SUSAR report is owed "
           "(EU CTR 536/2014 Annex III 2.5; ICH E2A III.C.2)" if result == "placebo" else
           "superseded: the blind was broken; the message is drafted again naming the "
           "treatment received (ICH E2A III.C.2)")
    return redraft(session, cv, settings, why=why, actor=actor)

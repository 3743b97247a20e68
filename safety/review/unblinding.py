"""Use cases of a blinded trial: import the randomisation list, build the blinded or unblinded
case an output needs, break the blind for one SUSAR (reason and e-signature) and settle the
case's obligations, and unblind a whole study at its end for the DSUR.

Only a user whose role for the case's sponsor holds ``unblind`` may import, read or reveal;
every read of the list is an audit event (``safety.blinding.store.read_assignments``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from safety.accounts.grants import role_for
from safety.accounts.roles import Permission, can
from safety.accounts.store import User
from safety.accounts.users import verify_signing_password
from safety.blinding.audience import Audience, BlindingError, check_output
from safety.blinding.mask import SHORT, ArmSecrets, blind_json, unblind_case
from safety.blinding.outputs import Blinding, Reveal, case_for, check_rendered
from safety.blinding.randomisation import Assignment, parse_randomisation
from safety.blinding.store import (
    Unblinding,
    UnblindingKind,
    UnblindingStatus,
    open_request,
    read_assignments,
    request_unblinding,
    reveal,
    save_assignments,
    unblinded_result,
)
from safety.cases.codec import case_from_json, case_to_json
from safety.cases.model import CaseVersionData
from safety.cases.store import Case, current_version, working_data
from safety.config import Settings
from safety.products.registry import Registry
from safety.products.store import load_registry
from safety.review.assessing import NARANJO_QUESTIONS
from safety.review.case_view import CaseView
from safety.rules.evaluation import apply_unblinding
from safety.submissions.drafting import after_reveal

REVEAL_MEANING = ("I break the blind for this subject to assess and report a suspected "
                  "unexpected serious adverse reaction")
BULK_MEANING = "I break the blind for every subject of this study at its end"


class UnblindingRefused(ValueError):
    """Not done; the message says why, naming the field where there is one."""


class UnblindedNotPermitted(BlindingError):
    """An unblinded document asked for by a user who does not hold ``unblind``."""


def _check_unblinder(session: Session, user: User, sponsor_id: int) -> None:
    role = role_for(session, user, sponsor_id)
    if role is None or not can(role, Permission.UNBLIND):
        raise UnblindingRefused("user: only the unblinded role may read treatment assignments")


def _blinded_study(registry: Registry, protocol: str) -> None:
    study = registry.studies.get(protocol)
    if study is None:
        raise UnblindingRefused(f"protocol: no study {protocol!r} in the registry")
    if not study.blinded:
        raise UnblindingRefused(f"protocol: study {protocol} is open-label; nothing to blind")


def import_randomisation(session: Session, user: User, sponsor_id: int, protocol: str,
                         csv_text: str) -> int:
    """Store the IWRS list of a blinded study in the compartment; the count is returned."""
    _check_unblinder(session, user, sponsor_id)
    registry = load_registry(session, sponsor_id)
    _blinded_study(registry, protocol)
    products = frozenset(registry.studies[protocol].products)
    return save_assignments(session, sponsor_id, protocol,
                            parse_randomisation(csv_text, products), user.actor)


def _protocol(data: CaseVersionData) -> str:
    return str(data.study.sponsor_study_number or "") if data.study else ""


def secrets_for(session: Session, registry: Registry, sponsor_id: int, protocol: str,
                case_id: object = None) -> ArmSecrets | None:
    """The values that would reveal the arms of a blinded study (None: open study). Reading
    them is a read of the list, audited as the system's, for keeping the blind."""
    study = registry.studies.get(protocol)
    if study is None or not study.blinded:
        return None
    assignments = read_assignments(session, sponsor_id, protocol, None,
                                   actor="system:blinding",
                                   purpose="keep the blind in an output")
    names = {pid: [p.name, *p.aliases, *p.substances] for pid, p in registry.products.items()
             if pid in study.products}
    secrets = ArmSecrets.of(assignments, names)
    for pid in study.products:  # even before the list is imported
        secrets = dataclasses.replace(secrets, terms=secrets.terms | {
            t for t in names.get(pid, []) if len(t) >= SHORT})
    return secrets


def blinding_for(session: Session, case: Case, data: CaseVersionData,
                 user: User | None) -> Blinding:
    """What an output of this case needs to keep or break the blind; the reveal only for a
    user holding ``unblind`` (or the system, ``user`` None, for regulators' messages)."""
    registry = load_registry(session, case.sponsor_id)
    protocol = _protocol(data)
    secrets = secrets_for(session, registry, case.sponsor_id, protocol)
    if secrets is None:
        return Blinding(None)
    result = unblinded_result(session, case.id)
    if result is None:
        return Blinding(secrets)
    if user is not None:
        role = role_for(session, user, case.sponsor_id)
        if role is None or not can(role, Permission.UNBLIND):
            return Blinding(secrets)
    subject = str(data.patient.investigation_number or "")
    found = read_assignments(session, case.sponsor_id, protocol, [subject],
                             actor=user.actor if user else "system:submissions",
                             purpose="unblinded view of the case", case_id=case.id)
    if not found:
        return Blinding(secrets)
    product = registry.products.get(found[0].treatment)
    return Blinding(secrets, Reveal(found[0], product.name if product else "placebo"))


def output_blinding(session: Session, case: Case, data: CaseVersionData, audience: Audience,
                    user: User | None, *, unblinded: bool = False) -> Blinding:
    """What a document of this case for ``audience`` is built with (CIOMS I, line listing,
    E2B for a committee). An unblinded document is refused for a blind audience (naming it),
    for a user who does not hold ``unblind`` (``user`` None: the system, for a regulator or
    DSMB export), and before the subject's assignment is revealed. A blinded one reads only
    the study's secrets, never the subject's assignment."""
    check_output(audience, unblinded)
    if not unblinded:
        registry = load_registry(session, case.sponsor_id)
        return Blinding(secrets_for(session, registry, case.sponsor_id, _protocol(data)))
    if user is not None:
        role = role_for(session, user, case.sponsor_id)
        if role is None or not can(role, Permission.UNBLIND):
            raise UnblindedNotPermitted(f"unblinded: only the unblinded role may have an unblinded "
                                f"document made for the {audience.value}")
    blinding = blinding_for(session, case, data, user)
    if blinding.secrets is not None and blinding.reveal is None:
        raise BlindingError(f"unblinded: the blind has not been broken for case "
                            f"{case.case_number}; reveal the subject's assignment first")
    return blinding


def unmasked_refused(session: Session, case: Case, user: User | None) -> bool:
    """Whether a document of this case that no mask can be trusted on must be refused to
    ``user`` (None: an API client, a blinded audience): the original report as received
    (PDF, XML with attributes, encodings and attached files, where a value can hide from any
    text mask) and the regulators' messages (unblinded after the reveal). Refused for a
    blinded study's case unless the user holds ``unblind`` (ICH E2A III.C.2)."""
    registry = load_registry(session, case.sponsor_id)
    study = registry.studies.get(_protocol(case_data(session, case)))
    if study is None or not study.blinded:
        return False
    if user is None:
        return True
    role = role_for(session, user, case.sponsor_id)
    return role is None or not can(role, Permission.UNBLIND)


def case_view(session: Session, case: Case, data: CaseVersionData,
              user: User | None, audience: Audience = Audience.STUDY_TEAM) -> CaseVersionData:
    """The case a page or an API answer shows this user: unblinded for the unblinded role
    after the reveal, else blinded (for a blinded study)."""
    blinding = blinding_for(session, case, data, user)
    unblinded = blinding.reveal is not None
    return case_for(data, Audience.DSMB if unblinded else audience, blinding,
                    unblinded=unblinded)


def blinded_detail(session: Session, case: Case, detail: dict[str, Any]) -> dict[str, Any]:
    """A case's API answer for the safety team's clients (a blinded audience, ICH E2A
    III.C.2): for a blinded study, the data blinded and every other string of the answer
    (stage results, versions) passed through the same mask."""
    data = case_from_json(detail.get("data") or {})
    registry = load_registry(session, case.sponsor_id)
    secrets = secrets_for(session, registry, case.sponsor_id, _protocol(data))
    if secrets is None:
        return detail
    blinded = case_for(data, Audience.STUDY_TEAM, Blinding(secrets))
    out = blind_json({k: v for k, v in detail.items() if k != "data"}, secrets)
    out["data"] = case_to_json(blinded)
    out["blinded"] = True
    return dict(out)


def blinded_answer(session: Session, case: Case, answer: Any) -> Any:
    """Any other API answer about a case (its submissions' findings, notes, reasons) for the
    safety team's clients, a blinded audience: for a blinded study, through the mask."""
    registry = load_registry(session, case.sponsor_id)
    secrets = secrets_for(session, registry, case.sponsor_id, _protocol(case_data(session, case)))
    return answer if secrets is None else blind_json(answer, secrets)


def case_data(session: Session, case: Case) -> CaseVersionData:
    """The current version's data as worked, which the reveal reads the subject from."""
    return working_data(session, current_version(session, case))


def blind_page_view(session: Session, view: CaseView,
                    user: User) -> tuple[CaseView, ArmSecrets | None]:
    """The case page's view for this user: for a blinded study, blinded unless the user holds
    ``unblind`` and the subject's assignment has been revealed (then unblinded). The secrets
    returned (None: nothing to check) are what the rendered page is checked against."""
    data = case_from_json(view.data)
    blinding = blinding_for(session, view.case, data, user)
    if blinding.secrets is None:
        return view, None
    if blinding.reveal is not None:
        shown = unblind_case(data, blinding.reveal.assignment, blinding.reveal.product_name,
                             blinding.secrets)
        return dataclasses.replace(view, data=case_to_json(shown)), None
    secrets = blinding.secrets
    blinded = case_to_json(case_for(data, Audience.STUDY_TEAM, blinding))
    history = [{**h, "changes": blind_json(h["changes"], secrets),
                "source": blind_json(h["source"], secrets, "source")} for h in view.history]
    sections = [(section, blind_json(loaded, secrets)) for section, loaded in view.sections]
    # The correction form offers only the fields that reveal nothing: a blinded person cannot
    # see (so must not retype) a drug's name or strength; the sponsor's assessments show the
    # blinded drug.
    edit = [dataclasses.replace(s, fields=[f for f in s.fields
                                           if blind_json(f.value, secrets) == f.value])
            for s in view.edit]
    return dataclasses.replace(
        view, data=blinded, history=history, causality=blind_json(view.causality, secrets),
        sections=sections, audit=[], edit=[s for s in edit if s.fields],
        assessments=blind_json(view.assessments, secrets),
        questions=[q for q in view.questions
                   if blind_json(q.text, secrets, "narrative") == q.text]), secrets


def check_page(html: str, secrets: ArmSecrets) -> None:
    """Refuse a blinded page that still names an arm-revealing value (the last gate)."""
    # The Naranjo questionnaire asks about "a placebo" in its own fixed words: that names no
    # subject's arm, so the form's questions are not what is checked.
    for question in NARANJO_QUESTIONS:
        html = html.replace(question, "")
    check_rendered(html, Audience.STUDY_TEAM, Blinding(secrets))


def regulator_message_refused(session: Session, case: Case, user: User) -> str | None:
    """Why this user may not read the case's regulator messages (None: they may). A blinded
    study's messages to regulators name what the subject received once the blind is broken
    (``safety.submissions.drafting``), and before that the study drug as the site reported
    it: they are the regulator's (an audience that may be unblinded), read by the unblinded
    role only; everyone else keeps the blind (ICH E2A III.C.2; CT-3 7.6 (111))."""
    registry = load_registry(session, case.sponsor_id)
    study = registry.studies.get(_protocol(case_data(session, case)))
    if study is None or not study.blinded:
        return None
    role = role_for(session, user, case.sponsor_id)
    if role is not None and can(role, Permission.UNBLIND):
        return None
    return (f"the messages to regulators of blinded study {study.protocol} name the treatment "
            "received: only the unblinded role reads them")


def reveal_for_case(session: Session, case: Case, user: User, settings: Settings, *,
                    data: CaseVersionData, reason: str, password: str, meaning: str | None,
                    now: datetime) -> tuple[Unblinding, Assignment]:
    """Break the blind for the case's subject: the unblinded physician, a reason, the
    signature (meaning confirmed, password typed again, 21 CFR 11.200(a)); the result is
    recorded on the request, the case's obligations that awaited it are settled and its unsent
    regulators' messages superseded: drafted again unblinded, or withdrawn (placebo)."""
    _check_unblinder(session, user, case.sponsor_id)
    if not reason.strip():
        raise UnblindingRefused("reason: required")
    if meaning != REVEAL_MEANING:
        raise UnblindingRefused("meaning: confirm the meaning of your signature")
    if not verify_signing_password(session, user, password, now=now):
        raise UnblindingRefused("password: wrong" + (" and the account is now locked"
                                                     if user.locked else ""))
    request = open_request(session, case.id)
    if request is None:
        request = request_unblinding(
            session, sponsor_id=case.sponsor_id, case_id=case.id, protocol=_protocol(data),
            subject=str(data.patient.investigation_number or ""), kind=UnblindingKind.SUSAR,
            actor=user.actor, reason=reason, now=now)
    if request.status != UnblindingStatus.REQUESTED:
        raise UnblindingRefused(f"case {case.case_number}: already unblinded")
    found = read_assignments(session, case.sponsor_id, request.protocol, [request.subject],
                             actor=user.actor, purpose=reason, case_id=case.id)
    if not found:
        raise UnblindingRefused(f"subject: {request.subject or '(none)'} is not in the "
                                f"randomisation list of {request.protocol or '(no study)'}")
    reveal(session, request, found[0], actor=user.actor, reason=reason, meaning=meaning,
           now=now)
    session.flush()
    apply_unblinding(session, case, settings, found[0].treatment, user.actor)
    session.flush()
    after_reveal(session, current_version(session, case), settings, found[0].treatment,
                 actor=user.actor)
    return request, found[0]


def unblind_study(session: Session, user: User, sponsor_id: int, protocol: str, *,
                  reason: str, password: str, meaning: str | None,
                  now: datetime) -> list[Assignment]:
    """End-of-study unblinding for the DSUR (ICH E2F 3.6: cumulative exposure by arm):
    every subject's assignment, one read, one revealed record per subject."""
    _check_unblinder(session, user, sponsor_id)
    _blinded_study(load_registry(session, sponsor_id), protocol)
    if meaning != BULK_MEANING:
        raise UnblindingRefused("meaning: confirm the meaning of your signature")
    if not verify_signing_password(session, user, password, now=now):
        raise UnblindingRefused("password: wrong")
    found = read_assignments(session, sponsor_id, protocol, None, actor=user.actor,
                             purpose=reason)
    for a in found:
        row = request_unblinding(session, sponsor_id=sponsor_id, case_id=None,
                                 protocol=protocol, subject=a.subject,
                                 kind=UnblindingKind.END_OF_STUDY, actor=user.actor,
                                 reason=reason, now=now)
        reveal(session, row, a, actor=user.actor, reason=reason, meaning=meaning, now=now)
    return found

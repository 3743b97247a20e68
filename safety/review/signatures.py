"""Approving a case version for submission with an electronic signature (21 CFR Part 11).

The signature binds the version on the signer's screen, its content and its E2B messages
(``safety.review.signing``); the password is asked again at every signing (§11.200(a)). Once
signed and approved, the version's conformant messages go to the outbox.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.orm import Session

from safety.accounts.grants import role_for
from safety.accounts.store import User
from safety.accounts.users import verify_signing_password
from safety.cases.store import Case, change_state, current_version
from safety.cases.workflow import BY_NAME, CaseState, ReviewFacts, TransitionError, plan
from safety.review import signing
from safety.review.facts import message_sha256, review_facts
from safety.review.store import Signature, add_signature
from safety.submissions.outbox import approve_for_sending


def approval_blockers(facts: ReviewFacts) -> list[str]:
    """What keeps the current version from being approved with a signature now: the guards of
    the approval, as if the signature were made (signing is what supplies it), so the panel
    shows before anyone types a password why it would be refused."""
    signed = dataclasses.replace(facts, signed_version=facts.current_version)
    return BY_NAME["approve"].blockers(signed)


def approval_status(session: Session, case: Case) -> dict[str, object]:
    """Whether the current version can be approved with a signature, and why not (the API's
    answer, the same reasons as the signature panel's)."""
    current = current_version(session, case)
    facts = review_facts(session, case, current)
    blockers = approval_blockers(facts)
    return {"case_id": str(case.id), "case_number": case.case_number, "state": case.state,
            "version": current.version,
            "can_approve": case.state == CaseState.APPROVAL and not blockers,
            "blockers": blockers}


class SigningRefused(ValueError):
    """The signature was not made; the message says why, in the signer's words."""


def sign_and_approve(session: Session, case: Case, user: User, *, seen_version: str,
                     meaning: str | None, password: str, comment: str | None,
                     zone: str, now: datetime, complete: bool | None = None) -> Signature:
    """Sign the current version (which the signer must have had on screen) with the approval
    meaning, move the case to submission and put its messages in the outbox, in one
    transaction; ``complete`` is the signer's statement whether the messages carry the complete
    information (``None``: not stated). ``case`` must be locked by the caller."""
    if seen_version != str(case.current_version):
        raise SigningRefused(
            f"you reviewed version {seen_version or '?'}, but the case is now version "
            f"{case.current_version}. Review the changes and sign again")
    if meaning != signing.APPROVAL_MEANING:
        raise SigningRefused("confirm the meaning of your signature")
    if not verify_signing_password(session, user, password, now=now):
        raise SigningRefused("the password is wrong"
                             + (" and the account is now locked" if user.locked else ""))
    role = role_for(session, user, case.sponsor_id)
    if role is None:
        raise SigningRefused(f"you do not work for the sponsor of case {case.case_number}")
    current = current_version(session, case)
    facts = review_facts(session, case, current)
    message = message_sha256(session, current)
    if message is None:
        raise SigningRefused(
            f"no E2B message is stored for version {current.version} yet; a signature binds "
            "the message too")
    try:
        change = plan(dataclasses.replace(facts, signed_version=current.version), role,
                      "approve", comment, via_signature=True)
    except TransitionError as exc:
        raise SigningRefused(str(exc)) from exc
    sig = add_signature(session, case, current, user, meaning=signing.APPROVAL_MEANING, now=now,
                        zone=zone, message_sha256=message)
    change_state(session, case, change, actor=user.actor)
    approve_for_sending(session, current.id, user.actor, complete)
    return sig

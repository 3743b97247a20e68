"""A message's fate, from draft to the regulator's acknowledgement.

``draft`` (conformant, waiting for medical approval), ``invalid`` (the conformance checker
found errors: never sent), ``ready`` (approved and signed: in the outbox), ``sent``,
``acknowledged`` (CA/AA), ``rejected`` (CR/AR, with the regulator's reason; the obligation is
owed again and its clock keeps running) and ``withdrawn`` (never sent: the case was nullified
or closed as a duplicate before it left).
"""

from __future__ import annotations

from enum import StrEnum

from safety.statemachine import StateMachine


class SubmissionState(StrEnum):
    DRAFT = "draft"
    INVALID = "invalid"
    READY = "ready"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# The regulator holds these; the others it never received.
TRANSMITTED = frozenset({SubmissionState.SENT, SubmissionState.ACKNOWLEDGED})
UNSENT = frozenset({SubmissionState.DRAFT, SubmissionState.INVALID, SubmissionState.READY})

# Redrafting an unsent message (the case changed under it) may change its verdict either way;
# an ACK may come for a message we hold as sent, and a regulator may send a corrected ACK.
SUBMISSION_STATE: StateMachine[SubmissionState] = StateMachine("submission state", {
    SubmissionState.DRAFT: frozenset({SubmissionState.DRAFT, SubmissionState.INVALID,
                                      SubmissionState.READY, SubmissionState.WITHDRAWN}),
    SubmissionState.INVALID: frozenset({SubmissionState.DRAFT, SubmissionState.INVALID,
                                        SubmissionState.WITHDRAWN}),
    SubmissionState.READY: frozenset({SubmissionState.SENT, SubmissionState.WITHDRAWN}),
    SubmissionState.SENT: frozenset({SubmissionState.ACKNOWLEDGED, SubmissionState.REJECTED}),
    SubmissionState.ACKNOWLEDGED: frozenset({SubmissionState.ACKNOWLEDGED,
                                             SubmissionState.REJECTED}),
    SubmissionState.REJECTED: frozenset({SubmissionState.ACKNOWLEDGED,
                                         SubmissionState.REJECTED}),
})

"""What a question to a site can be, and the moves between: plain Python, no framework.

A question is **open** until the site answers it (text, a follow-up report, or both), then
**answered**; the team closes it when the answer is enough, or opens it again (with the reason)
when it is not. The team may also close an open question it no longer needs (withdrawn, with
the reason). A closed question is final: a new need is a new question.

The minimum-criteria findings of a held report (ICH E2D(R1) 5.1, GVP VI.B.2: "the sender is
asked for the missing information") are questions of the same kind, raised by the system.
"""

from __future__ import annotations

from enum import StrEnum

from safety.statemachine import StateMachine


class QuestionStatus(StrEnum):
    OPEN = "open"  # waiting for the site
    ANSWERED = "answered"  # the site answered; the team reads it
    CLOSED = "closed"  # accepted, or withdrawn by the team


class QuestionSource(StrEnum):
    TEAM = "team"  # a person of the safety team wrote it
    MINIMUM_CRITERIA = "minimum_criteria"  # a held report's missing minimum criterion


QUESTION_STATUS: StateMachine[QuestionStatus] = StateMachine("question status", {
    QuestionStatus.OPEN: frozenset({QuestionStatus.ANSWERED, QuestionStatus.CLOSED}),
    QuestionStatus.ANSWERED: frozenset({QuestionStatus.CLOSED, QuestionStatus.OPEN}),
})

# Where the site finds each minimum criterion on its form, so that the question points at it.
CRITERION_FIELDS: dict[str, tuple[str, ...]] = {
    "missing_patient": ("subject.id", "subject.initials", "subject.sex", "subject.birth_date"),
    "missing_reporter": ("reporter.given_name", "reporter.family_name",
                         "reporter.qualification", "reporter.email"),
    "missing_suspect_product": ("drugs.0.name", "drugs.0.role"),
    "missing_adverse_event": ("events.0.verbatim",),
}


class QuestionError(ValueError):
    """A question or an answer that cannot be taken; the message names the field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

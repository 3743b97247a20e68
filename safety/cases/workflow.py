"""The case workflow as a pure state machine: states, transitions, guards, reasons.

A case moves intake → triage → data_entry → medical_review → approval → submission → closed;
any open case may be nullified. Each transition names the permission it needs, whether a
reason is mandatory, and its guards. A guard is a plain function of :class:`ReviewFacts`
returning why the transition is blocked, or ``None``.

Reasons are mandatory where 21 CFR 11.10(e) / EU Annex 11 §9 expect the "why" of a change to
a record: sending work back, reopening, nullifying. Forward moves may carry one.

Facts a feature area has not produced yet are ``None`` ("not known") and block nothing; a
known count above zero blocks. That keeps the guards honest without inventing data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from safety.accounts.roles import Permission, Role, can


class State(StrEnum):
    INTAKE = "intake"
    TRIAGE = "triage"
    DATA_ENTRY = "data_entry"
    MEDICAL_REVIEW = "medical_review"
    APPROVAL = "approval"
    SUBMISSION = "submission"
    CLOSED = "closed"
    NULLIFIED = "nullified"


STATE_LABELS: dict[State, str] = {
    State.INTAKE: "Intake",
    State.TRIAGE: "Triage",
    State.DATA_ENTRY: "Data entry / coding",
    State.MEDICAL_REVIEW: "Medical review",
    State.APPROVAL: "Approval",
    State.SUBMISSION: "Submission",
    State.CLOSED: "Closed",
    State.NULLIFIED: "Nullified",
}

OPEN_STATES: frozenset[State] = frozenset(State) - {State.CLOSED, State.NULLIFIED}


@dataclass(frozen=True)
class ReviewFacts:
    """What the guards may look at, gathered by the shell from the database."""

    state: str
    current_version: int
    signed_version: int | None = None  # version a still-valid signature binds to
    unconfirmed_coding: int | None = None
    open_duplicates: int | None = None
    conformance_errors: int | None = None
    reactions: int | None = None
    open_obligations: int | None = None

    @property
    def has_valid_signature(self) -> bool:
        return self.signed_version is not None and self.signed_version == self.current_version


Guard = Callable[[ReviewFacts], str | None]


def coding_confirmed(f: ReviewFacts) -> str | None:
    if f.unconfirmed_coding:
        return f"{f.unconfirmed_coding} coded term(s) still await confirmation"
    return None


def duplicates_resolved(f: ReviewFacts) -> str | None:
    if f.open_duplicates:
        return f"{f.open_duplicates} suspected duplicate(s) are not yet confirmed or rejected"
    return None


def message_conformant(f: ReviewFacts) -> str | None:
    if f.conformance_errors:
        return f"the E2B message has {f.conformance_errors} conformance error(s)"
    return None


def has_events(f: ReviewFacts) -> str | None:
    if f.reactions == 0:
        return "the case has no adverse event to review"
    return None


def obligations_submitted(f: ReviewFacts) -> str | None:
    if f.open_obligations:
        return f"{f.open_obligations} reporting obligation(s) are still open"
    return None


def signed_current_version(f: ReviewFacts) -> str | None:
    if f.signed_version is None:
        return f"version {f.current_version} has no valid electronic signature"
    if f.signed_version != f.current_version:
        return (f"the signature binds to version {f.signed_version} but the case is now "
                f"version {f.current_version}; sign again")
    return None


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[State]
    target: State
    permission: Permission
    reason_required: bool = False
    guards: tuple[Guard, ...] = ()
    by_signature: bool = False  # performed only through the signature form

    def blockers(self, facts: ReviewFacts) -> list[str]:
        return [m for m in (g(facts) for g in self.guards) if m]


def _t(name: str, label: str, sources: set[State], target: State, permission: Permission,
       *, reason_required: bool = False, guards: tuple[Guard, ...] = (),
       by_signature: bool = False) -> Transition:
    return Transition(name, label, frozenset(sources), target, permission, reason_required,
                      guards, by_signature)


TRANSITIONS: tuple[Transition, ...] = (
    _t("accept", "Accept into triage", {State.INTAKE}, State.TRIAGE, Permission.WORK_CASES),
    _t("start_data_entry", "Triage done: to data entry", {State.TRIAGE}, State.DATA_ENTRY,
       Permission.WORK_CASES),
    _t("send_to_medical_review", "Data entry done: to medical review", {State.DATA_ENTRY},
       State.MEDICAL_REVIEW, Permission.WORK_CASES,
       guards=(has_events, coding_confirmed, duplicates_resolved)),
    _t("return_to_data_entry", "Return to data entry", {State.MEDICAL_REVIEW, State.APPROVAL},
       State.DATA_ENTRY, Permission.MEDICAL_REVIEW, reason_required=True),
    _t("medical_review_done", "Medical review done: to approval", {State.MEDICAL_REVIEW},
       State.APPROVAL, Permission.MEDICAL_REVIEW,
       guards=(has_events, coding_confirmed, duplicates_resolved)),
    _t("approve", "Approve for submission (signature)", {State.APPROVAL}, State.SUBMISSION,
       Permission.SIGN, by_signature=True,
       guards=(coding_confirmed, duplicates_resolved, message_conformant,
               signed_current_version)),
    _t("return_to_medical_review", "Return to medical review", {State.APPROVAL, State.SUBMISSION},
       State.MEDICAL_REVIEW, Permission.MEDICAL_REVIEW, reason_required=True),
    _t("close", "Submitted: close the case", {State.SUBMISSION}, State.CLOSED,
       Permission.WORK_CASES, guards=(signed_current_version, obligations_submitted)),
    _t("reopen", "Reopen (follow-up or correction)", {State.CLOSED}, State.DATA_ENTRY,
       Permission.WORK_CASES, reason_required=True),
    _t("nullify", "Nullify the case", set(OPEN_STATES), State.NULLIFIED,
       Permission.MEDICAL_REVIEW, reason_required=True),
)

BY_NAME: dict[str, Transition] = {t.name: t for t in TRANSITIONS}


class TransitionError(ValueError):
    """A transition that may not happen now; the message says exactly why."""


@dataclass(frozen=True)
class Change:
    transition: str
    from_state: str
    to_state: str
    reason: str | None


@dataclass(frozen=True)
class Option:
    transition: Transition
    blockers: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.blockers


def options(facts: ReviewFacts, role: Role | str) -> list[Option]:
    """Transitions from the current state that this role holds the permission for, each with
    what blocks it now (shown to the user rather than hidden)."""
    state = _state(facts.state)
    return [Option(t, t.blockers(facts)) for t in TRANSITIONS
            if state in t.sources and can(role, t.permission)]


def plan(facts: ReviewFacts, role: Role | str, name: str, reason: str | None,
         *, via_signature: bool = False) -> Change:
    """Check one transition and return the change to apply, or raise why it cannot happen."""
    transition = BY_NAME.get(name)
    if transition is None:
        raise TransitionError(f"unknown transition {name!r}")
    state = _state(facts.state)
    if state not in transition.sources:
        raise TransitionError(
            f"{transition.label!r} is not possible from state {STATE_LABELS[state]!r}")
    if not can(role, transition.permission):
        raise TransitionError(f"role {Role(role).value} may not {transition.label!r}")
    if transition.by_signature and not via_signature:
        raise TransitionError(f"{transition.label!r} needs an electronic signature")
    reason = (reason or "").strip() or None
    if transition.reason_required and reason is None:
        raise TransitionError(f"{transition.label!r} needs a reason")
    blockers = transition.blockers(facts)
    if blockers:
        raise TransitionError(f"{transition.label!r} is blocked: " + "; ".join(blockers))
    return Change(transition.name, state.value, transition.target.value, reason)


def _state(name: str) -> State:
    try:
        return State(name)
    except ValueError:
        raise TransitionError(f"case is in unknown state {name!r}") from None

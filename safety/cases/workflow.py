"""The case workflow as a pure state machine: states, transitions, guards, reasons.

A case moves intake → triage → data_entry → medical_review → approval → submission → closed;
any open case may be nullified. Each transition names who may make it (a permission a user's
role must hold, or the system alone), whether a reason is mandatory, and its guards. A guard
is a plain function of :class:`ReviewFacts` returning why the transition is blocked, or
``None``. ``safety.cases.store.change_state`` is the only code that applies a planned change.

Reasons are mandatory where 21 CFR 11.10(e) / EU Annex 11 §9 expect the "why" of a change to
a record: sending work back, reopening, nullifying, closing as a duplicate. Forward moves may
carry one.

Guards fail closed: a fact nobody could establish (``None``: the stage that produces it has
not run, or failed) blocks the transition that depends on it, with a message that says what is
missing. A version whose processing is not complete, or whose stage failed, cannot move on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from safety.accounts.roles import Permission, Role, can


class CaseState(StrEnum):
    INTAKE = "intake"
    TRIAGE = "triage"
    DATA_ENTRY = "data_entry"
    MEDICAL_REVIEW = "medical_review"
    APPROVAL = "approval"
    SUBMISSION = "submission"
    CLOSED = "closed"
    NULLIFIED = "nullified"


STATE_LABELS: dict[CaseState, str] = {
    CaseState.INTAKE: "Intake",
    CaseState.TRIAGE: "Triage",
    CaseState.DATA_ENTRY: "Data entry / coding",
    CaseState.MEDICAL_REVIEW: "Medical review",
    CaseState.APPROVAL: "Approval",
    CaseState.SUBMISSION: "Submission",
    CaseState.CLOSED: "Closed",
    CaseState.NULLIFIED: "Nullified",
}

INITIAL_STATE = CaseState.TRIAGE  # a new case waits for triage
OPEN_STATES: frozenset[CaseState] = frozenset(CaseState) - {CaseState.CLOSED,
                                                           CaseState.NULLIFIED}
# States in which a case no longer changes: no re-evaluation, no recoding, nothing drafted.
FINAL_STATES: frozenset[CaseState] = frozenset({CaseState.CLOSED, CaseState.NULLIFIED})


class PipelineStatus(StrEnum):
    """Where a case version's processing stands (coding, duplicates, rules, drafting)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Stage(StrEnum):
    """The stages a new case version goes through, in this order: the rules read the codes,
    drafting reads the obligations (``safety.pipeline.stages`` runs them)."""

    CODING = "coding"
    DEDUP = "dedup"
    RULES = "rules"
    SUBMISSIONS = "submissions"


def next_stage(stage: Stage) -> Stage | None:
    order = list(Stage)
    i = order.index(stage)
    return order[i + 1] if i + 1 < len(order) else None


@dataclass(frozen=True)
class ReviewFacts:
    """What the guards may look at, gathered from the stored results (``safety.review.facts``).

    ``None`` means "not known": the stage that produces the fact has not run or failed.
    """

    state: str
    current_version: int
    signed_version: int | None = None  # version a still-valid signature binds to
    pipeline: PipelineStatus | None = None
    pipeline_detail: str | None = None  # the stage pending or failed, and why
    unconfirmed_coding: int | None = None
    open_duplicates: int | None = None
    conformance_errors: int | None = None
    # each unsent message's errors, "regulator: element message" (what the signer must fix)
    message_errors: tuple[str, ...] = ()
    reactions: int | None = None
    open_obligations: int | None = None

    @property
    def has_valid_signature(self) -> bool:
        return self.signed_version is not None and self.signed_version == self.current_version


Guard = Callable[[ReviewFacts], str | None]


def processing_complete(f: ReviewFacts) -> str | None:
    if f.pipeline is PipelineStatus.DONE:
        return None
    if f.pipeline is PipelineStatus.FAILED:
        return (f"processing of version {f.current_version} failed"
                + (f" ({f.pipeline_detail})" if f.pipeline_detail else "")
                + "; retry it before the case can move on")
    return (f"version {f.current_version} is still being processed"
            + (f" ({f.pipeline_detail})" if f.pipeline_detail else ""))


def coding_confirmed(f: ReviewFacts) -> str | None:
    if f.unconfirmed_coding is None:
        return f"the coding of version {f.current_version} is not known yet"
    if f.unconfirmed_coding:
        return f"{f.unconfirmed_coding} coded term(s) still await confirmation"
    return None


def duplicates_resolved(f: ReviewFacts) -> str | None:
    if f.open_duplicates is None:
        return f"the duplicate screening of version {f.current_version} is not known yet"
    if f.open_duplicates:
        return f"{f.open_duplicates} suspected duplicate(s) are not yet confirmed or rejected"
    return None


def message_conformant(f: ReviewFacts) -> str | None:
    if f.conformance_errors is None:
        return f"the E2B messages of version {f.current_version} are not drafted yet"
    if f.conformance_errors:
        shown = f.message_errors[:5]
        more = len(f.message_errors) - len(shown)
        return (f"the E2B messages have {f.conformance_errors} error(s) that block approval"
                + (": " + "; ".join(shown) if shown else "")
                + (f"; and {more} more" if more > 0 else ""))
    return None


def has_events(f: ReviewFacts) -> str | None:
    if f.reactions is None:
        return "the case's events are not known"
    if f.reactions == 0:
        return "the case has no adverse event to review"
    return None


def obligations_submitted(f: ReviewFacts) -> str | None:
    if f.open_obligations is None:
        return f"the reporting obligations of version {f.current_version} are not known yet"
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
    sources: frozenset[CaseState]
    target: CaseState
    permission: Permission | None  # None: only the system makes it
    reason_required: bool = False
    guards: tuple[Guard, ...] = ()
    by_signature: bool = False  # performed only through the signature form
    action: str = ""  # the audit event's action (default ``case.<name>``)

    @property
    def audit_action(self) -> str:
        return self.action or f"case.{self.name}"

    def blockers(self, facts: ReviewFacts) -> list[str]:
        return [m for m in (g(facts) for g in self.guards) if m]


def _t(name: str, label: str, sources: set[CaseState] | frozenset[CaseState],
       target: CaseState, permission: Permission | None, *, reason_required: bool = False,
       guards: tuple[Guard, ...] = (), by_signature: bool = False,
       action: str = "") -> Transition:
    return Transition(name, label, frozenset(sources), target, permission, reason_required,
                      guards, by_signature, action)


REVIEWED = (processing_complete, has_events, coding_confirmed, duplicates_resolved)

TRANSITIONS: tuple[Transition, ...] = (
    _t("accept", "Accept into triage", {CaseState.INTAKE}, CaseState.TRIAGE,
       Permission.WORK_CASES),
    _t("start_data_entry", "Triage done: to data entry", {CaseState.TRIAGE},
       CaseState.DATA_ENTRY, Permission.WORK_CASES),
    _t("send_to_medical_review", "Data entry done: to medical review", {CaseState.DATA_ENTRY},
       CaseState.MEDICAL_REVIEW, Permission.WORK_CASES, guards=REVIEWED),
    _t("return_to_data_entry", "Return to data entry",
       {CaseState.MEDICAL_REVIEW, CaseState.APPROVAL}, CaseState.DATA_ENTRY,
       Permission.MEDICAL_REVIEW, reason_required=True),
    _t("medical_review_done", "Medical review done: to approval", {CaseState.MEDICAL_REVIEW},
       CaseState.APPROVAL, Permission.MEDICAL_REVIEW, guards=REVIEWED),
    _t("approve", "Approve for submission (signature)", {CaseState.APPROVAL},
       CaseState.SUBMISSION, Permission.SIGN, by_signature=True,
       guards=(*REVIEWED, message_conformant, signed_current_version)),
    _t("return_to_medical_review", "Return to medical review",
       {CaseState.APPROVAL, CaseState.SUBMISSION}, CaseState.MEDICAL_REVIEW,
       Permission.MEDICAL_REVIEW, reason_required=True),
    _t("close", "Submitted: close the case", {CaseState.SUBMISSION}, CaseState.CLOSED,
       Permission.WORK_CASES,
       guards=(processing_complete, signed_current_version, obligations_submitted)),
    _t("reopen", "Reopen (follow-up or correction)", {CaseState.CLOSED}, CaseState.DATA_ENTRY,
       Permission.WORK_CASES, reason_required=True),
    _t("nullify", "Nullify the case", OPEN_STATES, CaseState.NULLIFIED,
       Permission.MEDICAL_REVIEW, reason_required=True),
    # Made by the system, or by a decision taken elsewhere (not offered on the case page).
    # A follow-up on a closed case: new information must not sit unseen outside the queue.
    _t("reopen_for_follow_up", "Reopened by a follow-up report", {CaseState.CLOSED},
       CaseState.DATA_ENTRY, None, reason_required=True, action="case.reopened"),
    # A correction (or sponsor assessment) of a case awaiting or past approval: the signature
    # bound the version before it, so the case goes back to the physician (21 CFR 11.70).
    _t("returned_by_correction", "Returned to medical review by a correction",
       {CaseState.APPROVAL, CaseState.SUBMISSION}, CaseState.MEDICAL_REVIEW, None,
       reason_required=True, action="case.returned_by_correction"),
    # A confirmed duplicate no regulator holds: what it says is reported under its master.
    _t("close_as_duplicate", "Closed as a duplicate", OPEN_STATES, CaseState.CLOSED, None,
       reason_required=True, action="case.closed_as_duplicate"),
    # A confirmed duplicate a regulator holds is nullified there, closed or not.
    _t("nullify_as_duplicate", "Nullified as a duplicate", OPEN_STATES | {CaseState.CLOSED},
       CaseState.NULLIFIED, None, reason_required=True, action="case.nullify"),
)

BY_NAME: dict[str, Transition] = {t.name: t for t in TRANSITIONS}


class TransitionError(ValueError):
    """A transition that may not happen now; the message says exactly why."""


@dataclass(frozen=True)
class Change:
    transition: str
    from_state: CaseState
    to_state: CaseState
    reason: str | None

    @property
    def audit_action(self) -> str:
        return BY_NAME[self.transition].audit_action


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
            if state in t.sources and t.permission is not None and can(role, t.permission)]


def plan(facts: ReviewFacts, role: Role | str | None, name: str, reason: str | None,
         *, via_signature: bool = False) -> Change:
    """Check one transition and return the change to apply, or raise why it cannot happen.

    ``role`` is the user's role; ``None`` is the system itself (or a safety-team API client,
    whose rights its shell checked), which alone may make the system transitions.
    """
    transition = BY_NAME.get(name)
    if transition is None:
        raise TransitionError(f"unknown transition {name!r}")
    state = _state(facts.state)
    if state not in transition.sources:
        raise TransitionError(
            f"{transition.label!r} is not possible from state {STATE_LABELS[state]!r}")
    if role is not None:
        if transition.permission is None:
            raise TransitionError(f"{transition.label!r} is made by the system only")
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
    return Change(transition.name, state, transition.target, reason)


def system_change(state: str, name: str, reason: str) -> Change:
    """A system transition (guards-free by design: its caller decided it), checked against the
    state machine like any other."""
    return plan(ReviewFacts(state=state, current_version=0), None, name, reason)


def _state(name: str) -> CaseState:
    try:
        return CaseState(name)
    except ValueError:
        raise TransitionError(f"case is in unknown state {name!r}") from None

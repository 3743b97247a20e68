"""Where the review workspace reads what other feature areas concluded.

Each source is one function a feature area provides; ``None`` (the default for those whose
results are not stored yet) means "not known", which the workflow guards treat as blocking
nothing and the pages do not show. Pass a :class:`ReviewSources` to
``register_web(app, sources=...)`` to plug an area in:

- ``due_dates``: earliest open obligation due date per case (queue order); default reads the
  rules area's ``obligations`` table.
- ``open_obligations``: open obligations of a case (blocks closing while any are open);
  default reads the same table.
- ``message``: the stored E2B message of a case version (bytes). Its SHA-256 is bound into
  the signature, and a different message later invalidates the signature.
- ``unconfirmed_coding``, ``open_duplicates``, ``conformance_errors``: counts for the guards.
- ``flags``: per case, which of :data:`QUEUE_FLAGS` apply (queue filters and badges).
- ``on_approved``: called in the signing transaction once a version is approved.
- ``on_transition``: called in the transaction of any other workflow transition once it is
  applied (nullifying a case drafts its nullifications).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safety.cases.store import Case, CaseVersion
from safety.cases.workflow import Change

DueSource = Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, date]]
CountSource = Callable[[Session, Case, CaseVersion], int | None]
FlagSource = Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, set[str]]]
MessageSource = Callable[[Session, Case, CaseVersion], bytes | None]
ApprovalHook = Callable[[Session, Case, CaseVersion, str], None]
TransitionHook = Callable[[Session, Case, Change, str], None]

OPEN_OBLIGATION_STATUSES = ("open", "awaiting_unblinding")

QUEUE_FLAGS: dict[str, str] = {
    "coding_review": "Needs coding review",
    "suspected_duplicate": "Suspected duplicate",
    "rejected_by_regulator": "Rejected by regulator",
}


def obligation_due_dates(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    """Earliest due date of each case's open obligations (``safety.rules.store``)."""
    from safety.rules.store import ObligationRow

    if not case_ids:
        return {}
    stmt = (select(ObligationRow.case_id, func.min(ObligationRow.due))
            .where(ObligationRow.status.in_(OPEN_OBLIGATION_STATUSES))
            .group_by(ObligationRow.case_id))
    if len(case_ids) <= 500:
        stmt = stmt.where(ObligationRow.case_id.in_(case_ids))
    # A whole queue's ids would exceed bound-parameter limits: read every open obligation
    # (they belong to open cases anyway) and keep the ones asked for.
    wanted = set(case_ids)
    return {case_id: due for case_id, due in session.execute(stmt)
            if due is not None and case_id in wanted}


def no_due_dates(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    return {}


def open_obligations(session: Session, case: Case, version: CaseVersion) -> int | None:
    from safety.rules.store import ObligationRow

    return session.execute(
        select(func.count()).select_from(ObligationRow)
        .where(ObligationRow.case_id == case.id,
               ObligationRow.status.in_(OPEN_OBLIGATION_STATUSES))
    ).scalar_one()


@dataclass(frozen=True)
class ReviewSources:
    due_dates: DueSource = obligation_due_dates
    open_obligations: CountSource | None = open_obligations
    message: MessageSource | None = None
    unconfirmed_coding: CountSource | None = None
    open_duplicates: CountSource | None = None
    conformance_errors: CountSource | None = None
    flags: FlagSource | None = None
    on_approved: ApprovalHook | None = None  # e.g. put the signed messages in the outbox
    on_transition: TransitionHook | None = None  # e.g. nullification messages

    def count(self, name: str, session: Session, case: Case,
              version: CaseVersion) -> int | None:
        source: CountSource | None = getattr(self, name)
        return None if source is None else source(session, case, version)


DEFAULT_SOURCES = ReviewSources()

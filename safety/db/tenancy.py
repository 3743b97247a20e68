"""Sponsors are the tenants: every row of a sponsor's data carries its ``sponsor_id``, and a
session opened for a caller reads and changes only the rows of the sponsors that caller works
for.

A shell marks its session with the caller's sponsors (:func:`restrict_to_sponsors`); from then
on every ORM statement on a sponsor-owned table — entities, columns, joins, ``Session.get``,
ORM updates and deletes — gets ``sponsor_id IN (...)`` added (SQLAlchemy's
``with_loader_criteria``, the documented way to add a global WHERE clause). Services filter
explicitly too; this is the net under them, so a query that forgets its sponsor returns
nothing foreign rather than leaking it. The system (workers, migrations) works unrestricted
and names the sponsor of each case it touches.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

SPONSORS_KEY = "safety.sponsor_ids"


class SponsorOwned:
    """A table whose rows belong to exactly one sponsor."""

    @declared_attr
    def sponsor_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("sponsors.id"), index=True)


def restrict_to_sponsors(session: Session, sponsor_ids: Iterable[int] | None) -> None:
    """Limit ``session`` to these sponsors' rows (``None``: every sponsor, the system)."""
    session.info[SPONSORS_KEY] = None if sponsor_ids is None else frozenset(sponsor_ids)


def sponsors_of(session: Session) -> frozenset[int] | None:
    ids: frozenset[int] | None = session.info.get(SPONSORS_KEY)
    return ids


@event.listens_for(Session, "do_orm_execute")
def _only_the_callers_sponsors(state: ORMExecuteState) -> None:
    ids = sponsors_of(state.session)
    if ids is None or not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(with_loader_criteria(
        SponsorOwned, lambda cls: cls.sponsor_id.in_(ids), include_aliases=True))

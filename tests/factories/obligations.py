"""Reporting obligations stored as the rules stage stores them, with the dates a test wants."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from factories.cases import only_version
from safety.cases.store import CaseVersion
from safety.rules.store import ObligationRow


def obligation_row(cv: CaseVersion, *, due: date, status: str = "open",
                   **columns: Any) -> ObligationRow:
    """An obligation of the case version, owed to the EU under the clinical-trial regime unless
    ``columns`` say otherwise."""
    values: dict[str, Any] = dict(
        version=1, destination="EU", regime="EU-CT", rule_id="r", report_type="t",
        day0=date(2026, 10, 1), days=15, citation="c", anchor="a", explanation="e", basis=[])
    values.update(columns)
    return ObligationRow(case_id=cv.case_id, case_version_id=cv.id, sponsor_id=cv.sponsor_id,
                         due=due, status=status, **values)


def owe(session: Session, dues: dict[str, date]) -> None:
    """Exactly these open obligations: one per case (each of one version), due on the date
    given; any other obligation is deleted."""
    session.execute(delete(ObligationRow))
    for case_id, due in dues.items():
        session.add(obligation_row(only_version(session, case_id), due=due))
    session.flush()

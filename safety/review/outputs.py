"""What people read of a case outside the case page: the CIOMS I form, the E2B message made
readable, the line listing of a queue filter (``safety.review.cioms1``,
``safety.e2b.readable``, ``safety.review.line_listing`` do the work on plain data)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.store import Case, CaseVersion, current_version, working_data
from safety.config import Settings
from safety.e2b.readable import Section, readable
from safety.review.cioms1 import Cioms1Form, cioms1_form, render_pdf
from safety.review.line_listing import ListedCase, listing_row, to_csv, to_xlsx
from safety.review.queue import QueueFilters, queue_rows
from safety.sponsors.service import profile
from safety.submissions.service import case_submission
from safety.submissions.store import Submission


def case_cioms1(session: Session, case: Case, today: date) -> Cioms1Form:
    """The CIOMS I form of the current version as worked (with its coding); a version after
    the first is a follow-up report (box 25a). The manufacturer (box 24a) is the sponsor's
    sender block, as in its E2B messages (C.3)."""
    cv = current_version(session, case)
    data = working_data(session, cv)
    sender = profile(session, case.sponsor_id).sender
    if not data.sender.organisation and sender is not None:
        data.sender = sender.to_sender()
    return cioms1_form(data, case_number=case.case_number, version=cv.version, today=today,
                       follow_up=cv.version > 1)


def cioms1_pdf(session: Session, case: Case, today: date) -> tuple[str, bytes]:
    """The file name and the PDF of the case's CIOMS I form."""
    form = case_cioms1(session, case, today)
    return f"CIOMS-I-{case.case_number}-v{form.version}.pdf", render_pdf(form)



@dataclass(frozen=True)
class ReadableMessage:
    submission: Submission
    messages: list[list[Section]]  # per message of the batch, its sections


def readable_message(session: Session, case: Case, submission_id: uuid.UUID,
                     settings: Settings) -> ReadableMessage | None:
    """A stored message of the case, element by element (None: no such message)."""
    sub = case_submission(session, case.id, submission_id)
    if sub is None or not sub.xml:
        return None
    return ReadableMessage(sub, readable(sub.xml, settings.schemas_dir))


def message_file(session: Session, case: Case,
                 submission_id: uuid.UUID) -> tuple[str, bytes] | None:
    """The file name and bytes of a stored message, as the gateway gets it."""
    sub = case_submission(session, case.id, submission_id)
    if sub is None or not sub.xml:
        return None
    return f"{case.case_number}-{sub.batch_id}.xml", sub.xml


def line_listing(session: Session, filters: QueueFilters, today: date) -> list[dict[str, str]]:
    """The CIOMS II line listing of the cases the queue shows under ``filters``, in the
    queue's order, each from its current version as worked."""
    page = queue_rows(session, filters, today=today)
    out = []
    for row in page.rows:
        cv = session.scalar(select(CaseVersion).where(CaseVersion.case_id == row.case_id,
                                                      CaseVersion.version == row.version))
        if cv is None:
            continue
        out.append(listing_row(ListedCase(row.case_number, row.version,
                                          working_data(session, cv))))
    return out


def line_listing_file(session: Session, filters: QueueFilters, today: date,
                      fmt: str) -> tuple[str, str, bytes]:
    """File name, media type and bytes of the line listing in ``fmt`` (csv or xlsx)."""
    rows = line_listing(session, filters, today)
    name = f"line-listing-{today.isoformat()}"
    if fmt == "xlsx":
        return (f"{name}.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                to_xlsx(rows, f"CIOMS II line listing {today.isoformat()}"))
    if fmt == "csv":
        return f"{name}.csv", "text/csv; charset=utf-8", to_csv(rows)
    raise ValueError(f"format {fmt!r}: use csv or xlsx")

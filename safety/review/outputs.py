"""What people read of a case outside the case page: the CIOMS I form, the E2B message made
readable, the line listing of a queue filter (``safety.review.cioms1``,
``safety.e2b.readable``, ``safety.review.line_listing`` do the work on plain data)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.store import User
from safety.blinding.audience import Audience, check_output
from safety.blinding.mask import ArmSecrets, blind_json, redact_text
from safety.blinding.outputs import Blinding, case_for, check_rendered, e2b_for
from safety.blinding.store import unblinded_result
from safety.cases.store import Case, CaseVersion, current_version, working_data
from safety.cases.workflow import CaseState
from safety.config import Settings
from safety.e2b.export import ExportResult
from safety.e2b.readable import Section, readable
from safety.e2b.writer import ExportHeader
from safety.review.cioms1 import Cioms1Form, cioms1_form, render_pdf
from safety.review.line_listing import ListedCase, listing_row, to_csv, to_xlsx
from safety.review.queue import QueueFilters, queue_rows
from safety.review.unblinding import output_blinding
from safety.sponsors.service import profile
from safety.submissions.prepare import prepare
from safety.submissions.service import case_submission
from safety.submissions.store import Submission


def case_cioms1(session: Session, case: Case, today: date, *,
                audience: Audience = Audience.STUDY_TEAM, user: User | None = None,
                unblinded: bool = False) -> Cioms1Form:
    """The CIOMS I form of the current version as worked (with its coding); a version after
    the first is a follow-up report (box 25a). The manufacturer (box 24a) is the sponsor's
    sender block, as in its E2B messages (C.3).

    The form names its ``audience`` (issue 19): for a blinded study it is filled from the
    blinded case, every box passes through the mask (a suspect-drug box whole, a prose box
    sentence by sentence) and the boxes' text is checked for any arm-revealing value before the
    form is drawn; ``unblinded`` (regulator or DSMB, a ``user`` holding ``unblind``, after the
    reveal) fills it with what the subject received. ``BlindingError`` otherwise."""
    cv = current_version(session, case)
    data = working_data(session, cv)
    sender = profile(session, case.sponsor_id).sender
    if not data.sender.organisation and sender is not None:
        data.sender = sender.to_sender()
    blinding = output_blinding(session, case, data, audience, user, unblinded=unblinded)
    form = cioms1_form(case_for(data, audience, blinding, unblinded=unblinded),
                       case_number=case.case_number, version=cv.version, today=today,
                       follow_up=cv.version > 1)
    if blinding.secrets is None or unblinded:
        return form
    form = blind_form(form, blinding.secrets)
    check_rendered(form.words(), audience, blinding)
    return form


def blind_form(form: Cioms1Form, secrets: ArmSecrets) -> Cioms1Form:
    """Every box through the mask: a suspect-drug box (II, 14-21) that still names an arm
    value is blinded whole, any other box loses only its revealing sentences."""
    return replace(form, boxes=tuple(
        replace(b, value=redact_text(b.value, secrets, prose=not b.suspect_drug))
        for b in form.boxes))


def cioms1_pdf(session: Session, case: Case, today: date, *,
               audience: Audience = Audience.STUDY_TEAM, user: User | None = None,
               unblinded: bool = False) -> tuple[str, bytes]:
    """The file name and the PDF of the case's CIOMS I form for ``audience``."""
    form = case_cioms1(session, case, today, audience=audience, user=user, unblinded=unblinded)
    return f"CIOMS-I-{case.case_number}-v{form.version}.pdf", render_pdf(form)



class AudienceExportRefused(ValueError):
    """No message for this audience; the message says why."""


def e2b_for_audience(session: Session, case: Case, audience: Audience, settings: Settings, *,
                     user: User | None = None, unblinded: bool = False,
                     now: datetime | None = None) -> ExportResult:
    """The current version as an E2B(R3) message for an audience outside the regulators'
    obligations: the ethics committees and investigators a sponsor informs of SUSARs (EU CTR
    536/2014 Art. 42-43 via EudraVigilance; 21 CFR 312.32(c)(1) "all participating
    investigators"), the DSMB, the study team. For a blinded study it is built from the
    blinded case (the drug section carries "blinded study drug", no name, strength, kit or
    sentence naming the arm) and the XML is checked for arm-revealing values before it is
    returned (CT-3 7.6 point 111; ICH E2A III.C.2); ``unblinded`` (DSMB only, after the
    reveal) is refused for a blind audience, naming it. A regulator's message is drafted for
    its obligation (``safety export e2b --destination``), not here."""
    if audience is Audience.REGULATOR:
        raise AudienceExportRefused("audience: a regulator's message is drafted for its "
                                    "obligation; export it with --destination")
    if case.state == CaseState.NULLIFIED:
        raise AudienceExportRefused(f"case {case.case_number} is nullified: nothing more is "
                                    "sent about it")
    now = now or datetime.now(UTC)
    data = working_data(session, current_version(session, case))
    blinding = output_blinding(session, case, data, audience, user, unblinded=unblinded)
    sponsor = profile(session, case.sponsor_id)
    prepared = prepare(data, region="ich", days=None, sender=sponsor.sender, now=now)
    receiver = audience.value.upper()
    header = ExportHeader(sender_id=sponsor.code, destination="ich", batch_receiver=receiver,
                          message_receiver=receiver, created=now)
    return e2b_for(prepared.case, header, audience, blinding, unblinded=unblinded,
                   schemas=settings.schemas_dir, xsd_dir=settings.e2b_xsd_dir)


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


def line_listing(session: Session, filters: QueueFilters, today: date, *,
                 audience: Audience = Audience.STUDY_TEAM, user: User | None = None,
                 unblinded: bool = False) -> list[dict[str, str]]:
    """The CIOMS II line listing of the cases the queue shows under ``filters``, in the
    queue's order, each from its current version as worked.

    The listing names its ``audience`` (issue 19): a blinded study's line is built from the
    blinded case, passed through the mask and checked for arm-revealing values; an
    ``unblinded`` listing (regulator or DSMB, a ``user`` holding ``unblind`` for the case's
    sponsor) shows what each revealed subject received and keeps the blind for the others."""
    check_output(audience, unblinded)
    page = queue_rows(session, filters, today=today)
    secrets: dict[tuple[int, str], Blinding] = {}
    out = []
    for row in page.rows:
        cv = session.scalar(select(CaseVersion).where(CaseVersion.case_id == row.case_id,
                                                      CaseVersion.version == row.version))
        if cv is None:
            continue
        data = working_data(session, cv)
        case = session.get_one(Case, row.case_id)
        key = (case.sponsor_id, str(data.study.sponsor_study_number or "") if data.study
               else "")
        if key not in secrets:  # one audited read of the study's list per listing
            secrets[key] = output_blinding(session, case, data, audience, None)
        blinding = secrets[key]
        if blinding.secrets is None:
            out.append(listing_row(ListedCase(row.case_number, row.version, data)))
            continue
        if unblinded:
            revealed = output_blinding(session, case, data, audience, user, unblinded=True) \
                if unblinded_result(session, case.id) is not None else blinding
            if revealed.reveal is not None:
                shown = case_for(data, audience, revealed, unblinded=True)
                out.append(listing_row(ListedCase(row.case_number, row.version, shown)))
                continue
        line = blind_json(listing_row(ListedCase(row.case_number, row.version,
                                                 case_for(data, audience, blinding))),
                          blinding.secrets)
        check_rendered("\n".join(line.values()), audience, blinding)
        out.append(line)
    return out


def line_listing_file(session: Session, filters: QueueFilters, today: date,
                      fmt: str, *, audience: Audience = Audience.STUDY_TEAM,
                      user: User | None = None,
                      unblinded: bool = False) -> tuple[str, str, bytes]:
    """File name, media type and bytes of the line listing in ``fmt`` (csv or xlsx)."""
    rows = line_listing(session, filters, today, audience=audience, user=user,
                        unblinded=unblinded)
    name = f"line-listing-{today.isoformat()}"
    if fmt == "xlsx":
        return (f"{name}.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                to_xlsx(rows, f"CIOMS II line listing {today.isoformat()}"))
    if fmt == "csv":
        return f"{name}.csv", "text/csv; charset=utf-8", to_csv(rows)
    raise ValueError(f"format {fmt!r}: use csv or xlsx")

"""Persistence of rule results: anchors per case version, obligations, recommendations.

The only code that changes an obligation's status (:func:`set_obligation_status`, checked by
``safety.rules.obligations.OBLIGATION_STATUS``, audited) and its due-date alert
(:func:`refresh_alerts`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.audit.store import record
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, enum_type, utcnow
from safety.db.created import CASE, VERSION, none_yet
from safety.db.tenancy import SponsorOwned
from safety.rules.capacity import with_options
from safety.rules.causality import Relatedness
from safety.rules.day0 import Anchor, AnchorKind, Receipt, ReceiverRole
from safety.rules.facts import CaseFacts
from safety.rules.history import Filing, SponsorAssessment
from safety.rules.obligations import (
    OBLIGATION_STATUS,
    OPEN_STATUSES,
    Evaluation,
    Obligation,
    ObligationAlert,
    ObligationStatus,
    completions_after_filing,
    monitor_status,
)
from safety.rules.regime import load_regimes
from safety.sponsors.profile import RulesOptions
from safety.sponsors.store import Sponsor


class CaseAnchorRow(Base):
    """One clock anchor of a case version: the UTC instant, the zone, and the derived date."""

    __tablename__ = "case_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"),
                                                       index=True)
    kind: Mapped[str] = mapped_column(String(30))
    instant: Mapped[datetime | None] = mapped_column(UTCDateTime)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)


class ObligationRow(SponsorOwned, Base):
    __tablename__ = "obligations"
    __table_args__ = (Index("ix_obligations_status_due", "status", "due"),)

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"),
                                                       index=True)
    version: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(100))
    regime: Mapped[str] = mapped_column(String(50))
    rule_id: Mapped[str] = mapped_column(String(80))
    report_type: Mapped[str] = mapped_column(String(200))
    grp: Mapped[str] = mapped_column("report_group", String(20), default="initial")
    day0: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date, index=True)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[ObligationStatus] = mapped_column(
        enum_type(ObligationStatus, "obligation_status", 30))
    alert: Mapped[ObligationAlert | None] = mapped_column(  # set by the due-date monitor
        enum_type(ObligationAlert, "obligation_alert", 20))
    citation: Mapped[str] = mapped_column(Text)
    anchor: Mapped[str] = mapped_column(String(30))
    explanation: Mapped[str] = mapped_column(Text)
    basis: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    # The filer's statement that the filed report was complete (None: not said): an
    # incomplete EU CTR 7-day report owes the completed report (Art. 42(2)).
    complete: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CaseReceiptRow(SponsorOwned, Base):
    """Who received a case version's information, when (``instant``, or ``day`` when only a
    date is known): day 0 is the earliest receipt by the sponsor or anyone acting for it
    (GVP VI.B.7)."""

    __tablename__ = "case_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"),
                                                       index=True)
    party: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    instant: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The receiver's UTC offset in minutes (migration 0014): the receipt keeps its own
    # calendar day (safety.rules.day0.receipt_day); null: read in the sponsor's zone.
    utc_offset: Mapped[int | None] = mapped_column(Integer)
    day: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseAssessmentRow(SponsorOwned, Base):
    """A dated causality/expectedness assessment of one event x suspect drug
    (:class:`safety.rules.history.SponsorAssessment` as stored)."""

    __tablename__ = "case_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    reaction_id: Mapped[str] = mapped_column(String(100))
    drug_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    instant: Mapped[datetime | None] = mapped_column(UTCDateTime)
    day: Mapped[date | None] = mapped_column(Date)
    causality: Mapped[str | None] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(100), default="")
    result: Mapped[str] = mapped_column(String(100), default="")
    expected: Mapped[bool | None] = mapped_column(Boolean)
    reference: Mapped[str] = mapped_column(String(40), default="IB")
    rsi_version: Mapped[str] = mapped_column(String(200), default="")
    assessor: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecommendationRow(SponsorOwned, Base):
    """Amendment or nullification the rules recommend for an already submitted report."""

    __tablename__ = "obligation_recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    destination: Mapped[str] = mapped_column(String(100))
    regime: Mapped[str] = mapped_column(String(50))
    rule_id: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    citation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _to_domain(row: ObligationRow) -> Obligation:
    return Obligation(
        case_id=str(row.case_id), version=row.version, destination=row.destination,
        regime=row.regime, rule_id=row.rule_id, report_type=row.report_type, day0=row.day0,
        due=row.due, days=row.days, status=ObligationStatus(row.status),
        citation=row.citation, anchor=AnchorKind(row.anchor), explanation=row.explanation,
        basis=tuple(row.basis or ()), group=row.grp, submitted_on=row.submitted_on,
        complete=row.complete,
    )


def save_anchors(session: Session, case_version_id: uuid.UUID, facts: CaseFacts) -> None:
    a = facts.anchors
    for anchor in (a.first_receipt, a.significant_followup, a.sponsor_determination,
                   a.fatal_lt_awareness):
        if isinstance(anchor, Anchor):
            session.add(CaseAnchorRow(case_version_id=case_version_id, kind=anchor.kind.value,
                                      instant=anchor.instant, zone=anchor.zone, day=anchor.day))


def save_evaluation(
    session: Session, case_id: uuid.UUID, case_version_id: uuid.UUID, facts: CaseFacts,
    ev: Evaluation, sponsor_id: int, *, actor: str,
) -> list[ObligationRow]:
    """Store the anchors, obligations and recommendations of one evaluated case version; each
    obligation computed is audited with the status it starts in and why it is owed."""
    save_anchors(session, case_version_id, facts)
    rows = []
    for o in ev.obligations:
        row = ObligationRow(
            case_id=case_id, case_version_id=case_version_id, sponsor_id=sponsor_id,
            version=ev.version,
            destination=o.destination, regime=o.regime, rule_id=o.rule_id,
            report_type=o.report_type, grp=o.group, day0=o.day0, due=o.due, days=o.days,
            status=o.status, citation=o.citation, anchor=o.anchor.value,
            explanation=o.explanation, basis=list(o.basis), submitted_on=o.submitted_on,
            complete=o.complete,
        )
        session.add(row)
        rows.append(row)
    if rows:
        session.flush()  # the obligations' ids, which their audit events name
    for row in rows:
        record(session, actor=actor, action="obligation.computed", entity=row, case_id=case_id,
               changes=[{"field": "status", "from": None,
                         "to": ObligationStatus(row.status).value},
                        {"field": "due", "from": None, "to": row.due}],
               reason=f"{row.report_type} to {row.destination} ({row.rule_id}, version "
                      f"{row.version})")
    for r in ev.recommendations:
        session.add(RecommendationRow(
            case_id=case_id, case_version_id=case_version_id, sponsor_id=sponsor_id,
            kind=r.kind.value,
            destination=r.destination, regime=r.regime, rule_id=r.rule_id, reason=r.reason,
            citation=r.citation,
        ))
    return rows


def previous_obligations(session: Session, case_id: uuid.UUID) -> list[Obligation]:
    """Obligations of the latest evaluated version of the case, with their current status."""
    latest = session.scalar(select(ObligationRow.version).where(ObligationRow.case_id == case_id)
                            .order_by(ObligationRow.version.desc()).limit(1))
    if latest is None:
        return []
    rows = session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.version == latest))
    return [_to_domain(r) for r in rows]


def set_obligation_status(session: Session, row: ObligationRow, to: ObligationStatus, *,
                          actor: str, reason: str, on: date | None = None) -> None:
    """Move an obligation on (submitted ``on`` a date, owed again, not required), with its
    audit event; a move the obligation's machine does not allow is refused."""
    before = ObligationStatus(row.status)
    OBLIGATION_STATUS.check(before, to)
    row.status = to
    row.submitted_on = on if to is ObligationStatus.SUBMITTED else None
    changes: list[dict[str, Any]] = [{"field": "status", "from": before.value, "to": to.value}]
    if to not in OPEN_STATUSES and row.alert is not None:
        changes.append({"field": "alert", "from": ObligationAlert(row.alert).value, "to": None})
        row.alert = None
    record(session, actor=actor, action=f"obligation.{to.value}", entity=row,
           case_id=row.case_id, changes=changes, reason=reason)


def obligation_submitted(session: Session, obligation_id: uuid.UUID, on: date, *, actor: str,
                         reason: str, complete: bool | None = None) -> ObligationRow | None:
    """The message answering an obligation was sent: it is met (if it was still owed), with
    the filer's statement whether it was complete, and the open reports completing it now
    count from this actual filing (and are owed only if it was incomplete, Art. 42(2))."""
    row = session.get(ObligationRow, obligation_id)
    if row is not None and row.status in OPEN_STATUSES:
        row.complete = complete
        said = "" if complete is None else (" (filed complete)" if complete
                                            else " (filed incomplete)")
        set_obligation_status(session, row, ObligationStatus.SUBMITTED, actor=actor,
                              reason=reason + said, on=on)
        _redate_completions(session, row, actor)
    return row


def _redate_completions(session: Session, filed: ObligationRow, actor: str) -> None:
    """C.05.014(2) "within eight days after having informed the Minister": the open completion
    reports of ``filed`` (stored counted from its due date) move to its actual filing date."""
    sponsor = session.get(Sponsor, filed.sponsor_id)
    options = sponsor.profile().rules if sponsor is not None else RulesOptions()
    regimes = with_options(load_regimes(), options).regimes  # the sponsor's reading, as evaluated
    regime = next((r for r in regimes if r.id == filed.regime), None)
    if regime is None or filed.grp == "completion":
        return
    fresh = {o.rule_id: o for o in completions_after_filing(regime, _to_domain(filed))}
    if not fresh:
        return
    rows = list(session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == filed.case_id, ObligationRow.version == filed.version,
        ObligationRow.regime == filed.regime, ObligationRow.grp == "completion",
        ObligationRow.rule_id.in_(fresh))))
    for rule_id in sorted(set(fresh) - {r.rule_id for r in rows}):
        # Owed only once the report it completes is filed (EU CTR Art. 42(2)): created now.
        new = fresh[rule_id]
        row = ObligationRow(
            case_id=filed.case_id, case_version_id=filed.case_version_id,
            sponsor_id=filed.sponsor_id, version=filed.version, destination=new.destination,
            regime=new.regime, rule_id=new.rule_id, report_type=new.report_type,
            grp=new.group, day0=new.day0, due=new.due, days=new.days, status=new.status,
            citation=new.citation, anchor=new.anchor.value, explanation=new.explanation,
            basis=list(new.basis))
        session.add(row)
        session.flush()
        record(session, actor=actor, action="obligation.owed", entity=row, case_id=row.case_id,
               reason=f"{filed.rule_id} filed {filed.submitted_on}: {new.citation}")
    for row in rows:
        if row.status not in OPEN_STATUSES:
            continue
        new = fresh[row.rule_id]
        if (row.day0, row.due) == (new.day0, new.due):
            continue
        changes = [{"field": "due", "from": row.due.isoformat(), "to": new.due.isoformat()}]
        row.day0, row.due, row.anchor = new.day0, new.due, new.anchor.value
        row.explanation = (f"{new.explanation}\n(Re-dated when {filed.rule_id} was filed on "
                           f"{filed.submitted_on}.)")
        record(session, actor=actor, action="obligation.redated", entity=row,
               case_id=row.case_id, changes=changes,
               reason=f"{filed.rule_id} filed {filed.submitted_on}: {new.citation}")


def obligation_owed_again(session: Session, obligation_id: uuid.UUID, *, actor: str,
                          reason: str) -> ObligationRow | None:
    """The regulator rejected the message: the obligation is open again, its clock running."""
    row = session.get(ObligationRow, obligation_id)
    if row is not None and row.status == ObligationStatus.SUBMITTED:
        set_obligation_status(session, row, ObligationStatus.OPEN, actor=actor, reason=reason)
    return row


def refresh_alerts(session: Session, today: date, soon_days: int = 3) -> int:
    """Monitor job body: set ``alert`` to due_soon/overdue on open obligations, each change
    audited (the system's own); returns how many changed."""
    changed = 0
    for row in session.scalars(select(ObligationRow).where(
            ObligationRow.status.in_(OPEN_STATUSES))):
        state = monitor_status(_to_domain(row), today, soon_days)
        alert = ObligationAlert(state) if state in tuple(ObligationAlert) else None
        if row.alert != alert:
            before = None if row.alert is None else ObligationAlert(row.alert).value
            row.alert = alert
            record(session, actor="system:monitor", action="obligation.alert", entity=row,
                   case_id=row.case_id,
                   changes=[{"field": "alert", "from": before,
                             "to": None if alert is None else alert.value}],
                   reason=f"due {row.due}, as of {today}")
            changed += 1
    return changed


def close_for_nullified_case(session: Session, case_id: uuid.UUID, reason: str,
                             actor: str) -> list[ObligationRow]:
    """A nullified case owes no further reports: its open obligations become ``not_required``
    (the nullification messages to regulators that hold it are drafted by submissions), so the
    due-date monitor and the queue stop counting them. Submitted ones are history and stay."""
    return close_open_obligations(session, case_id, f"case nullified ({reason})", actor)


def close_open_obligations(session: Session, case_id: uuid.UUID, cause: str,
                           actor: str) -> list[ObligationRow]:
    """Open obligations of a case that will send nothing more become ``not_required``, with
    ``cause`` in their explanation and audit events."""
    rows = list(session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.status.in_(OPEN_STATUSES))))
    for row in rows:
        row.explanation = f"{row.explanation}\nNot required: {cause}."
        set_obligation_status(session, row, ObligationStatus.NOT_REQUIRED, actor=actor,
                              reason=cause)
    return rows


def obligation_due_dates(session: Session,
                         case_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    """Earliest due date of each case's open obligations (the queue's order)."""
    if not case_ids:
        return {}
    stmt = (select(ObligationRow.case_id, func.min(ObligationRow.due))
            .where(ObligationRow.status.in_(OPEN_STATUSES))
            .group_by(ObligationRow.case_id))
    if len(case_ids) <= 500:
        stmt = stmt.where(ObligationRow.case_id.in_(case_ids))
    # A whole queue's ids would exceed bound-parameter limits: read every open obligation
    # (they belong to open cases anyway) and keep the ones asked for.
    wanted = set(case_ids)
    return {case_id: due for case_id, due in session.execute(stmt)
            if due is not None and case_id in wanted}


# --- case history inputs ------------------------------------------------------------------


def record_receipts(session: Session, case_version_id: uuid.UUID, sponsor_id: int,
                    receipts: Sequence[Receipt], *, actor: str, case_id: uuid.UUID) -> None:
    """Store who received a version's information and when (audited); day 0 is the earliest
    of them from the next evaluation on."""
    for r in receipts:
        offset = r.instant.utcoffset() if r.instant is not None else None
        row = CaseReceiptRow(case_version_id=case_version_id, sponsor_id=sponsor_id,
                             party=r.party, role=r.role.value, instant=r.instant, day=r.day,
                             utc_offset=(int(offset.total_seconds() // 60)
                                         if offset is not None else None))
        session.add(row)
        session.flush()
        record(session, actor=actor, action="case.receipt_recorded", entity=row,
               case_id=case_id, changes=[{"field": "receipt", "from": None,
                                          "to": r.describe()}],
               reason=f"received by {r.who}")


def stored_receipts(session: Session, case_version_ids: Sequence[uuid.UUID],
                    zone: tzinfo = UTC) -> dict[uuid.UUID, tuple[Receipt, ...]]:
    """The receipts of each version, each instant back in its receiver's offset (``zone``,
    the sponsor's, for a row that has none)."""
    out: dict[uuid.UUID, list[Receipt]] = {}
    if all(none_yet(session, CaseReceiptRow, (VERSION, v), case_version_id=v)
           for v in case_version_ids):
        return {}
    for row in session.scalars(_RECEIPTS, {"ids": list(case_version_ids)}):
        instant = row.instant
        if instant is not None:
            instant = instant.astimezone(
                zone if row.utc_offset is None
                else timezone(timedelta(minutes=row.utc_offset)))
        out.setdefault(row.case_version_id, []).append(Receipt(
            row.party, ReceiverRole(row.role), instant=instant, day=row.day))
    return {k: tuple(v) for k, v in out.items()}


# The history's reads, built once: every job of a follow-up version runs them (issue 20).
_RECEIPTS = (select(CaseReceiptRow)
             .where(CaseReceiptRow.case_version_id.in_(bindparam("ids", expanding=True)))
             .order_by(CaseReceiptRow.id))


def record_assessment(session: Session, case_id: uuid.UUID, sponsor_id: int,
                      a: SponsorAssessment, *, actor: str) -> CaseAssessmentRow:
    """Store a dated assessment of one event x suspect drug (audited); the next evaluation of
    the case replays it at its date."""
    instant = a.on if isinstance(a.on, datetime) else None
    day = None if isinstance(a.on, datetime) else a.on
    row = CaseAssessmentRow(
        case_id=case_id, sponsor_id=sponsor_id, reaction_id=a.reaction_id, drug_id=a.drug_id,
        role=a.role, instant=instant, day=day,
        causality=a.causality.value if a.causality is not None else None, method=a.method,
        result=a.result, expected=a.expected, reference=a.reference,
        rsi_version=a.rsi_version, assessor=a.by)
    session.add(row)
    session.flush()
    what = [f"causality {a.causality.value}" if a.causality is not None else "",
            "" if a.expected is None else
            f"{'expected' if a.expected else 'unexpected'} vs {a.rsi_version or a.reference}"]
    record(session, actor=actor, action="case.assessment_recorded", entity=row,
           case_id=case_id, changes=[{"field": f"{a.reaction_id} x {a.drug_id}", "from": None,
                                      "to": "; ".join(w for w in what if w)}],
           reason=f"{a.role} assessment of {a.on.isoformat()}")
    return row


def stored_assessments(session: Session, case_id: uuid.UUID) -> list[SponsorAssessment]:
    """The case's dated assessments in the order they were recorded."""
    out: list[SponsorAssessment] = []
    if none_yet(session, CaseAssessmentRow, (CASE, case_id), case_id=case_id):
        return out
    for row in session.scalars(_ASSESSMENTS, {"case_id": case_id}):
        on: date | datetime = row.instant if row.instant is not None else row.day  # type: ignore[assignment]
        out.append(SponsorAssessment(
            row.reaction_id, row.drug_id, on,
            Relatedness(row.causality) if row.causality else None, row.method, row.result,
            row.expected, row.reference, row.rsi_version, row.role, row.assessor))
    return out


_ASSESSMENTS = (select(CaseAssessmentRow).where(CaseAssessmentRow.case_id == bindparam("case_id"))
                .order_by(CaseAssessmentRow.id))


def filings(session: Session, case_id: uuid.UUID) -> list[tuple[int, Filing]]:
    """Reports of the case actually filed, each once, with the version whose obligation it
    answered (the earliest version that records it submitted)."""
    seen: dict[tuple[str, str, str, date], tuple[int, Filing]] = {}
    if none_yet(session, ObligationRow, (CASE, case_id), case_id=case_id):
        return []
    for row in session.scalars(_FILED, {"case_id": case_id}):
        assert row.submitted_on is not None
        key = (row.regime, row.rule_id, row.grp, row.submitted_on)
        if key not in seen:
            seen[key] = (row.version, Filing(row.submitted_on, row.regime, row.rule_id,
                                             row.complete))
    return sorted(seen.values(), key=lambda x: (x[1].on, x[0]))


_FILED = (select(ObligationRow).where(ObligationRow.case_id == bindparam("case_id"),
                                      ObligationRow.status == ObligationStatus.SUBMITTED,
                                      ObligationRow.submitted_on.is_not(None))
          .order_by(ObligationRow.version))


def reconcile_obligations(session: Session, case_id: uuid.UUID, case_version_id: uuid.UUID,
                          sponsor_id: int, ev: Evaluation, *, actor: str,
                          reason: str) -> list[str]:
    """Bring the stored obligations of an already evaluated version in line with ``ev``, its
    evaluation again after a new input (a recorded assessment): an open report re-dated or
    newly open after unblinding, a new one created, one no longer owed closed as not required
    — each audited with ``reason``. Submitted reports are history and stay. Returns what
    changed, in words."""
    rows = list(session.scalars(select(ObligationRow).where(
        ObligationRow.case_version_id == case_version_id)))
    by_key = {(r.regime, r.rule_id, r.grp): r for r in rows}
    changed: list[str] = []
    wanted = set()
    for o in ev.obligations:
        key = (o.regime, o.rule_id, o.group)
        wanted.add(key)
        row = by_key.get(key)
        if row is None:
            if o.status not in OPEN_STATUSES:
                continue
            row = ObligationRow(
                case_id=case_id, case_version_id=case_version_id,
                sponsor_id=sponsor_id, version=ev.version,
                destination=o.destination, regime=o.regime, rule_id=o.rule_id,
                report_type=o.report_type, grp=o.group, day0=o.day0, due=o.due, days=o.days,
                status=o.status, citation=o.citation, anchor=o.anchor.value,
                explanation=o.explanation, basis=list(o.basis))
            session.add(row)
            session.flush()
            record(session, actor=actor, action="obligation.owed", entity=row,
                   case_id=row.case_id, changes=[{"field": "due", "from": None,
                                                  "to": row.due.isoformat()}], reason=reason)
            changed.append(f"{o.regime}/{o.rule_id} owed, due {o.due.isoformat()}")
            continue
        if row.status not in OPEN_STATUSES:
            continue
        if (row.day0, row.due) != (o.day0, o.due):
            record(session, actor=actor, action="obligation.redated", entity=row,
                   case_id=row.case_id, changes=[{"field": "due", "from": row.due.isoformat(),
                                                  "to": o.due.isoformat()}], reason=reason)
            row.day0, row.due, row.anchor = o.day0, o.due, o.anchor.value
            row.explanation, row.basis = o.explanation, list(o.basis)
            changed.append(f"{o.regime}/{o.rule_id} re-dated to {o.due.isoformat()}")
        if o.status in OPEN_STATUSES and row.status != o.status:
            set_obligation_status(session, row, o.status, actor=actor, reason=reason)
            changed.append(f"{o.regime}/{o.rule_id} {o.status.value}")
        elif o.status in (ObligationStatus.NOT_REQUIRED, ObligationStatus.SUPERSEDED):
            wanted.discard(key)  # owed no more: closed below
    for key, row in by_key.items():
        if key in wanted or row.status not in OPEN_STATUSES:
            continue
        row.explanation = f"{row.explanation}\nNot required: {reason}."
        set_obligation_status(session, row, ObligationStatus.NOT_REQUIRED, actor=actor,
                              reason=reason)
        changed.append(f"{row.regime}/{row.rule_id} not required")
    return changed
# After the blind is broken: placebo is not a SUSAR. EU CTR 536/2014 Annex III 2.5 (a SUSAR is
# reported unblinded; the blind is broken for the subject concerned); ICH E2A III.C.2
# (reactions to placebo will usually not meet the criteria for expedited reporting); FDA,
# Safety Reporting Requirements for INDs (2012) V.A.3 (unblind the subject; a placebo event is
# not an IND safety report).
PLACEBO_NOT_SUSAR = ("subject received placebo after unblinding: not a SUSAR, no expedited "
                     "report (EU CTR 536/2014 Annex III 2.5; ICH E2A III.C.2; FDA IND safety "
                     "reporting guidance 2012 V.A.3)")


def resolve_awaiting_unblinding(session: Session, case_id: uuid.UUID,
                                unblinded: Sequence[Obligation], result: str, *,
                                actor: str) -> list[ObligationRow]:
    """The latest version's ``awaiting_unblinding`` obligations once the blind is broken:
    owed (``open``) where the evaluation with the unblinding result still owes them, else not
    required (placebo, or an active product for which the event is no SUSAR)."""
    latest = session.scalar(select(ObligationRow.version).where(ObligationRow.case_id == case_id)
                            .order_by(ObligationRow.version.desc()).limit(1))
    rows = list(session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.version == latest,
        ObligationRow.status == ObligationStatus.AWAITING_UNBLINDING)))
    owed = {(o.regime, o.rule_id, o.destination) for o in unblinded
            if o.status is ObligationStatus.OPEN}
    for row in rows:
        if (row.regime, row.rule_id, row.destination) in owed:
            why = f"unblinded: subject received {result}; the SUSAR report is owed"
            row.explanation = f"{row.explanation}\n{why[0].upper()}{why[1:]}."
            set_obligation_status(session, row, ObligationStatus.OPEN, actor=actor, reason=why)
        else:
            why = (PLACEBO_NOT_SUSAR if result == "placebo" else
                   f"subject received {result}: the event is not a SUSAR for it")
            row.explanation = f"{row.explanation}\nNot required: {why}."
            set_obligation_status(session, row, ObligationStatus.NOT_REQUIRED, actor=actor,
                                  reason=why)
    return rows

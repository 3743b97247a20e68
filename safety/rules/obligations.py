"""The obligations engine: which reports a case version owes, to whom, by when, and why.

For each regime the engine finds the rules a case qualifies under (any event × suspect pair
meeting the rule's conditions), keeps the earliest clock (one ICSR per destination covers the
case), adds completion reports that follow it, and then reconciles with the obligations of the
previous version:

- significant follow-up information starts a new clock (follow-up report, or an initial report
  if the case only now qualifies);
- non-significant information starts none: open obligations are carried unchanged;
- an upgrade to a shorter clock (e.g. now fatal) yields the shorter report, superseding an open
  longer one;
- a downgrade, an invalid or a nullified case never silently drops anything: open obligations
  come back as ``not_required`` with the reason, submitted ones produce an amendment or
  nullification recommendation.

Every obligation carries a physician-readable explanation: rule, citation, anchor and
arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum

from safety.rules.causality import Policy
from safety.rules.day0 import ANCHOR_LABELS, Anchor, AnchorKind
from safety.rules.facts import CaseFacts, EventFacts, FollowUp, PairFacts, Source, SuspectFacts
from safety.rules.regime import Regime, Rule, load_regimes
from safety.statemachine import StateMachine


class ObligationStatus(StrEnum):
    OPEN = "open"
    AWAITING_UNBLINDING = "awaiting_unblinding"
    SUBMITTED = "submitted"
    SUPERSEDED = "superseded"
    NOT_REQUIRED = "not_required"


# Still owed: the due-date monitor, the queue and the close guard count these.
OPEN_STATUSES = frozenset({ObligationStatus.OPEN, ObligationStatus.AWAITING_UNBLINDING})

# An obligation is met when its message is sent, and owed again when the regulator rejects
# it (the clock keeps running); nothing more is owed once the case is nullified or closed as a
# duplicate. Superseded rows are written as such (a later version's evaluation replaced them).
OBLIGATION_STATUS: StateMachine[ObligationStatus] = StateMachine("obligation status", {
    ObligationStatus.OPEN: frozenset({ObligationStatus.SUBMITTED,
                                      ObligationStatus.NOT_REQUIRED,
                                      ObligationStatus.AWAITING_UNBLINDING}),
    ObligationStatus.AWAITING_UNBLINDING: frozenset({ObligationStatus.OPEN,
                                                     ObligationStatus.SUBMITTED,
                                                     ObligationStatus.NOT_REQUIRED}),
    ObligationStatus.SUBMITTED: frozenset({ObligationStatus.OPEN}),
})


class ObligationAlert(StrEnum):
    """What the due-date monitor says of an open obligation (``monitor_status``)."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Obligation:
    case_id: str
    version: int
    destination: str
    regime: str
    rule_id: str
    report_type: str
    day0: date
    due: date
    days: int
    status: ObligationStatus
    citation: str
    anchor: AnchorKind
    explanation: str
    basis: tuple[str, ...] = ()
    group: str = "initial"
    submitted_on: date | None = None
    # Of a submitted report: whether the filer sent it complete (None: not said). An
    # incomplete initial report is what owes the EU CTR completed report (Art. 42(2)).
    complete: bool | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "case_id": self.case_id, "version": self.version,
            "destination": self.destination, "regime": self.regime, "rule": self.rule_id,
            "report_type": self.report_type, "day0": self.day0.isoformat(),
            "due": self.due.isoformat(), "days": self.days, "status": self.status.value,
            "citation": self.citation, "anchor": self.anchor.value,
            "explanation": self.explanation, "basis": list(self.basis), "group": self.group,
        }
        if self.submitted_on is not None:
            out["submitted_on"] = self.submitted_on.isoformat()
        if self.complete is not None:
            out["complete"] = self.complete
        return out


class RecommendationKind(StrEnum):
    AMENDMENT = "amendment"
    NULLIFICATION = "nullification"


@dataclass(frozen=True, slots=True)
class Recommendation:
    kind: RecommendationKind
    destination: str
    regime: str
    rule_id: str
    reason: str
    citation: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "destination": self.destination,
                "regime": self.regime, "rule": self.rule_id, "reason": self.reason,
                "citation": self.citation}


@dataclass(slots=True)
class Evaluation:
    case_id: str
    version: int
    obligations: list[Obligation] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "case_id": self.case_id, "version": self.version,
            "obligations": [o.to_json() for o in self.obligations],
            "recommendations": [r.to_json() for r in self.recommendations],
            "notes": list(self.notes),
        }

    def active(self) -> list[Obligation]:
        return [o for o in self.obligations
                if o.status in (ObligationStatus.OPEN, ObligationStatus.AWAITING_UNBLINDING)]


# --- matching -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    basis: tuple[str, ...]
    blinded_only: bool


def _in_scope(regime: Regime, facts: CaseFacts, s: SuspectFacts) -> bool:
    if facts.source not in regime.sources:
        return False
    if regime.scope == "clinical_trial":
        if regime.jurisdiction not in s.investigational_in:
            return False
        if regime.require_study_in_jurisdiction:
            return facts.study is not None and regime.jurisdiction in facts.study.jurisdictions
        return True
    return facts.source is not Source.CLINICAL_TRIAL and regime.jurisdiction in s.authorised_in


def _policy(regime: Regime, facts: CaseFacts) -> Policy:
    if facts.source in (Source.SPONTANEOUS, Source.LITERATURE):
        return Policy.IMPLIED
    return regime.causality


def _pair_reason(
    rule: Rule, regime: Regime, facts: CaseFacts, e: EventFacts, s: SuspectFacts, p: PairFacts
) -> str | None:
    """Why the pair meets ``rule`` (``None`` when it does not)."""
    w = rule.when
    parts = []
    if w.serious is not None:
        if e.serious != w.serious:
            return None
        parts.append(f"serious ({', '.join(e.criteria)})" if e.serious else "non-serious")
    if w.fatal_or_lt is not None:
        if e.fatal_or_lt != w.fatal_or_lt:
            return None
        if e.fatal_or_lt:
            parts.append("fatal" if e.fatal else "life-threatening")
    if w.occurrence != "any":
        domestic = e.country is None or e.country in regime.region
        if domestic != (w.occurrence == "domestic"):
            return None
        where = e.country or "unknown country, treated as domestic"
        parts.append(f"occurred {'in' if domestic else 'outside'} {regime.jurisdiction} ({where})")
    if w.unexpected is not None:
        ref = regime.rsi_reference
        exp = p.expected.get(ref)
        expected = exp.expected if exp else False
        if expected == w.unexpected:
            return None
        rsi = exp.rsi if exp else f"no {ref} RSI recorded"
        parts.append(f"{'expected' if expected else 'unexpected'} vs {rsi}")
    if w.related is not None:
        related, why = p.causality.decide(_policy(regime, facts))
        if related != w.related:
            return None
        parts.append(why)
    pt = f" (PT {e.pt_code})" if e.pt_code else ""
    return f"event '{e.term}'{pt} × {s.name}: " + "; ".join(parts)


def matches(regime: Regime, facts: CaseFacts, notes: list[str] | None = None) -> list[Match]:
    """The initial rules of ``regime`` the case qualifies under, with their basis."""
    events = {e.id: e for e in facts.events}
    suspects = {s.drug_id: s for s in facts.suspects}
    in_scope = {d: _in_scope(regime, facts, s) for d, s in suspects.items()}
    out = []
    for rule in regime.rules:
        if rule.kind != "initial":
            continue
        basis: list[str] = []
        blinded_basis: list[str] = []
        placebo: list[PairFacts] = []
        for p in facts.pairs:
            s = suspects[p.drug_id]
            if s.placebo:
                placebo.append(p)
                continue
            if not in_scope[p.drug_id]:
                continue
            reason = _pair_reason(rule, regime, facts, events[p.event_id], s, p)
            if reason is None:
                continue
            (blinded_basis if s.blinded else basis).append(reason)
        if basis or blinded_basis:
            out.append(Match(rule, tuple(basis or blinded_basis), blinded_only=not basis))
        elif placebo and notes is not None and regime.scope == "clinical_trial":
            notes.append(f"{regime.id}/{rule.id}: subject received placebo after unblinding; "
                         "placebo is not a SUSAR (no report)")
    return out


# --- clocks and explanations --------------------------------------------------------------


def _anchor(facts: CaseFacts, wanted: Iterable[AnchorKind]) -> tuple[Anchor, list[str]]:
    """First available anchor of ``wanted``, falling back to first receipt (noted)."""
    notes: list[str] = []
    for kind in wanted:
        a = facts.anchors.get(kind)
        if a is not None:
            return a, notes
        if kind is AnchorKind.REPORTABLE_AWARENESS:
            notes.append("no later sponsor assessment recorded as making the case reportable: "
                         "reportable on the information first received")
            continue
        notes.append(f"{ANCHOR_LABELS[kind]}: not recorded")
    if any(k is not AnchorKind.REPORTABLE_AWARENESS for k in wanted):
        notes.append("clock started at first receipt (earliest possible day 0)")
    return facts.anchors.first_receipt, notes


def explain_clock(
    due: date, anchor: Anchor, days: int, citation: str, base: str | None = None
) -> str:
    zone = "date as reported" if anchor.instant is None else anchor.zone
    start = base or f"day 0 {anchor.day.isoformat()} ({ANCHOR_LABELS[anchor.kind]}, {zone})"
    return f"Due {due.isoformat()} = {start} + {days} calendar days, {citation}"


def _obligation(
    facts: CaseFacts, regime: Regime, rule: Rule, match: Match, anchor_kinds: Sequence[AnchorKind],
    report_type: str, citation: str, days: int, prefix: str = "",
) -> Obligation:
    anchor, anchor_notes = _anchor(facts, anchor_kinds)
    due = anchor.day + timedelta(days=days)
    lines = [explain_clock(due, anchor, days, citation)]
    if prefix:
        lines.append(prefix)
    lines.append(f"Rule {regime.id}/{rule.id}: {rule.summary}".rstrip(": "))
    lines.extend(f"Basis: {b}" for b in match.basis)
    lines.append(f"Day 0: {anchor.describe()}")
    lines.extend(f"Anchor: {n}" for n in anchor_notes)
    status = ObligationStatus.OPEN
    if match.blinded_only:
        status = ObligationStatus.AWAITING_UNBLINDING
        lines.append("Blinded: break the blind for this subject before reporting; if the "
                     "subject received placebo the case is not a SUSAR. The clock is running.")
    return Obligation(
        case_id=facts.case_id, version=facts.version, destination=regime.destination,
        regime=regime.id, rule_id=rule.id, report_type=report_type, day0=anchor.day, due=due,
        days=days, status=status, citation=citation, anchor=anchor.kind,
        explanation="\n".join(lines), basis=match.basis,
    )


def _filed(prev: Sequence[Obligation], ob: Obligation) -> Obligation | None:
    """The submitted report answering ``ob`` (same regime, rule and group) among ``prev``."""
    return next((p for p in prev if p.regime == ob.regime and p.rule_id == ob.rule_id
                 and p.group == ob.group and p.status is ObligationStatus.SUBMITTED
                 and p.submitted_on is not None), None)


def _as_filed(ob: Obligation, prev: Sequence[Obligation]) -> Obligation:
    """``ob`` with the filing recorded in ``prev`` (date, completeness), if it was filed."""
    filed = _filed(prev, ob)
    if filed is None:
        return ob
    return replace(ob, status=ObligationStatus.SUBMITTED, submitted_on=filed.submitted_on,
                   complete=filed.complete,
                   explanation=f"{ob.explanation}\nSubmitted {filed.submitted_on}.")


def _completions(
    regime: Regime, first: Obligation, prev: Sequence[Obligation] = (),
    notes: list[str] | None = None,
) -> list[Obligation]:
    """Completion reports of ``first``, each counted from its own start: the ACTUAL filing of
    ``first`` (C.05.014(2) "within eight days after having informed the Minister"), or, while
    it is not filed, the latest it may be filed (its due date), said so in the explanation.
    A rule ``only_if = "initial_incomplete"`` (EU CTR Art. 42(2)) is owed only once ``first``
    was filed incomplete."""
    out = []
    filed = first if first.submitted_on is not None else _filed(prev, first)
    for rule in regime.rules:
        if rule.kind != "completion" or first.rule_id not in rule.follows:
            continue
        conditional = rule.only_if == "initial_incomplete"
        if conditional and (filed is None or filed.complete is True):
            if notes is not None:
                state = "not yet filed" if filed is None else f"filed {filed.submitted_on} complete"
                notes.append(f"{regime.id}/{rule.id}: owed only if the {first.rule_id} report is "
                             f"filed incomplete ({rule.citation}): initial report {state}; if "
                             f"incomplete, the completed report is due {rule.days} days after "
                             "its filing")
            continue
        done = next((p for p in prev if p.regime == regime.id and p.rule_id == rule.id
                     and p.status is ObligationStatus.SUBMITTED), None)
        if done is not None:
            continue
        if filed is not None and filed.submitted_on is not None:
            start, what = filed.submitted_on, "initial report filed"
        else:
            start, what = first.due, "initial report due"
        due = start + timedelta(days=rule.days)
        anchor = Anchor(AnchorKind.INITIAL_REPORT, start)
        text = explain_clock(due, anchor, rule.days, rule.citation,
                             base=f"day 0 {start.isoformat()} ({what}: {first.rule_id}, its own "
                                  f"day 0 {first.day0.isoformat()} + {first.days})")
        if filed is None:
            text += (f"\nIf the initial report is submitted earlier, the completed report is "
                     f"due {rule.days} days after that submission.")
        if conditional and filed is not None and filed.complete is None:
            # Not said whether the filed report was complete: owed (a missed report is the worse
            # error) until someone confirms it was complete and closes this as not required.
            text += (f"\nOwed because the {first.rule_id} report filed {filed.submitted_on} is "
                     "not recorded as complete; if it was complete, close this as not required "
                     "with that reason.")
        text += f"\nRule {regime.id}/{rule.id}: {rule.summary}".rstrip(": ")
        out.append(replace(
            first, rule_id=rule.id, report_type=rule.report_type, day0=start, due=due,
            days=rule.days, citation=rule.citation, anchor=AnchorKind.INITIAL_REPORT,
            explanation=text, group="completion", submitted_on=None, complete=None,
            status=(ObligationStatus.OPEN if first.status is ObligationStatus.SUBMITTED
                    else first.status),
        ))
    return out


def completions_after_filing(regime: Regime, filed: Obligation) -> list[Obligation]:
    """The completion reports owed once ``filed`` (submitted, with ``submitted_on``) is filed,
    counted from that filing: what the store re-dates its open completions to."""
    return _completions(regime, filed)


# --- the engine ---------------------------------------------------------------------------


def _initial_anchors(rule: Rule, facts: CaseFacts, newly: bool) -> list[AnchorKind]:
    """The anchor of an initial report. A case that only now qualifies, through significant
    follow-up, counts from that information, or from a sponsor assessment made later still
    (the day the sponsor held what made it reportable: CTR Art. 42(2), C.05.014(1))."""
    if rule.anchor is AnchorKind.SPONSOR_DETERMINATION:
        # 21 CFR 312.32(c)(1): 15 days "after the sponsor determines that the information
        # qualifies". Not recorded: the day a later assessment made the case reportable (the
        # earliest the sponsor can have determined it), else the initial receipt, or the
        # significant follow-up that made a case newly qualify (docs/decisions.md, "FDA
        # 15-day fallback").
        if newly and facts.followup is not FollowUp.REASSESSMENT:
            aware, fu = facts.anchors.reportable_awareness, facts.anchors.significant_followup
            if aware is None or (fu is not None and fu.day >= aware.day):
                return [AnchorKind.SPONSOR_DETERMINATION, AnchorKind.SIGNIFICANT_FOLLOWUP]
        return [AnchorKind.SPONSOR_DETERMINATION, AnchorKind.REPORTABLE_AWARENESS]
    if newly and facts.followup is FollowUp.REASSESSMENT:
        # Nothing new was received: each rule counts from its own start (the sponsor's
        # determination or awareness when recorded, else the initial receipt).
        return [rule.anchor]
    if newly and rule.anchor is AnchorKind.FIRST_RECEIPT:
        return [AnchorKind.SIGNIFICANT_FOLLOWUP]
    if newly and rule.anchor is AnchorKind.REPORTABLE_AWARENESS:
        later, fu = facts.anchors.reportable_awareness, facts.anchors.significant_followup
        if later is not None and (fu is None or later.day > fu.day):
            return [AnchorKind.REPORTABLE_AWARENESS]
        return [AnchorKind.SIGNIFICANT_FOLLOWUP]
    return [rule.anchor]


def _best(
    facts: CaseFacts, regime: Regime, found: list[Match], newly: bool
) -> tuple[list[Obligation], list[str]]:
    """The initial obligations: every ``in_addition`` rule met (e.g. the 7-day notification
    of 21 CFR 312.32(c)(2), owed *also*), and of the other rules met the earliest-due one, the
    rest noted as covered by it (one ICSR per destination covers the case)."""
    candidates = [
        _obligation(facts, regime, m.rule, m, _initial_anchors(m.rule, facts, newly),
                    m.rule.report_type, m.rule.citation, m.rule.days,
                    ("Case became reportable with the sponsor's later assessment."
                     if facts.followup is FollowUp.REASSESSMENT
                     else "Case became reportable with significant follow-up information.")
                    if newly else "")
        for m in found
    ]
    extra = [o for o, m in zip(candidates, found, strict=True) if m.rule.in_addition]
    rest = [o for o, m in zip(candidates, found, strict=True) if not m.rule.in_addition]
    rest.sort(key=lambda o: (o.due, o.days))
    if not rest:
        return extra, []
    best = rest[0]
    covered = [f"{regime.id}/{o.rule_id} (due {o.due.isoformat()}) also met; covered by the "
               f"earlier {best.rule_id} report" for o in rest[1:]]
    return [*extra, best], covered


def _withdrawn(prev: Obligation, facts: CaseFacts, reason: str) -> Obligation:
    return replace(
        prev, version=facts.version, status=ObligationStatus.NOT_REQUIRED,
        explanation=f"{prev.explanation}\nVersion {facts.version}: no longer required — {reason}."
                    " Confirm before closing; nothing was submitted.",
    )


def _downgrade_reason(facts: CaseFacts) -> tuple[RecommendationKind, str]:
    if facts.nullified:
        return RecommendationKind.NULLIFICATION, "case nullified (C.1.11.1 = 1)"
    if not facts.valid:
        return (RecommendationKind.NULLIFICATION,
                "case no longer valid: missing " + ", ".join(facts.invalid_reasons))
    return (RecommendationKind.AMENDMENT,
            "case no longer meets the reporting criteria (downgraded seriousness, "
            "expectedness or causality); submit an amendment with the reason")


def evaluate_regime(
    facts: CaseFacts, regime: Regime, previous: Sequence[Obligation], ev: Evaluation
) -> None:
    prev = [p for p in previous if p.regime == regime.id]
    prev_initial = [p for p in prev if p.group == "initial"
                    and p.status not in (ObligationStatus.NOT_REQUIRED,
                                         ObligationStatus.SUPERSEDED)]
    if not facts.valid or facts.nullified:
        kind, reason = _downgrade_reason(facts)
        _retire(facts, regime, prev, kind, reason, ev)
        return
    found = matches(regime, facts, ev.notes)
    followup = facts.followup

    if followup is FollowUp.NON_SIGNIFICANT and prev:
        ev.notes.append(f"{regime.id}: non-significant follow-up — no new clock; "
                        "open obligations unchanged")
        ev.obligations.extend(p for p in prev if p.status is not ObligationStatus.SUBMITTED)
        return

    newly = followup in (FollowUp.SIGNIFICANT, FollowUp.REASSESSMENT) and not prev_initial
    if followup is FollowUp.INITIAL or not prev_initial:
        picked, covered = _best(facts, regime, found, newly)
        for ob in picked:
            ob = _as_filed(ob, prev)
            ev.obligations.append(ob)
            ev.obligations.extend(_completions(regime, ob, prev, ev.notes))
        ev.notes.extend(covered)
        return

    # Significant follow-up of a case that already owed this destination a report.
    if not found:
        kind, reason = _downgrade_reason(facts)
        filed = [p for p in prev_initial if p.status is ObligationStatus.SUBMITTED]
        if regime.followup.on_downgrade and filed:
            ev.obligations.append(_downgrade_followup(facts, regime, filed[-1]))
            _retire(facts, regime, [p for p in prev if p not in filed], kind, reason, ev)
            return
        _retire(facts, regime, prev, kind, reason, ev)
        return
    submitted = [p for p in prev_initial if p.status is ObligationStatus.SUBMITTED]
    open_prev = [p for p in prev_initial if p.status is not ObligationStatus.SUBMITTED]
    prev_days = min(p.days for p in prev_initial)
    shorter = [m for m in found if m.rule.days < prev_days]
    if shorter:
        m = min(shorter, key=lambda x: x.rule.days)
        rule = m.rule
        anchors = [a for a in (rule.upgrade_anchor, AnchorKind.FATAL_LT_AWARENESS,
                               AnchorKind.SIGNIFICANT_FOLLOWUP) if a is not None]
        citation = rule.upgrade_citation or rule.citation
        if submitted:
            # Already reported to this destination: the upgrade is a follow-up of that report
            # on the shorter clock (GVP VI.B.7.1; Art. 42(2)(c)), not a fresh initial report.
            fu = regime.followup
            ob = _obligation(facts, regime, rule, m, anchors, fu.report_type,
                             f"{fu.citation}; {citation}", rule.days,
                             f"Upgrade: follow-up of the submitted {submitted[0].rule_id} "
                             f"report ({submitted[0].report_type}) on the shorter clock.")
        else:
            ob = _obligation(facts, regime, rule, m, anchors, f"{rule.report_type} (upgrade)",
                             citation, rule.days,
                             "Upgrade: follow-up made the case qualify for a shorter clock.")
        ev.obligations.append(ob)
        ev.obligations.extend(_completions(regime, ob, prev, ev.notes))
        for p in open_prev:
            if p.due > ob.due and not rule.in_addition:
                ev.obligations.append(replace(
                    p, version=facts.version, status=ObligationStatus.SUPERSEDED,
                    explanation=f"{p.explanation}\nSuperseded in version {facts.version} by "
                                f"{ob.rule_id} due {ob.due.isoformat()} (shorter clock).",
                ))
            else:
                ev.obligations.append(p)
        return
    still_blinded = all(m.blinded_only for m in found)
    for p in prev:
        if p.status in (ObligationStatus.NOT_REQUIRED, ObligationStatus.SUBMITTED):
            continue
        if p.group != "completion":
            if p.status is ObligationStatus.AWAITING_UNBLINDING and not still_blinded:
                p = replace(p, version=facts.version, status=ObligationStatus.OPEN,
                            explanation=f"{p.explanation}\nVersion {facts.version}: unblinded "
                                        "to the investigational product; the report is owed "
                                        "(clock unchanged).")
            ev.obligations.append(p)
    for p in prev_initial:  # completions recounted from the actual filing, when there is one
        ev.obligations.extend(_completions(regime, p, prev))
    if submitted:
        best = min(found, key=lambda x: x.rule.days)
        fu = regime.followup
        days = fu.days if fu.days is not None else best.rule.days
        ev.obligations.append(_obligation(
            facts, regime, best.rule, best, [fu.anchor], fu.report_type, fu.citation, days,
            f"Follow-up of the submitted {submitted[0].rule_id} report "
            f"({submitted[0].report_type}).",
        ))
    else:
        ev.notes.append(f"{regime.id}: initial report not yet submitted; include the new "
                        "information in it (clock unchanged)")


def _downgrade_followup(facts: CaseFacts, regime: Regime, filed: Obligation) -> Obligation:
    """The follow-up report a filed report is owed when the case stops qualifying
    (``followup.on_downgrade``, 21 CFR 312.32(d)(2))."""
    fu = regime.followup
    anchor, anchor_notes = _anchor(facts, [fu.anchor])
    days = fu.days if fu.days is not None else filed.days
    due = anchor.day + timedelta(days=days)
    reason = ("the case no longer meets the reporting criteria (seriousness, expectedness or "
              "causality changed): the follow-up report says so")
    lines = [explain_clock(due, anchor, days, fu.citation),
             f"Follow-up of the submitted {filed.rule_id} report ({filed.report_type}, "
             f"submitted {filed.submitted_on}): {reason}.",
             f"Day 0: {anchor.describe()}", *(f"Anchor: {n}" for n in anchor_notes)]
    return Obligation(
        case_id=facts.case_id, version=facts.version, destination=regime.destination,
        regime=regime.id, rule_id=filed.rule_id, report_type=fu.report_type, day0=anchor.day,
        due=due, days=days, status=ObligationStatus.OPEN, citation=fu.citation,
        anchor=anchor.kind, explanation="\n".join(lines), basis=(reason,),
    )


def _retire(
    facts: CaseFacts, regime: Regime, prev: Sequence[Obligation], kind: RecommendationKind,
    reason: str, ev: Evaluation,
) -> None:
    for p in prev:
        if p.status is ObligationStatus.SUBMITTED:
            ev.recommendations.append(Recommendation(
                kind, p.destination, p.regime, p.rule_id,
                f"{p.report_type} submitted {p.submitted_on or ''}: {reason}".replace(" :", ":"),
                p.citation,
            ))
        elif p.status in (ObligationStatus.OPEN, ObligationStatus.AWAITING_UNBLINDING):
            ev.obligations.append(_withdrawn(p, facts, reason))


def evaluate(
    facts: CaseFacts,
    regimes: Sequence[Regime] | None = None,
    previous: Sequence[Obligation] = (),
) -> Evaluation:
    """Obligations of one case version across ``regimes`` (default: all shipped regimes).

    ``previous`` are the obligations of the preceding version with their current status
    (``submitted`` with ``submitted_on`` when sent).
    """
    ev = Evaluation(facts.case_id, facts.version)
    receipt_note = facts.anchors.receipt_note()
    if receipt_note:
        ev.notes.append(receipt_note)
    if not facts.valid:
        ev.notes.append("case not valid: missing " + ", ".join(facts.invalid_reasons))
    for e in facts.events:
        lists = [n for n, on in (("IME", e.ime), ("DME", e.dme)) if on]
        if lists and "other_medically_important" not in e.criteria:
            ev.notes.append(f"event '{e.term}' (PT {e.pt_code}) is on the {'/'.join(lists)} "
                            "list: physician to consider 'other medically important'")
    for regime in regimes if regimes is not None else load_regimes():
        evaluate_regime(facts, regime, previous, ev)
    ev.obligations.sort(key=lambda o: (o.due, o.destination, o.rule_id))
    return ev


def monitor_status(ob: Obligation, today: date, soon_days: int = 3) -> str:
    """``overdue`` / ``due_soon`` / ``open`` for the due-date monitor (others pass through)."""
    if ob.status not in (ObligationStatus.OPEN, ObligationStatus.AWAITING_UNBLINDING):
        return ob.status.value
    if today > ob.due:
        return "overdue"
    if (ob.due - today).days <= soon_days:
        return "due_soon"
    return ob.status.value


def _complete(value: object, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"{where}.complete: expected true, false or null")


def obligation_from_json(data: dict[str, object], where: str = "obligation") -> Obligation:
    """Inverse of :meth:`Obligation.to_json` (``submitted_on`` optional), for ``previous``."""
    def s(key: str) -> str:
        v = data.get(key)
        if not isinstance(v, str):
            raise ValueError(f"{where}.{key}: expected a string")
        return v

    def strings(key: str) -> tuple[str, ...]:
        v = data.get(key) or ()
        if not isinstance(v, list | tuple):
            raise ValueError(f"{where}.{key}: expected a list")
        return tuple(str(b) for b in v)

    try:
        sub = data.get("submitted_on")
        days = data.get("days")
        return Obligation(
            case_id=str(data.get("case_id", "")), version=int(str(data.get("version", 0))),
            destination=s("destination"), regime=s("regime"), rule_id=s("rule"),
            report_type=s("report_type"), day0=date.fromisoformat(s("day0")),
            due=date.fromisoformat(s("due")),
            days=days if isinstance(days, int) else 0,
            status=ObligationStatus(s("status")), citation=s("citation"),
            anchor=AnchorKind(str(data.get("anchor", "first_receipt"))),
            explanation=str(data.get("explanation", "")),
            basis=strings("basis"),
            group=str(data.get("group", "initial")),
            submitted_on=date.fromisoformat(sub) if isinstance(sub, str) else None,
            complete=_complete(data.get("complete"), where),
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc

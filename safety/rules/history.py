"""The case history: the unit the rules evaluate, the same from the CLI, the API and the pipeline.

A reporting clock depends on what happened to a case and when, not on one snapshot: who in the
company (or its partners) received each version first, the sponsor's later assessments, the
unblinding result, the reports actually filed and on which day. A :class:`CaseHistory` is that
ordered list of dated entries; :func:`evaluate_history` replays it, step by step, through the
obligations engine and returns every obligation in force (submitted or open) with its day 0,
due date, citation and explanation.

Entries (plain data; JSON shapes in :func:`history_from_json`):

- :class:`Received` — a version of the case (its content) and its receipts by party. The first
  is the initial report; each later one is follow-up information, classified significant or not
  (GVP Module VI.B.7.1) unless the physician's classification is given.
- :class:`SponsorAssessment` — a dated determination for one event x suspect drug: causality
  (sponsor's or investigator's) and/or expectedness against a named RSI version. When it is what
  makes the case reportable, its day starts the FDA clock that counts from the sponsor's
  determination (21 CFR 312.32(c)(1)), and, when it was its causality opinion that did it,
  the clocks that count from awareness of the reaction (Reg. 536/2014 Art. 42(2); SI 2004/1031
  regs 33-34; C.05.014(1); ``safety.rules.day0.later_awareness``: an expectedness check
  against the sponsor's own RSI moves none); clocks from "initial receipt" stay (312.32(c)(2)).
- :class:`Unblinding` — what the subject received: ``"placebo"`` or a registry product id
  (ICH E2A III.C). The only source of "placebo" besides a registry product recorded as such.
- :class:`Filing` — a report actually filed: its regime and rule, the filing day, and whether
  it was complete (Reg. 536/2014 Art. 42(2) second subparagraph; C.05.014(2)).
- :class:`Nullification` — the case was nullified.

The pipeline builds the same history from the stored case (``safety.rules.evaluation``), so the
product and a what-if can never disagree (``tests/rules/test_history_parity.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from safety.cases.codec import case_from_json, case_to_json
from safety.cases.model import CaseVersionData
from safety.products.registry import Registry
from safety.products.rsi import RsiLibrary
from safety.rules.causality import Opinion, PairCausality, Relatedness
from safety.rules.day0 import (
    Anchor,
    AnchorKind,
    Anchors,
    AssessedAs,
    Day0Error,
    Receipt,
    first_of,
    later_awareness,
    local_date,
    org_zone,
    receipt_from_json,
)
from safety.rules.expectedness import Expectedness
from safety.rules.facts import CaseFacts, FollowUp, build_facts
from safety.rules.followup import classify_followup, significance_changes
from safety.rules.obligations import (
    OPEN_STATUSES,
    Evaluation,
    Obligation,
    ObligationStatus,
    completions_after_filing,
    evaluate,
)
from safety.rules.regime import Regime
from safety.rules.seriousness import MedicallyImportantLists

# Closed by an evaluation without a report: kept on the version that closed them.
_CLOSED = frozenset({ObligationStatus.NOT_REQUIRED, ObligationStatus.SUPERSEDED})


class HistoryError(ValueError):
    """A history that cannot be evaluated; the message names the entry and field."""


# --- the entries ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """One version of the case and who received it (at least one receipt). ``significant``
    is the physician's classification of follow-up information (``None``: classified by what
    changed, GVP VI.B.7.1)."""

    version: int
    case: CaseVersionData
    receipts: tuple[Receipt, ...]
    significant: bool | None = None


class AssessorRole:
    SPONSOR = "sponsor"
    INVESTIGATOR = "investigator"


@dataclass(frozen=True, slots=True)
class SponsorAssessment:
    """A dated assessment of one event (``reaction_id``, E.i) x suspect drug (``drug_id``,
    G.k) — the input the engine takes for sponsor determinations.

    ``causality``: ``"related"``, ``"not related"`` or ``"unknown"`` (``None``: not assessed
    here), with the ``method`` and ``result`` as written (e.g. WHO-UMC, "Possible").
    ``expected``: the sponsor's expectedness (``None``: not assessed here) against the RSI
    ``reference`` (``"IB"`` or ``"label:<jurisdiction>"``) in its version ``rsi_version``.
    ``role``: ``"sponsor"`` (default) or ``"investigator"`` (a causality the investigator
    gave later: new information from the primary source). ``on``: the day the assessor held
    the determination (an aware instant is turned into the organisation's calendar day).
    A later assessment of the same pair by the same role replaces the earlier one.
    """

    reaction_id: str
    drug_id: str
    on: date | datetime
    causality: Relatedness | None = None
    method: str = ""
    result: str = ""
    expected: bool | None = None
    reference: str = "IB"
    rsi_version: str = ""
    role: str = AssessorRole.SPONSOR
    by: str = ""


@dataclass(frozen=True, slots=True)
class Unblinding:
    """The blind was broken for the subject: ``arm`` is ``"placebo"`` or a product id."""

    on: date | datetime
    arm: str


@dataclass(frozen=True, slots=True)
class Filing:
    """A report filed ``on`` a day, answering the open obligation ``regime``/``rule``;
    ``complete`` as the filer stated it (``None``: not said)."""

    on: date
    regime: str
    rule: str
    complete: bool | None = None


@dataclass(frozen=True, slots=True)
class Nullification:
    on: date | datetime
    reason: str = ""


Entry = Received | SponsorAssessment | Unblinding | Filing | Nullification


@dataclass(frozen=True, slots=True)
class CaseHistory:
    """The ordered entries of one case; ``zone`` is the organisation's time zone, in which
    every instant becomes a calendar day."""

    case_id: str
    entries: tuple[Entry, ...]
    zone: str = "UTC"


@dataclass(frozen=True, slots=True)
class RulesContext:
    """What the history is judged against: registry, RSI, medically important lists and the
    regimes the sponsor is held to (already read as the sponsor's settings say)."""

    registry: Registry
    rsi: RsiLibrary
    regimes: tuple[Regime, ...]
    lists: MedicallyImportantLists | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One evaluation of the replay: after entry ``entry`` (its index)."""

    entry: int
    facts: CaseFacts
    evaluation: Evaluation


@dataclass(slots=True)
class HistoryResult:
    steps: list[Step] = field(default_factory=list)
    evaluation: Evaluation = field(default_factory=lambda: Evaluation("", 0))

    @property
    def facts(self) -> CaseFacts:
        return self.steps[-1].facts


# --- replay --------------------------------------------------------------------------------


def _day(when: date | datetime, zone: str) -> date:
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise Day0Error("naive datetime in the history; give its time zone")
        return local_date(when, org_zone(zone))
    return when


def _anchor(kind: AnchorKind, when: date | datetime, zone: str) -> Anchor:
    if isinstance(when, datetime):
        return Anchor.at(kind, when, zone)
    return Anchor(kind, when, None, org_zone(zone).key)


def _apply_assessments(facts: CaseFacts, done: dict[tuple[str, str, str], SponsorAssessment]
                       ) -> CaseFacts:
    """``facts`` with the latest dated assessments in place of the case's own (a later
    determination replaces an earlier one; the RSI computation is replaced by the sponsor's
    expectedness against the version it names)."""
    if not done:
        return facts
    pairs = []
    for p in facts.pairs:
        causality, expected = p.causality, dict(p.expected)
        for role in (AssessorRole.INVESTIGATOR, AssessorRole.SPONSOR):
            a = done.get((p.event_id, p.drug_id, role))
            if a is None:
                continue
            if a.causality is not None:
                op = Opinion(a.causality, a.method, a.result or a.causality.value)
                causality = (PairCausality(op, causality.sponsor) if role == "investigator"
                             else PairCausality(causality.investigator, op))
            if a.expected is not None:
                when = a.on.isoformat() if isinstance(a.on, date) else str(a.on)
                label = (f"{a.rsi_version or a.reference} (sponsor assessment "
                         f"{when}{', ' + a.by if a.by else ''})")
                expected[a.reference] = Expectedness(a.reference, a.expected, label)
        pairs.append(replace(p, causality=causality, expected=expected))
    return replace(facts, pairs=tuple(pairs))


def _qualifying(facts: CaseFacts) -> set[tuple[str, str]]:
    """Pairs that are related and unexpected (against any reference) and serious: the case's
    SUSAR candidates, to tell whether an assessment made the case reportable."""
    events = {e.id: e for e in facts.events}
    out = set()
    for p in facts.pairs:
        e = events.get(p.event_id)
        if e is None or not e.serious:
            continue
        unexpected = any(not x.expected for x in p.expected.values()) or not p.expected
        inv = p.causality.investigator
        spo = p.causality.sponsor
        related = any(o is not None and o.relatedness is not Relatedness.NOT_RELATED
                      for o in (inv, spo)) or (inv is None and spo is None)
        if unexpected and related:
            out.add((p.event_id, p.drug_id))
    return out


def file_report(obligations: Sequence[Obligation], filing: Filing, regimes: Sequence[Regime],
                where: str = "filing") -> list[Obligation]:
    """``obligations`` with ``filing`` recorded: the open obligation it answers is submitted
    on the filing day with its completeness, and the reports completing it are counted from
    that actual filing (C.05.014(2); Art. 42(2) second subparagraph) — what the stored
    pipeline does when a message is sent (``safety.rules.store.obligation_submitted``)."""
    out = list(obligations)
    idx = [i for i, o in enumerate(out) if o.regime == filing.regime and o.rule_id == filing.rule
           and o.status in OPEN_STATUSES]
    if not idx:
        raise HistoryError(f"{where}: no open {filing.regime}/{filing.rule} obligation to file "
                           f"on {filing.on.isoformat()}")
    i = idx[-1]
    filed = replace(out[i], status=ObligationStatus.SUBMITTED, submitted_on=filing.on,
                    complete=filing.complete,
                    explanation=f"{out[i].explanation}\nSubmitted {filing.on.isoformat()}"
                                + ("" if filing.complete is None
                                   else f" ({'complete' if filing.complete else 'incomplete'})")
                                + ".")
    out[i] = filed
    regime = next((r for r in regimes if r.id == filing.regime), None)
    if regime is None or filed.group == "completion":
        return out
    fresh = completions_after_filing(regime, filed)
    names = {o.rule_id for o in fresh}
    out = [o for o in out if not (o.regime == filed.regime and o.group == "completion"
                                  and o.rule_id in names and o.status in OPEN_STATUSES)]
    return out + fresh


@dataclass(slots=True)
class _State:
    case: CaseVersionData | None = None
    version: int = 0
    first: Anchor | None = None
    receipts: tuple[Receipt, ...] = ()
    significant_followup: Anchor | None = None
    sponsor_determination: Anchor | None = None
    fatal_lt_awareness: Anchor | None = None
    reportable_awareness: Anchor | None = None
    arm: str | None = None
    nullified: bool = False
    assessments: dict[tuple[str, str, str], SponsorAssessment] = field(default_factory=dict)

    def anchors(self) -> Anchors:
        assert self.first is not None
        later = self.reportable_awareness
        if later is not None and later.day < self.first.day:
            later = None  # an assessment before the receipt it assesses: the receipt counts
        return Anchors(self.first, significant_followup=self.significant_followup,
                       sponsor_determination=self.sponsor_determination,
                       fatal_lt_awareness=self.fatal_lt_awareness,
                       reportable_awareness=later, receipts=self.receipts)


def evaluate_history(history: CaseHistory, ctx: RulesContext, *, strict: bool = True
                     ) -> HistoryResult:
    """Replay ``history``: every case-changing entry is a step evaluated with the previous
    step's obligations; filings mark them as filed. The result's evaluation is the state after
    the last entry: every obligation in force, submitted or open.

    ``strict``: a filing that answers no open obligation is an error (a what-if names the
    entry); the stored pipeline (``strict=False``) notes it instead, since a report already
    sent is a fact whatever the rules now say."""
    zone = history.zone
    st = _State()
    result = HistoryResult()
    current: list[Obligation] = []
    notes: list[str] = []
    last: Evaluation | None = None

    def build(followup: FollowUp, case: CaseVersionData | None = None,
              anchors: Anchors | None = None) -> CaseFacts:
        f = build_facts(case or st.case, case_id=history.case_id,  # type: ignore[arg-type]
                        version=st.version, anchors=anchors or st.anchors(),
                        registry=ctx.registry, rsi=ctx.rsi, lists=ctx.lists,
                        followup=followup, unblinded_arm=st.arm)
        f = _apply_assessments(f, st.assessments)
        return replace(f, nullified=f.nullified or st.nullified)

    def run(i: int, facts: CaseFacts, lead: list[str]) -> None:
        nonlocal current, last
        ev = evaluate(facts, ctx.regimes, current)
        # An obligation closed (not required, superseded) by an earlier step of this same
        # version stays on it: a later entry of the version (the sponsor's determination it
        # carries) re-evaluates the case, which no longer owes that report, but the version's
        # record must still say it was closed and why, not lose it.
        kept = {(o.regime, o.rule_id, o.group) for o in ev.obligations}
        ev.obligations.extend(
            o for o in current
            if o.version == facts.version and o.status in _CLOSED
            and (o.regime, o.rule_id, o.group) not in kept)
        ev.notes[:0] = lead
        result.steps.append(Step(i, facts, ev))
        current, last = list(ev.obligations), ev
        notes.clear()

    for i, entry in enumerate(history.entries):
        where = f"history[{i}]"
        if isinstance(entry, Received):
            if not entry.receipts:
                raise HistoryError(f"{where}.receipts: at least one receipt is needed")
            try:
                received = first_of(entry.receipts, zone)
            except Day0Error as exc:
                raise HistoryError(f"{where}.receipts: {exc}") from exc
            if st.case is None:
                st.case, st.version = entry.case, entry.version
                st.first, st.receipts = received, entry.receipts
                run(i, build(FollowUp.INITIAL), [])
                continue
            old = build(FollowUp.INITIAL)
            st.version = entry.version
            probe = build(FollowUp.INITIAL, entry.case)
            reasons = significance_changes(old, probe)
            if entry.significant is None:
                kind = classify_followup(old, probe)
            else:
                kind = FollowUp.SIGNIFICANT if entry.significant else FollowUp.NON_SIGNIFICANT
            st.case = entry.case
            lead = [f"version {entry.version}: follow-up classified {kind.value}"
                    + (f": {', '.join(reasons)}" if reasons else "")
                    + ("" if entry.significant is None else " (physician's classification)")]
            if probe.valid and not old.valid:
                # Day 0 is when the minimum information was first held (GVP VI.B.7).
                st.first, st.receipts = received, entry.receipts
                kind = FollowUp.INITIAL
                lead = [f"version {entry.version}: case became valid: day 0 is its receipt"]
            if kind is FollowUp.SIGNIFICANT:
                st.significant_followup = replace(received, kind=AnchorKind.SIGNIFICANT_FOLLOWUP)
                if (any(e.fatal_or_lt for e in probe.events)
                        and not any(e.fatal_or_lt for e in old.events)):
                    st.fatal_lt_awareness = replace(received, kind=AnchorKind.FATAL_LT_AWARENESS)
            run(i, build(kind), lead)
        elif isinstance(entry, SponsorAssessment):
            if st.case is None:
                raise HistoryError(f"{where}: an assessment before the case was received")
            if st.case.reaction(entry.reaction_id) is None:
                raise HistoryError(f"{where}.reaction_id: no reaction {entry.reaction_id!r}")
            if not any(d.id == entry.drug_id for d in st.case.suspect_drugs()):
                raise HistoryError(f"{where}.drug_id: no suspect drug {entry.drug_id!r}")
            before = _qualifying(build(FollowUp.INITIAL))
            key = (entry.reaction_id, entry.drug_id, entry.role)
            prior = st.assessments.get(key)
            # The same assessment with its causality left as it was: what its expectedness
            # alone would qualify (later_awareness: only causality moves day 0).
            st.assessments[key] = replace(
                entry, causality=prior.causality if prior else None,
                method=prior.method if prior else "", result=prior.result if prior else "")
            by_expectedness = _qualifying(build(FollowUp.INITIAL))
            st.assessments[key] = entry
            after_facts = build(FollowUp.INITIAL)
            day = _day(entry.on, zone)
            lead = [f"assessment {day.isoformat()} by the {entry.role}"
                    + (f" ({entry.by})" if entry.by else "")
                    + f" of {entry.reaction_id} x {entry.drug_id}"]
            if entry.role == AssessorRole.INVESTIGATOR:
                st.significant_followup = _anchor(AnchorKind.SIGNIFICANT_FOLLOWUP, entry.on, zone)
                run(i, build(FollowUp.SIGNIFICANT), lead)
                continue
            st.sponsor_determination = _anchor(AnchorKind.SPONSOR_DETERMINATION, entry.on, zone)
            gained = _qualifying(after_facts) - before
            if gained:
                through = (AssessedAs.CAUSALITY if gained - by_expectedness
                           else AssessedAs.EXPECTEDNESS)
                later = later_awareness(
                    through, _anchor(AnchorKind.REPORTABLE_AWARENESS, entry.on, zone))
                if later is not None:
                    st.reportable_awareness = later
                    lead.append(f"the sponsor's {through.value} assessment made the case "
                                "reportable: clocks that count from the sponsor's awareness "
                                f"or determination start {day.isoformat()}")
                else:
                    lead.append(f"the sponsor's {through.value} assessment made the case "
                                "reportable; day 0 stays at the receipt of the information "
                                "(its RSI was already held: C.05.014(1), Reg. 536/2014 Art. "
                                "42(2), SI 2004/1031 regs 33-34 count from awareness of the "
                                "reaction; 21 CFR 312.32(c)(1) from the determination)")
            st.significant_followup = _anchor(AnchorKind.SIGNIFICANT_FOLLOWUP, entry.on, zone)
            run(i, build(FollowUp.REASSESSMENT), lead)
        elif isinstance(entry, Unblinding):
            if st.case is None:
                raise HistoryError(f"{where}: an unblinding before the case was received")
            st.arm = entry.arm
            st.significant_followup = _anchor(AnchorKind.SIGNIFICANT_FOLLOWUP, entry.on, zone)
            run(i, build(FollowUp.REASSESSMENT),
                [f"unblinded {_day(entry.on, zone).isoformat()}: {entry.arm}"])
        elif isinstance(entry, Nullification):
            if st.case is None:
                raise HistoryError(f"{where}: a nullification before the case was received")
            st.nullified = True
            run(i, build(FollowUp.SIGNIFICANT),
                [f"nullified {_day(entry.on, zone).isoformat()}"
                 + (f": {entry.reason}" if entry.reason else "")])
        else:
            try:
                current = file_report(current, entry, ctx.regimes, where)
            except HistoryError as exc:
                if strict:
                    raise
                notes.append(f"{exc}: kept as filed, nothing open to answer")
                continue
            notes.append(f"filed {entry.regime}/{entry.rule} on {entry.on.isoformat()}"
                         + ("" if entry.complete is None
                            else f" ({'complete' if entry.complete else 'incomplete'})"))
    if last is None:
        raise HistoryError("history: no version of the case was received")
    final = Evaluation(last.case_id, last.version, sorted(
        current, key=lambda o: (o.due, o.destination, o.rule_id)),
        list(last.recommendations), [*last.notes, *notes])
    result.evaluation = final
    return result


# --- JSON --------------------------------------------------------------------------------


def _when(value: object, where: str) -> date | datetime:
    if not isinstance(value, str):
        raise HistoryError(f"{where}: expected an ISO date or an instant with its offset")
    try:
        if "T" in value:
            dt = datetime.fromisoformat(value)
            if dt.tzinfo is None:
                raise HistoryError(f"{where}: {value!r} has no offset; give its time zone")
            return dt
        return date.fromisoformat(value)
    except ValueError as exc:
        raise HistoryError(f"{where}: {exc}") from exc


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def _opt_bool(value: object, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise HistoryError(f"{where}: expected true, false or null")


def entry_from_json(data: object, where: str) -> Entry:
    if not isinstance(data, dict):
        raise HistoryError(f"{where}: expected an object with a type")
    kind = data.get("type")
    if kind == "received":
        case = data.get("case")
        if not isinstance(case, dict):
            raise HistoryError(f"{where}.case: expected the case JSON (case_to_json)")
        receipts = data.get("receipts")
        if not isinstance(receipts, list) or not receipts:
            raise HistoryError(f"{where}.receipts: expected a non-empty list of "
                               "{party, role, at}")
        try:
            parsed = tuple(receipt_from_json(r, f"{where}.receipts[{j}]")
                           for j, r in enumerate(receipts))
        except Day0Error as exc:
            raise HistoryError(str(exc)) from exc
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise HistoryError(f"{where}.version: expected a positive integer")
        return Received(version, case_from_json(case), parsed,
                        _opt_bool(data.get("significant"), f"{where}.significant"))
    if kind == "assessment":
        for key in ("reaction_id", "drug_id"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise HistoryError(f"{where}.{key}: expected a non-empty string")
        role = data.get("role", AssessorRole.SPONSOR)
        if role not in (AssessorRole.SPONSOR, AssessorRole.INVESTIGATOR):
            raise HistoryError(f"{where}.role: {role!r} is not sponsor or investigator")
        causality = data.get("causality")
        try:
            rel = Relatedness(causality) if causality is not None else None
        except ValueError:
            raise HistoryError(f"{where}.causality: {causality!r} is not one of "
                               f"{[r.value for r in Relatedness]}") from None
        expected = _opt_bool(data.get("expected"), f"{where}.expected")
        if rel is None and expected is None:
            raise HistoryError(f"{where}: give causality, expected, or both")
        reference = str(data.get("reference", "IB"))
        if reference != "IB" and not reference.startswith("label:"):
            raise HistoryError(f"{where}.reference: {reference!r} is not IB or label:<code>")
        return SponsorAssessment(
            str(data["reaction_id"]), str(data["drug_id"]), _when(data.get("on"), f"{where}.on"),
            rel, str(data.get("method") or ""), str(data.get("result") or ""), expected,
            reference, str(data.get("rsi_version") or ""), role, str(data.get("by") or ""))
    if kind == "unblinding":
        arm = data.get("arm")
        if not isinstance(arm, str) or not arm:
            raise HistoryError(f"{where}.arm: expected \"placebo\" or a product id")
        return Unblinding(_when(data.get("on"), f"{where}.on"), arm)
    if kind == "filing":
        on = _when(data.get("on"), f"{where}.on")
        for key in ("regime", "rule"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise HistoryError(f"{where}.{key}: expected a non-empty string")
        return Filing(on if not isinstance(on, datetime) else on.date(), str(data["regime"]),
                      str(data["rule"]), _opt_bool(data.get("complete"), f"{where}.complete"))
    if kind == "nullification":
        return Nullification(_when(data.get("on"), f"{where}.on"), str(data.get("reason") or ""))
    raise HistoryError(f"{where}.type: {kind!r} is not one of received, assessment, "
                       "unblinding, filing, nullification")


def entry_to_json(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, Received):
        out: dict[str, Any] = {
            "type": "received", "version": entry.version, "case": case_to_json(entry.case),
            "receipts": [{"party": r.party, "role": r.role.value,
                          "at": _iso(r.instant if r.instant is not None else r.day)}  # type: ignore[arg-type]
                         for r in entry.receipts]}
        if entry.significant is not None:
            out["significant"] = entry.significant
        return out
    if isinstance(entry, SponsorAssessment):
        out = {"type": "assessment", "reaction_id": entry.reaction_id,
               "drug_id": entry.drug_id, "on": _iso(entry.on), "role": entry.role,
               "reference": entry.reference}
        if entry.causality is not None:
            out["causality"] = entry.causality.value
        if entry.expected is not None:
            out["expected"] = entry.expected
        for key in ("method", "result", "rsi_version", "by"):
            if getattr(entry, key):
                out[key] = getattr(entry, key)
        return out
    if isinstance(entry, Unblinding):
        return {"type": "unblinding", "on": _iso(entry.on), "arm": entry.arm}
    if isinstance(entry, Filing):
        out = {"type": "filing", "on": entry.on.isoformat(), "regime": entry.regime,
               "rule": entry.rule}
        if entry.complete is not None:
            out["complete"] = entry.complete
        return out
    return {"type": "nullification", "on": _iso(entry.on), "reason": entry.reason}


def history_from_json(data: dict[str, Any], zone: str | None = None) -> CaseHistory:
    """``{"case_id", "timezone", "history": [entries]}`` (other keys: the context, read by
    the caller). ``zone`` is the caller's organisation zone, used unless the file names one."""
    entries = data.get("history")
    if not isinstance(entries, list) or not entries:
        raise HistoryError("history: expected a non-empty list of entries")
    tz = str(data.get("timezone") or zone or "UTC")
    try:
        org_zone(tz)
    except Day0Error as exc:
        raise HistoryError(str(exc)) from exc
    return CaseHistory(str(data.get("case_id", "what-if")),
                       tuple(entry_from_json(e, f"history[{i}]") for i, e in enumerate(entries)),
                       tz)


def history_to_json(history: CaseHistory) -> dict[str, Any]:
    return {"case_id": history.case_id, "timezone": history.zone,
            "history": [entry_to_json(e) for e in history.entries]}

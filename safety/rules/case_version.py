"""The rules stage for one stored case version: the pure function the worker calls.

Given the new snapshot, the previous snapshot (for follow-ups), the obligations already derived
for the case and the registry/RSI in force, it builds the anchors from the stored receipt
instants, classifies the follow-up (significant or not), and evaluates every regime. Anchors
that the case model does not hold (the sponsor's causality determination, when the
organisation learned of a fatal or life-threatening outcome) can be passed in; the latter
defaults to this version's receipt when this version is the first to carry such an outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from safety.cases.model import CaseVersionData
from safety.products.registry import Registry
from safety.products.rsi import RsiLibrary
from safety.rules.day0 import Anchor, AnchorKind, Anchors, org_zone
from safety.rules.facts import CaseFacts, FollowUp, build_facts
from safety.rules.followup import classify_followup, significance_changes
from safety.rules.obligations import Evaluation, Obligation, evaluate
from safety.rules.regime import Regime
from safety.rules.seriousness import MedicallyImportantLists


def _facts(
    case: CaseVersionData, case_id: str, version: int, anchors: Anchors, registry: Registry,
    rsi: RsiLibrary, lists: MedicallyImportantLists | None, followup: FollowUp,
    unblinded_arm: str | None,
) -> CaseFacts:
    return build_facts(case, case_id=case_id, version=version, anchors=anchors,
                       registry=registry, rsi=rsi, lists=lists, followup=followup,
                       unblinded_arm=unblinded_arm)


def evaluate_case_version(
    case: CaseVersionData,
    *,
    case_id: str,
    version: int,
    first_received_at: datetime,
    received_at: datetime,
    registry: Registry,
    rsi: RsiLibrary,
    previous_case: CaseVersionData | None = None,
    previous_obligations: Sequence[Obligation] = (),
    previous_first_received_at: datetime | None = None,
    sponsor_determination_at: datetime | None = None,
    fatal_lt_awareness_at: datetime | None = None,
    unblinded_arm: str | None = None,
    followup: FollowUp | None = None,
    lists: MedicallyImportantLists | None = None,
    zone: str | None = None,
    regimes: Sequence[Regime] | None = None,
) -> tuple[CaseFacts, Evaluation]:
    """Facts and obligations of one case version.

    ``first_received_at`` is the instant the organisation first held a valid case (version 1's
    receipt); ``received_at`` this version's receipt. ``followup`` overrides the automatic
    significance classification (e.g. after a physician's decision).
    """
    tz = org_zone(zone)
    first = Anchor.at(AnchorKind.FIRST_RECEIPT, first_received_at, tz)
    sponsor = (Anchor.at(AnchorKind.SPONSOR_DETERMINATION, sponsor_determination_at, tz)
               if sponsor_determination_at else None)
    base = Anchors(first, sponsor_determination=sponsor)
    if previous_case is None:
        facts = _facts(case, case_id, version, base, registry, rsi, lists,
                       FollowUp.INITIAL, unblinded_arm)
        return facts, evaluate(facts, regimes, previous_obligations)

    fu_anchor = Anchor.at(AnchorKind.SIGNIFICANT_FOLLOWUP, received_at, tz)
    prev_anchors = Anchors(Anchor.at(AnchorKind.FIRST_RECEIPT,
                                     previous_first_received_at or first_received_at, tz))
    old = _facts(previous_case, case_id, version - 1, prev_anchors, registry, rsi, lists,
                 FollowUp.INITIAL, unblinded_arm)
    probe = _facts(case, case_id, version, prev_anchors, registry, rsi, lists,
                   FollowUp.INITIAL, unblinded_arm)
    kind = followup or classify_followup(old, probe)
    became_valid = probe.valid and not old.valid
    if became_valid:
        # Day 0 is when the minimum information was first held (GVP VI.B.7): this receipt.
        first = Anchor.at(AnchorKind.FIRST_RECEIPT, received_at, tz)
        kind = FollowUp.INITIAL
    fatal_at = fatal_lt_awareness_at
    if fatal_at is None and any(e.fatal_or_lt for e in probe.events) and not any(
            e.fatal_or_lt for e in old.events):
        fatal_at = received_at
    anchors = Anchors(
        first, significant_followup=fu_anchor if kind is FollowUp.SIGNIFICANT else None,
        sponsor_determination=sponsor,
        fatal_lt_awareness=Anchor.at(AnchorKind.FATAL_LT_AWARENESS, fatal_at, tz)
        if fatal_at else None,
    )
    facts = _facts(case, case_id, version, anchors, registry, rsi, lists, kind, unblinded_arm)
    ev = evaluate(facts, regimes, previous_obligations)
    reasons = significance_changes(old, probe)
    if became_valid:
        ev.notes.insert(0, "case became valid with this version: day 0 is its receipt")
    else:
        ev.notes.insert(0, f"follow-up classified {kind.value}"
                        + (f": {', '.join(reasons)}" if reasons else ""))
    return facts, ev

"""Whether follow-up information is significant, i.e. starts a new clock.

GVP Module VI.B.7.1 and ICH E2D section 4.2: significant follow-up is new medically relevant
information — a new event, a change in seriousness (including an upgrade to fatal or
life-threatening), in expectedness, in causality, or a new suspect product. Other changes
(typographical corrections, administrative data) are non-significant. The worker proposes this
classification; the physician can override it.
"""

from __future__ import annotations

from safety.rules.facts import CaseFacts, FollowUp


def _event_sig(f: CaseFacts) -> set[tuple[object, ...]]:
    return {(e.id, e.pt_code, e.criteria, e.fatal, e.life_threatening) for e in f.events}


def _pair_sig(f: CaseFacts) -> set[tuple[object, ...]]:
    out: set[tuple[object, ...]] = set()
    for p in f.pairs:
        inv = p.causality.investigator.relatedness if p.causality.investigator else None
        spo = p.causality.sponsor.relatedness if p.causality.sponsor else None
        exp = tuple(sorted((k, v.expected) for k, v in p.expected.items()))
        out.add((p.event_id, p.drug_id, exp, inv, spo))
    return out


def significance_changes(old: CaseFacts, new: CaseFacts) -> list[str]:
    """Human-readable list of what makes the follow-up significant (empty: non-significant)."""
    reasons = []
    if {e.id for e in new.events} - {e.id for e in old.events}:
        reasons.append("new event(s)")
    if _event_sig(old) != _event_sig(new):
        reasons.append("seriousness, outcome or coding of an event changed")
    if {s.product_id for s in new.suspects} != {s.product_id for s in old.suspects}:
        reasons.append("suspect products changed")
    if _pair_sig(old) != _pair_sig(new):
        reasons.append("expectedness or causality changed")
    if old.unblinded_arm != new.unblinded_arm:
        reasons.append("treatment unblinded")
    if old.valid != new.valid:
        reasons.append("case validity changed")
    return reasons


def classify_followup(old: CaseFacts, new: CaseFacts) -> FollowUp:
    return FollowUp.SIGNIFICANT if significance_changes(old, new) else FollowUp.NON_SIGNIFICANT

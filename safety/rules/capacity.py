"""Which regimes bind a sponsor: a sponsor reports what the law puts on it in the capacity it
holds, and nothing in a capacity it does not hold.

- Clinical-trial reporting falls on the sponsor of the trial authorisation: to the FDA the
  IND holder (21 CFR 312.32(c)); in the EU, UK and Canada the sponsor holding the trial's
  authorisation (Regulation (EU) No 536/2014 Art. 42; SI 2004/1031 reg. 33; C.05.014).
- Post-marketing reporting falls on the marketing authorisation holder (21 CFR 314.80(c);
  Directive 2001/83/EC Art. 107; GVP Module VI; C.01.017).

A sponsor that configured no capacities is held to every regime (a new installation, and the
DEFAULT sponsor of a migrated one, behave as before sponsors existed). Once configured, a regime
in a capacity the sponsor does not hold is not evaluated, and the evaluation says so: the
physician sees why no report is owed rather than silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from safety.rules.regime import Regime
from safety.sponsors.profile import Capacity, Reporting, RulesOptions, UkFollowUp

REGULATOR_OF = {"US": "fda", "EU": "ema", "UK": "mhra", "CA": "hc"}  # by regime jurisdiction


def capacity_needed(regime: Regime) -> Capacity:
    if regime.scope == "clinical_trial":
        return Capacity.IND_HOLDER if regime.jurisdiction == "US" else Capacity.CTA_HOLDER
    return Capacity.MAH


def _holds(held: Reporting, regime: Regime) -> bool:
    return (held.regulator == REGULATOR_OF.get(regime.jurisdiction)
            and held.capacity is capacity_needed(regime)
            and (not held.countries or bool(regime.region & set(held.countries))))


@dataclass(frozen=True)
class Applicable:
    regimes: tuple[Regime, ...]
    notes: tuple[str, ...]


def applicable_regimes(regimes: Sequence[Regime], reporting: Sequence[Reporting],
                       sponsor: str) -> Applicable:
    """The regimes the sponsor is held to, and a note for each it is not."""
    if not reporting:
        return Applicable(tuple(regimes), ())
    kept: list[Regime] = []
    notes: list[str] = []
    for regime in regimes:
        if any(_holds(r, regime) for r in reporting):
            kept.append(regime)
            continue
        notes.append(f"{regime.id}: not evaluated: sponsor {sponsor} does not report to "
                     f"{REGULATOR_OF.get(regime.jurisdiction, regime.jurisdiction)} as "
                     f"{capacity_needed(regime).value} for {regime.jurisdiction} (its reporting "
                     "capacities)")
    return Applicable(tuple(kept), tuple(notes))


UK_FOLLOWUP_RULE = ("uk-ct", "uk-ct-completion")


def with_options(regimes: Sequence[Regime], options: RulesOptions) -> Applicable:
    """``regimes`` as the sponsor's documented choices read the law where it is ambiguous, and
    a note for each choice applied, so every evaluation says which reading it used.

    SI 2004/1031 reg. 33(2) (8-day report after a fatal/life-threatening UK SUSAR), amended in
    2026: ``always`` owes it after every 7-day report (the shipped rule); ``if_incomplete`` only
    after a 7-day report filed incomplete, as EU CTR Art. 42(2) second subparagraph."""
    out: list[Regime] = []
    notes: list[str] = []
    regime_id, rule_id = UK_FOLLOWUP_RULE
    for regime in regimes:
        rule = regime.rule(rule_id) if regime.id == regime_id else None
        if rule is None:
            out.append(regime)
            continue
        choice = options.uk_ct_followup
        if choice is UkFollowUp.IF_INCOMPLETE:
            rule = replace(rule, only_if="initial_incomplete",
                           summary=f"{rule.summary} (only after an incomplete 7-day report: "
                                   "sponsor setting rules.uk_ct_followup = if_incomplete)")
            regime = replace(regime, rules=tuple(rule if r.id == rule_id else r
                                                 for r in regime.rules))
        when = ("after every" if choice is UkFollowUp.ALWAYS
                else "only after an incomplete")
        notes.append(f"{regime_id}/{rule_id}: sponsor setting rules.uk_ct_followup = "
                     f"{choice.value} ({rule.citation} as amended in 2026 is read as owing the "
                     f"8-day report {when} 7-day report; docs/rules.md)")
        out.append(regime)
    return Applicable(tuple(out), tuple(notes))

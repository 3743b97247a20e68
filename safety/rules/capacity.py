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
from dataclasses import dataclass

from safety.rules.regime import Regime
from safety.sponsors.profile import Capacity, Reporting

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

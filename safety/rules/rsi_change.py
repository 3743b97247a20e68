"""Re-evaluation after an RSI change: which obligations appear and which disappear.

A new IB or label version can turn an unexpected event into an expected one (an obligation
disappears) or the reverse (one appears). Only cases with a suspect of the changed product, and
only regimes that judge expectedness against the changed reference, can be affected; every
other case is skipped without evaluation, which is what makes 100,000 open cases cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from safety.products.rsi import RsiLibrary, RsiVersion
from safety.rules.facts import CaseFacts
from safety.rules.obligations import Obligation, evaluate
from safety.rules.regime import Regime, load_regimes


class Change(StrEnum):
    APPEARS = "appears"
    DISAPPEARS = "disappears"


@dataclass(frozen=True, slots=True)
class ObligationChange:
    case_id: str
    version: int
    change: Change
    obligation: Obligation

    def to_json(self) -> dict[str, object]:
        return {"case_id": self.case_id, "version": self.version, "change": self.change.value,
                "obligation": self.obligation.to_json()}


def _key(o: Obligation) -> tuple[str, str, str, str]:
    return (o.regime, o.rule_id, o.due.isoformat(), o.status.value)


def rsi_change_for_case(
    facts: CaseFacts,
    new_lib: RsiLibrary,
    changed: RsiVersion,
    regimes: Sequence[Regime],
    previous: Sequence[Obligation] = (),
) -> list[ObligationChange]:
    """Obligation differences for one case when ``new_lib`` replaces the facts' expectedness.

    ``facts`` carry expectedness computed with the old library; ``changed`` is the new (or
    withdrawn) version, naming the product and reference concerned.
    """
    drug_ids = {s.drug_id for s in facts.suspects if s.product_id == changed.product_id}
    if not drug_ids:
        return []
    affected = [r for r in regimes if r.rsi_reference == changed.reference]
    if not affected:
        return []
    new_facts = facts.with_expectedness(new_lib, {changed.product_id})
    if all(a.expected == b.expected for a, b in zip(facts.pairs, new_facts.pairs, strict=True)
           if a.drug_id in drug_ids):
        return []
    before = {_key(o): o for o in evaluate(facts, affected, previous).active()}
    after = {_key(o): o for o in evaluate(new_facts, affected, previous).active()}
    out = [ObligationChange(facts.case_id, facts.version, Change.DISAPPEARS, o)
           for k, o in before.items() if k not in after]
    out += [ObligationChange(facts.case_id, facts.version, Change.APPEARS, o)
            for k, o in after.items() if k not in before]
    return out


def rsi_change(
    open_cases: Iterable[CaseFacts],
    old_lib: RsiLibrary,
    old: RsiVersion | None,
    new: RsiVersion,
    regimes: Sequence[Regime] | None = None,
) -> list[ObligationChange]:
    """Changes across ``open_cases`` (facts built with ``old_lib``) when ``new`` replaces ``old``.

    ``old`` is ``None`` when ``new`` is an additional version (a later effective date).
    """
    if old is None:
        new_lib = RsiLibrary()
        for v in old_lib.versions():
            new_lib.add(v)
        new_lib.add(new)
    else:
        new_lib = old_lib.replaced(old, new)
    regs = tuple(regimes if regimes is not None else load_regimes())
    out: list[ObligationChange] = []
    for facts in open_cases:
        out.extend(rsi_change_for_case(facts, new_lib, new, regs))
    return out

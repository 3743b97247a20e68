"""A new reference safety information version, and what it changes for open cases.

A new IB or label edition can make an event expected (a SUSAR report is no longer owed) or
unexpected (one now is). Before the new version is stored, every open case's current version
is evaluated against the RSI in force so far; the change report lists the obligations that
appear or disappear (``safety.rules.rsi_change``), and the change is audited with that report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.store import open_current_versions
from safety.config import Settings
from safety.products.rsi import RsiError, RsiVersion
from safety.products.store import has_product, load_rsi, rsi_version_at, save_rsi_version
from safety.rules.capacity import applicable_regimes, with_options
from safety.rules.evaluation import evaluate_version
from safety.rules.regime import load_regimes
from safety.rules.rsi_change import rsi_change
from safety.sponsors.service import profile


def add_rsi_version(session: Session, new: RsiVersion, settings: Settings, actor: str,
                    sponsor_id: int) -> list[dict[str, Any]]:
    """Add one of the sponsor's RSI versions and report what it changes for the sponsor's
    open cases. A product the sponsor's registry does not hold is refused (:class:`RsiError`)
    before anything is evaluated or written; another sponsor's product is refused alike, so the
    answer does not tell that it exists."""
    if not has_product(session, sponsor_id, new.product_id):
        raise RsiError(f"rsi.product_id: no product {new.product_id!r} in the registry; "
                       "import the product first", field="product_id")
    existing = rsi_version_at(session, sponsor_id, new.product_id, new.reference,
                              new.effective_from)
    if existing == new:
        return []  # the same version imported again (a re-run import file) changes nothing
    if existing is not None:
        raise RsiError(f"rsi.effective_from: {new.product_id} {new.reference} already has "
                       f"version {existing.version!r} in force from "
                       f"{new.effective_from.isoformat()}; give the new version its own "
                       "effective date", field="effective_from")
    old_lib = load_rsi(session, sponsor_id)
    old = old_lib.in_force(new.product_id, new.reference, new.effective_from)
    open_cases = [(case, cv) for case, cv in open_current_versions(session)
                  if case.sponsor_id == sponsor_id]
    facts = [evaluate_version(session, cv, settings, rsi=old_lib)[0] for _, cv in open_cases]
    # Only the regimes the sponsor is held to, read as it reads them (its capacities and
    # settings): the same regimes its cases are evaluated under (safety.rules.capacity).
    sponsor = profile(session, sponsor_id)
    bound = applicable_regimes(load_regimes(), sponsor.reporting, sponsor.code)
    regimes = with_options(bound.regimes, sponsor.rules).regimes
    changes = [c.to_json() for c in rsi_change(facts, old_lib, old, new, regimes)]
    row = save_rsi_version(session, new, sponsor_id)
    session.flush()
    record(session, actor=actor, action="rsi.version_added", entity=row,
           changes=[{"field": f"{new.product_id} {new.reference}",
                     "from": old.version if old else None, "to": new.version}],
           reason=f"{len(changes)} obligation change(s) across {len(open_cases)} open case(s)")
    return changes

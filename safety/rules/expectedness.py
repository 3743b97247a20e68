"""Expectedness of an event for a suspect product against the RSI in force at day 0.

An event is expected only when its PT is listed in the applicable RSI version in force on the
day the clock starts. No RSI in force means nothing is expected: the conservative reading of
ICH E2A section II.C (an unlisted reaction is unexpected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from safety.products.rsi import RsiLibrary


@dataclass(frozen=True, slots=True)
class Expectedness:
    reference: str
    expected: bool
    rsi: str  # "IB v7 (effective 2026-01-01)" or "no RSI in force"


def assess(
    lib: RsiLibrary, product_id: str | None, pt_code: str | None, reference: str, on: date
) -> Expectedness:
    version = lib.in_force(product_id, reference, on) if product_id else None
    if version is None:
        return Expectedness(reference, False, f"no {reference} RSI in force on {on.isoformat()}")
    label = f"{reference} v{version.version} (effective {version.effective_from.isoformat()})"
    return Expectedness(reference, version.expects(pt_code), label)

"""Which E2B(R3) destination an obligation's regulator maps to.

The rules name regulators as people do ("FDA", "EMA (EudraVigilance CT module)"); the E2B
layer names gateways and profiles (``safety/e2b/data/destinations.json``). MHRA and Health
Canada gateway identifiers are not in the reference material we hold, so their messages are
drafted against the ICH profile and stay blocked until the organisation configures receivers.
"""

from __future__ import annotations

from safety.cases.model import CaseVersionData
from safety.e2b.routing import destination as e2b_destination

REGION_OF = {
    "FDA": "fda",
    "EMA (EudraVigilance CT module)": "ema",
    "EMA (EudraVigilance post-authorisation module)": "ema",
    "MHRA": "mhra",
    "Health Canada": "hc",
}
CLI_DESTINATIONS = ("fda", "ema", "mhra", "hc")


class UnknownDestination(ValueError):
    pass


def region_for(obligation_destination: str) -> str:
    try:
        return REGION_OF[obligation_destination]
    except KeyError:
        raise UnknownDestination(f"no E2B region for destination {obligation_destination!r}"
                                 ) from None


def e2b_key(region: str, case: CaseVersionData) -> str | None:
    """The destinations.json key, or None when no gateway is known for the region."""
    if region in ("fda", "ema"):
        return e2b_destination(region, case)
    return None

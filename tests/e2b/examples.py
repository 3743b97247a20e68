"""The example instances used by the E2B tests and the profile each was written for."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"

# example file -> profile it was written for (its batch receiver N.1.4)
EXAMPLES = {
    "FAERS2022Scenario1.xml": "fda-postmarket",
    "FAERS2022Scenario3.xml": "fda-premarket",
    "FAERS2022Scenario5-1.xml": "fda-premarket",
    "FAERS2022Scenario7.xml": "fda-postmarket",
    "FAERS2022Scenario8.xml": "fda-premarket",
    "ICH-ref-like_HC-B7890123_followup.xml": "ich",
}
PROFILE_DESTINATION = {"fda-postmarket": "fda-postmarket", "fda-premarket": "fda-premarket",
                       "ich": "ich"}


def example(name: str) -> bytes:
    return (DATA / name).read_bytes()

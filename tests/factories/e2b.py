"""E2B(R3) messages: the example instances the tests read (and the profile each was written
for), and a message exported from the sample case."""

from __future__ import annotations

from pathlib import Path

from safety.e2b.export import export_case
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader

DATA = Path(__file__).resolve().parents[1] / "e2b" / "data"

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


def e2b_message(sender_id: str, *, c11: str, c181: str | None = None,
                narrative: str | None = None, destination: str = "ich") -> bytes:
    """The sample case as one E2B(R3) message from ``sender_id`` (N.1.3 and N.2.r.2), with its
    own C.1.1, C.1.8.1 (its C.1.1 unless given) and narrative."""
    case = sample_case()
    case.admin.sender_safety_report_id = c11
    case.admin.worldwide_case_id = c181 or c11
    if narrative is not None:
        case.narrative.narrative = narrative
    xml = export_case(case, ExportHeader(sender_id=sender_id, destination=destination)).xml
    assert xml is not None
    return xml


def sample_message(destination: str) -> bytes:
    """The sample case exported for ``destination``."""
    xml = export_case(sample_case(), ExportHeader(sender_id="TEST", destination=destination)).xml
    assert xml is not None
    return xml

"""E2B(R3) messages: the example instances the tests read (and the profile each was written
for), and a message exported from the sample case."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from safety.cases.model import CaseVersionData
from safety.e2b.export import export_case
from safety.e2b.reader import read_batch
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader

DATA = Path(__file__).resolve().parents[1] / "e2b" / "data"
DEMO_SENDER = Path(__file__).resolve().parents[2] / "safety" / "demo" / "sender.json"

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


# --- a fixed set of exports for the golden test and the drafting bench ------------------------
GOLDEN_NOW = datetime(2025, 6, 30, 9, 15, tzinfo=UTC)
# destination -> the region whose preparation drafting gives it (``ich``: a gateway without a
# published destination, as for the MHRA)
GOLDEN_DESTINATIONS = {"fda-postmarket": "fda", "fda-premarket": "fda",
                       "fda-premarket-babe": "fda", "ema": "ema", "ema-ct": "ema",
                       "ich": "mhra"}


def golden_cases() -> dict[str, CaseVersionData]:
    """Demo site forms (fixed seed and day) read as intake reads them, a few with coded
    events, plus every official example's imported case: the cases exported by
    ``tests/e2b/test_export_golden.py`` and timed by ``bench/e2b_drafting.py``."""
    from datetime import date, timedelta

    from safety.cases.model import CodedTerm
    from safety.cases.values import PartialDate
    from safety.demo.generator import generate_forms
    from safety.intake.channels import payload_to_case

    out: dict[str, CaseVersionData] = {}
    ids = random.Random(20)
    for i, form in enumerate(generate_forms(24, seed=20, today=date(2025, 6, 1)), start=1):
        # the reactions' and drugs' ids (E.i, G.k) are fresh uuids: from a seed here
        with mock.patch.object(uuid, "uuid4",
                               lambda: uuid.UUID(int=ids.getrandbits(128), version=4)):
            case = payload_to_case("site_form", form)
        case.admin.sender_safety_report_id = f"GB-DEMO-2025-{i:04}"
        case.admin.worldwide_case_id = f"GB-DEMO-2025-{i:04}"
        # as intake sets them (safety.intake.processing)
        received = PartialDate.from_date(date(2025, 6, 1) + timedelta(days=i % 20))
        case.admin.first_received = case.admin.most_recent_received = received
        case.admin.first_sender = "2"
        if i % 3 == 0:  # coded by the coding stage
            for r in case.reactions:
                r.coding = CodedTerm(code="10019211", verbatim=r.verbatim, version="27.1",
                                     family="meddra")
        out[f"demo-{i:02}"] = case
    for name in EXAMPLES:
        for j, message in enumerate(read_batch(example(name)), start=1):
            out[f"{name.removesuffix('.xml')}#{j}"] = message.case
    return out


def golden_export(cases: list[CaseVersionData], destination: str, *, prepared: bool,
                  name: str = "golden") -> tuple[list[CaseVersionData], ExportHeader]:
    """The cases as drafting hands them to the writer for ``destination`` (prepared for its
    region when ``prepared``: the demo forms), and a header with fixed ids and time."""
    from safety.sponsors.sender import sender_from_json
    from safety.submissions.prepare import prepare

    if prepared:
        sender = sender_from_json(json.loads(DEMO_SENDER.read_text()))
        cases = [prepare(c, region=GOLDEN_DESTINATIONS[destination], days=15, sender=sender,
                         now=GOLDEN_NOW).case for c in cases]
    header = ExportHeader(sender_id="GOLDEN-SENDER", destination=destination,
                          batch_id=f"{name}-batch",
                          message_ids=[f"{name}-msg-{k}" for k in range(1, len(cases) + 1)],
                          created=GOLDEN_NOW)
    return cases, header

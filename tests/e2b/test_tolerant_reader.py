"""Issue 14: partners' messages are read whole. The two refusals met with real partner files
(a causality assessment naming no drug, a creation time with its UTC offset in hours only)
are findings on the message; everything else in it is read. Expected values are those of the
official example the test message is derived from (FAERS2022Scenario1, element numbers from
the ICH table: N.1.5 and N.2.r.4 creation times, G.k.9.i drug-reaction assessments)."""

from __future__ import annotations

import pytest
from factories.e2b import example
from lxml import etree

from safety.e2b.hl7 import NS, E2BError
from safety.e2b.reader import read_batch

DRUG_1 = "68d6f5ce-3b3b-45c7-92dd-69e06730c3a9"  # Scenario 1, Product #1


def _dangling_drug() -> bytes:
    """Scenario 1 with its first causality assessment naming a drug the message lacks."""
    root = etree.fromstring(example("FAERS2022Scenario1.xml"))
    ref = root.find(".//h:causalityAssessment/h:subject2/h:productUseReference/h:id", NS)
    assert ref is not None and ref.get("root") == DRUG_1
    ref.set("root", "11111111-2222-3333-4444-555555555555")
    return etree.tostring(root)


def test_a_causality_assessment_naming_no_drug_is_read_with_a_finding() -> None:
    whole = read_batch(example("FAERS2022Scenario1.xml"))[0]
    [message] = read_batch(_dangling_drug())
    [finding] = message.findings
    assert finding.element == "G.k.9.i"
    assert finding.xpath.endswith("causalityAssessment")
    assert "productUseReference '11111111-2222-3333-4444-555555555555' names no drug" \
        in finding.message
    assert "not read" in finding.message
    # every drug and reaction is still read; only the one assessment could not be placed
    assert [d.id for d in message.case.drugs] == [d.id for d in whole.case.drugs]
    assert len(message.case.reactions) == len(whole.case.reactions)
    drug_1 = next(d for d in message.case.drugs if d.id == DRUG_1)
    whole_1 = next(d for d in whole.case.drugs if d.id == DRUG_1)
    assert drug_1.name == whole_1.name
    assert message.case.patient == whole.case.patient
    assert message.case.narrative == whole.case.narrative


def test_an_hours_only_utc_offset_is_read_as_whole_hours_with_a_finding() -> None:
    data = example("FAERS2022Scenario1.xml")
    assert b'<creationTime value="20140714151617-0500"/>' in data
    data = data.replace(b'<creationTime value="20140714151617-0500"/>',
                        b'<creationTime value="20240101120000+05"/>')
    data = data.replace(b'<creationTime value="20220614101010-0500"/>',
                        b'<creationTime value="20220614101010-05"/>')
    [message] = read_batch(data)
    created = message.header.message_created
    assert created is not None and created.to_hl7() == "20240101120000+0500"
    assert message.header.batch_created is not None
    assert message.header.batch_created.to_hl7() == "20220614101010-0500"
    assert sorted(f.element for f in message.findings) == ["N.1.5", "N.2.r.4"]
    assert all("hours only" in f.message for f in message.findings)
    whole = read_batch(example("FAERS2022Scenario1.xml"))[0]
    assert message.case == whole.case


def test_findings_are_report_findings() -> None:
    [message] = read_batch(_dangling_drug())
    as_dict = message.findings[0].as_dict()
    assert set(as_dict) == {"code", "criterion", "xpath", "message"}
    assert as_dict["code"] == "e2b-read" and as_dict["criterion"] == "G.k.9.i"


@pytest.mark.parametrize("data", [example("FDA_R3ack-positive.xml"),
                                  b'<MCCI_IN200100UV01 xmlns="urn:hl7-org:v3"/>',
                                  b"<not-xml"])
def test_only_what_is_not_an_icsr_is_refused(data: bytes) -> None:
    with pytest.raises(E2BError):
        read_batch(data)

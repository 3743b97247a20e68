"""Issue 14: every finding on an inbound E2B report names the element's XPath, and its data
element number wherever the element tables locate the node."""

from __future__ import annotations

from factories.e2b import example
from lxml import etree

from safety.e2b.hl7 import NS
from safety.intake.e2b_batch import split_batch


def test_findings_name_the_xpath_and_the_element_number() -> None:
    root = etree.fromstring(example("FAERS2022Scenario1.xml"))
    birth = root.find(".//h:player1/h:birthTime", NS)
    birth.set("value", "1970-13-45")  # no date at all: a reader finding, read as no value
    birth.addnext(etree.fromstring('<favouriteColour xmlns="urn:hl7-org:v3" code="blue"/>'))
    [message] = split_batch(etree.tostring(root))
    findings = message.payload["findings"]
    assert all(f.get("xpath", "").startswith("/MCCI_IN200100UV01") for f in findings), findings
    read = [f for f in findings if f["code"] == "e2b-read"]
    assert [f["criterion"] for f in read] == ["D.2.1"]  # the reader's own finding, numbered
    assert read[0]["xpath"].endswith("/player1/birthTime")
    [stray] = [f for f in findings if f["code"] == "e2b-structure"]
    assert stray["xpath"].endswith("/player1/favouriteColour")
    assert stray["criterion"] == "-"  # no element of the tables stands there
    dated = [f for f in findings if f["code"] == "e2b-date-format"]
    assert [f["criterion"] for f in dated] == ["D.2.1"]

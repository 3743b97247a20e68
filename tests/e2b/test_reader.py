"""Import is safe on hostile input and its errors name the problem."""

from __future__ import annotations

import pytest
from factories.e2b import example, sample_message
from factories.hostile_xml import HOSTILE
from lxml import etree

from safety.e2b.ack import read_ack
from safety.e2b.conformance import check
from safety.e2b.hl7 import NS, E2BError, parse_xml
from safety.e2b.reader import read_batch


def test_entities_and_doctype_are_refused(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<MCCI_IN200100UV01 xmlns="urn:hl7-org:v3"><id extension="&x;"/></MCCI_IN200100UV01>')
    with pytest.raises(E2BError, match="DOCTYPE/ENTITY"):
        read_batch(xxe.encode())
    laughs = ('<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
              '<MCCI_IN200100UV01 xmlns="urn:hl7-org:v3">&b;</MCCI_IN200100UV01>')
    with pytest.raises(E2BError):
        read_batch(laughs.encode())


def test_size_limit() -> None:
    with pytest.raises(E2BError, match="exceeds the limit"):
        parse_xml(b"<a/>" + b" " * 100, max_bytes=50)


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(E2BError) as err:
        read_batch(b'<MCCI_IN200100UV01 xmlns="urn:hl7-org:v3">\n<id>\n</MCCI_IN200100UV01>')
    assert err.value.where.startswith("line ")


def test_wrong_root_and_empty_batch() -> None:
    with pytest.raises(E2BError, match="MCCI_IN200100UV01"):
        read_batch(example("FDA_R3ack-positive.xml"))
    with pytest.raises(E2BError, match="no PORR_IN049016UV"):
        read_batch(b'<MCCI_IN200100UV01 xmlns="urn:hl7-org:v3"/>')


def test_dangling_reaction_reference_is_a_finding_not_a_refusal() -> None:
    root = etree.fromstring(example("FAERS2022Scenario1.xml"))
    ref = root.find(".//h:adverseEffectReference/h:id", NS)
    ref.set("root", "00000000-0000-0000-0000-000000000000")
    [message] = read_batch(etree.tostring(root))
    [finding] = message.findings
    assert finding.element == "G.k.9.i.1"
    assert "causalityAssessment" in finding.xpath
    assert "adverseEffectReference '00000000-0000-0000-0000-000000000000' names no reaction" \
        in finding.message
    assert message.case.drugs and message.case.reactions  # the rest is read


def test_bad_date_and_bad_boolean_are_findings_naming_the_element() -> None:
    data = example("FAERS2022Scenario1.xml").replace(b'<birthTime value="20010615"/>',
                                                     b'<birthTime value="2001-06-15"/>')
    [message] = read_batch(data)
    [finding] = message.findings
    assert "birthTime" in finding.xpath and "read as 20010615" in finding.message
    assert str(message.case.patient.birth_date) == "2001-06-15"
    data = example("FAERS2022Scenario1.xml").replace(b'value="false"', b'value="nope"', 1)
    [message] = read_batch(data)
    assert ["true or false" in f.message for f in message.findings] == [True]


def test_unknown_null_flavour_is_a_finding() -> None:
    data = example("FAERS2022Scenario1.xml").replace(b'nullFlavor="NI"', b'nullFlavor="XX"', 1)
    [message] = read_batch(data)
    assert [("unknown nullFlavor 'XX'" in f.message) for f in message.findings] == [True]


def test_header_values() -> None:
    h = read_batch(example("FAERS2022Scenario3.xml"))[0].header
    assert (h.batch_receiver, h.message_receiver, h.message_sender) == (
        "ZZFDA_PREMKT", "CDER_IND", "4567AB89012")
    assert h.batch_created is not None and h.batch_created.precision == "second"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_doctype_is_refused_in_any_encoding_wherever_it_stands(name: str) -> None:
    """Found in the parsed document, not by scanning bytes: before, a DOCTYPE after 4 KiB or
    an entity in UTF-16 passed and the narrative was silently cut to "["."""
    data = HOSTILE[name]
    with pytest.raises(E2BError, match="DOCTYPE") as err:
        parse_xml(data)
    assert err.value.where == "file"
    with pytest.raises(E2BError, match="DOCTYPE"):
        read_batch(data)
    with pytest.raises(E2BError, match="DOCTYPE"):
        read_ack(data)
    assert [f.rule for f in check(data, "ich")] == ["well-formed"]


def test_the_word_entity_in_a_narrative_is_not_a_declaration() -> None:
    """No byte scan: text that merely mentions <!ENTITY (escaped) is read as it was sent."""
    text = sample_message("ich").decode().replace(
        "A 76-year-old man", "A note about &lt;!ENTITY and &lt;!DOCTYPE: a 76-year-old man")
    case = read_batch(text.encode())[0].case
    assert isinstance(case.narrative.narrative, str)
    assert case.narrative.narrative.startswith("A note about <!ENTITY and <!DOCTYPE")


@pytest.mark.parametrize("data", [b"", b"garbage", b"<", b"\xff\xfe\x00",
                                  b'<?xml version="1.0" encoding="bogus"?><r/>'])
def test_unreadable_bytes_are_an_e2b_error_naming_the_line(data: bytes) -> None:
    with pytest.raises(E2BError) as err:
        parse_xml(data)
    assert err.value.where.startswith("line ")

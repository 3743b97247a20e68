"""Reading regulators' ACKs and writing ours."""

from __future__ import annotations

import pytest
from factories.e2b import example

from safety.e2b.ack import read_ack, write_ack
from safety.e2b.hl7 import E2BError
from safety.e2b.reader import read_batch


def test_positive_fda_ack() -> None:
    ack = read_ack(example("FDA_R3ack-positive.xml"))
    assert ack.code == "AA" and not ack.rejected
    assert ack.target_batch_id == "FAERS2022Scenario1-4069-a2dd-08002b30309d"
    (m,) = ack.messages
    assert m.accepted and m.text == "Report Loaded Successfully"
    assert m.matches("21ec1492-3aea-4069-a2ab-08002b30309d")
    assert not m.matches("21ec1492")


def test_negative_ack_round_trip_carries_reasons() -> None:
    received = read_batch(example("FAERS2022Scenario1.xml"))
    mid = received[0].header.message_id or ""
    xml = write_ack(received, our_id="SAFETYDESK", verdicts={mid: "CR"},
                    reasons={mid: "E.i.7: outcome missing"})
    ack = read_ack(xml)
    assert ack.code == "AR" and ack.rejected
    assert ack.target_batch_id == received[0].header.batch_id
    assert ack.messages[0].code == "CR"
    assert ack.messages[0].text == "E.i.7: outcome missing"
    assert ack.messages[0].matches(mid)
    assert ack.receiver == received[0].header.batch_sender


def test_accepting_ack_is_aa() -> None:
    received = read_batch(example("ICH-ref-like_HC-B7890123_followup.xml"))
    ack = read_ack(write_ack(received, our_id="SAFETYDESK"))
    assert ack.code == "AA" and [m.code for m in ack.messages] == ["CA"]


def test_bad_ack_codes_are_errors() -> None:
    data = example("FDA_R3ack-positive.xml")
    with pytest.raises(E2BError, match=r"ACK\.A\.4"):
        read_ack(data.replace(b'typeCode="AA"', b'typeCode="ZZ"'))
    with pytest.raises(E2BError, match=r"ACK\.B\.r\.6"):
        read_ack(data.replace(b'typeCode="CA"', b'typeCode="XX"'))
    with pytest.raises(E2BError, match="MCCI_IN200101UV01"):
        read_ack(example("FAERS2022Scenario1.xml"))
    with pytest.raises(ValueError, match="CA or CR"):
        write_ack(read_batch(example("FAERS2022Scenario1.xml")), our_id="X",
                  verdicts={"21ec1492-3aea-4069-a2ab-08002b30309d": "OK"})


def _paths(data: bytes) -> list[tuple[str, ...]]:
    from lxml import etree

    root = etree.fromstring(data)
    out = []
    for e in root.iter():
        if isinstance(e.tag, str):
            out.append(tuple(etree.QName(a).localname
                             for a in reversed([e, *e.iterancestors()])))
    return out


def _order(data: bytes) -> dict[tuple[str, ...], list[str]]:
    """Each parent path's children names, in document order, repeats collapsed."""
    from lxml import etree

    root = etree.fromstring(data)
    out: dict[tuple[str, ...], list[str]] = {}
    for e in root.iter():
        if not isinstance(e.tag, str):
            continue
        path = tuple(etree.QName(a).localname for a in reversed([e, *e.iterancestors()]))
        kids: list[str] = []
        for c in e:
            if isinstance(c.tag, str) and (not kids or kids[-1] != etree.QName(c).localname):
                kids.append(etree.QName(c).localname)
        out.setdefault(path, kids)
    return out


# ACK.A.2 (local message number), ACK.A.3 and ACK.B.r.5 (dates) are optional attention lines
OPTIONAL = {("MCCI_IN200101UV01", "attentionLine"),
            ("MCCI_IN200101UV01", "MCCI_IN000002UV01", "attentionLine")}


def _conforms_to_the_fda_example(ours: bytes, *, messages: bool = True) -> None:
    official = example("FDA_R3ack-positive.xml")
    allowed = set(_paths(official))
    mine = set(_paths(ours))
    assert mine <= allowed, sorted(mine - allowed)
    missing = {p for p in allowed - mine
               if not any(p[:len(o)] == o for o in OPTIONAL)
               and (messages or "MCCI_IN000002UV01" not in p)}
    assert not missing, sorted(missing)
    reference = _order(official)
    for parent, kids in _order(ours).items():
        expected = [k for k in reference[parent] if k in kids]
        assert kids == expected, (parent, kids, expected)


@pytest.mark.parametrize("name", ["FAERS2022Scenario1.xml", "FAERS2022Scenario7.xml",
                                  "ICH-ref-like_HC-B7890123_followup.xml"])
def test_our_acks_have_the_structure_of_the_official_ack(name: str) -> None:
    received = read_batch(example(name))
    _conforms_to_the_fda_example(write_ack(received, our_id="SAFETYDESK"))
    _conforms_to_the_fda_example(write_ack(received, our_id="SAFETYDESK",
                                           findings=[["WARNING x"]] * len(received)))


def test_findings_make_the_batch_ae_with_the_findings_as_message_text() -> None:
    received = read_batch(example("FAERS2022Scenario1.xml"))
    xml = write_ack(received, our_id="SAFETYDESK", ack_id="A-1", local_ids=["R-1"],
                    findings=[["G.k.9.i: productUseReference names no drug", "N.2.r.4: +05"]])
    ack = read_ack(xml)
    assert ack.code == "AE" and ack.ack_batch_id == "A-1"
    [m] = ack.messages
    assert m.code == "CA" and m.local_report_number == "R-1"
    assert m.text is not None and "G.k.9.i: productUseReference names no drug" in m.text
    assert "N.2.r.4: +05" in m.text


def test_a_rejection_ack_is_ar_with_the_reason_and_no_messages() -> None:
    from safety.e2b.ack import write_rejection_ack

    xml = write_rejection_ack(our_id="SAFETYDESK", partner="PARTNER1",
                              reason="line 1: malformed XML")
    ack = read_ack(xml)
    assert ack.code == "AR" and ack.messages == []
    assert ack.text == "line 1: malformed XML" and ack.receiver == "PARTNER1"
    _conforms_to_the_fda_example(xml, messages=False)

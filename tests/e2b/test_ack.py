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

"""E2B(R3) acknowledgements (MCCI_IN200101UV01): reading regulators' ACKs, writing our own.

Batch level: AA (accepted), AE (accepted with errors), AR (rejected). Message level: CA
(accepted) or CR (rejected), each with the receiver's text. A submission tracker needs only
plain data from this, so parsing returns dataclasses and never touches a database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from safety.cases.values import PartialDate
from safety.e2b.hl7 import HL7, NS, XSI, XSI_TYPE, E2BError, oids, parse_ts, parse_xml, q
from safety.e2b.reader import ImportedMessage

BATCH_CODES = ("AA", "AE", "AR")
MESSAGE_CODES = ("CA", "CR")


@dataclass(slots=True)
class MessageAck:
    """ACK.B.r: the receiver's verdict on one ICSR message."""

    target_message_id: str | None  # ACK.B.r.1 (FDA appends the case id after a space)
    code: str  # ACK.B.r.6: CA or CR
    text: str | None = None  # ACK.B.r.7
    local_report_number: str | None = None  # ACK.B.r.2
    message_created: PartialDate | None = None  # ACK.B.r.5

    @property
    def accepted(self) -> bool:
        return self.code == "CA"

    def matches(self, message_id: str) -> bool:
        """True when this ACK is for ``message_id`` (exactly or as its first token)."""
        target = self.target_message_id or ""
        return target == message_id or target.split(" ")[0] == message_id


@dataclass(slots=True)
class BatchAck:
    """ACK.A: the receiver's verdict on a whole batch, with its message ACKs."""

    ack_batch_id: str | None  # ACK.M.1
    target_batch_id: str | None  # ACK.A.1
    code: str  # ACK.A.4: AA, AE or AR
    text: str | None = None  # ACK.A.5
    sender: str | None = None  # ACK.M.2
    receiver: str | None = None  # ACK.M.3
    created: PartialDate | None = None  # ACK.M.4
    messages: list[MessageAck] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.code == "AR"


def _f(e: etree._Element | None, path: str) -> etree._Element | None:
    return None if e is None else e.find(path, NS)


def _attr(e: etree._Element | None, name: str) -> str | None:
    return None if e is None else e.get(name)


def _text(e: etree._Element | None) -> str | None:
    return e.text.strip() if e is not None and e.text and e.text.strip() else None


def read_ack(data: bytes) -> BatchAck:
    """Parse an ACK batch; raises :class:`E2BError` naming what is wrong."""
    root = parse_xml(data)
    if etree.QName(root).localname != "MCCI_IN200101UV01":
        raise E2BError("/" + etree.QName(root).localname,
                       "root element must be MCCI_IN200101UV01 (an acknowledgement batch)")
    ack = _f(root, "h:acknowledgement")
    code = _attr(ack, "typeCode")
    if code not in BATCH_CODES:
        raise E2BError("/MCCI_IN200101UV01/acknowledgement/@typeCode",
                       f"ACK.A.4 must be one of {', '.join(BATCH_CODES)}, not {code!r}")
    created = _f(root, "h:creationTime")
    batch = BatchAck(
        ack_batch_id=_attr(_f(root, "h:id"), "extension"),
        target_batch_id=_attr(_f(ack, "h:targetBatch/h:id"), "extension"),
        code=code,
        text=_text(_f(ack, "h:acknowledgementDetail/h:text")),
        sender=_attr(_f(root, "h:sender/h:device/h:id"), "extension"),
        receiver=_attr(_f(root, "h:receiver/h:device/h:id"), "extension"),
        created=parse_ts(created.get("value", ""), created) if created is not None
        and created.get("value") else None,
    )
    for i, m in enumerate(root.findall("h:MCCI_IN000002UV01", NS), start=1):
        mack = _f(m, "h:acknowledgement")
        mcode = _attr(mack, "typeCode")
        if mack is None or mcode not in MESSAGE_CODES:  # no acknowledgement: no code either
            raise E2BError(f"/MCCI_IN200101UV01/MCCI_IN000002UV01[{i}]/acknowledgement/@typeCode",
                           f"ACK.B.r.6 must be CA or CR, not {mcode!r}")
        texts = [t.text.strip() for t in mack.findall("h:acknowledgementDetail/h:text", NS)
                 if t.text and t.text.strip()]
        created_msg = None
        for line in m.findall("h:attentionLine", NS):
            if _attr(_f(line, "h:keyWordText"), "code") == "1":
                v = _f(line, "h:value")
                if v is not None and v.get("value"):
                    created_msg = parse_ts(v.get("value", ""), v)
        batch.messages.append(MessageAck(
            target_message_id=_attr(_f(mack, "h:targetMessage/h:id"), "extension"),
            code=mcode,
            text="\n".join(texts) or None,
            local_report_number=_attr(_f(m, "h:id"), "extension"),
            message_created=created_msg,
        ))
    return batch


def _el(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    e = etree.SubElement(parent, q(tag))
    for k, v in attrs.items():
        e.set(k, v)
    return e


def _device(parent: etree._Element, kind: str, root: str, ext: str) -> None:
    d = _el(_el(parent, kind, typeCode="RCV" if kind == "receiver" else "SND"), "device",
            classCode="DEV", determinerCode="INSTANCE")
    _el(d, "id", extension=ext, root=root)


# ACK.B.r.7 and ACK.A.5 are free text; a very long list of findings is cut, saying so.
MAX_TEXT = 4000


def _joined(lines: list[str]) -> str:
    text = "\n".join(lines)
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT - 40].rsplit("\n", 1)[0] + "\n... (more findings, cut)"


def write_ack(received: list[ImportedMessage], *, our_id: str, verdicts: dict[str, str] | None
              = None, reasons: dict[str, str] | None = None, batch_text: str | None = None,
              now: datetime | None = None, findings: list[list[str]] | None = None,
              ack_id: str | None = None, local_ids: list[str] | None = None) -> bytes:
    """The ACK for a batch we received: CA for each message unless ``verdicts`` says CR.

    ``verdicts``/``reasons`` are keyed by the received message id (N.2.r.1); ``findings``
    (one list per received message, in order) are what was found wrong in a message that was
    nevertheless accepted: they become its ACK.B.r.7 text. The batch code (ACK.A.4) is AA
    when every message is accepted without findings, AR when none is accepted, AE otherwise.
    ``ack_id`` (ACK.M.1) and ``local_ids`` (ACK.B.r.2, e.g. our report ids) make the ACK
    reproducible; random ids are used without them.
    """
    if not received:
        raise ValueError("an acknowledgement needs the received messages")
    verdicts = verdicts or {}
    reasons = reasons or {}
    found = findings or [[] for _ in received]
    a = oids()["ack"]
    ts = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%z")
    head = received[0].header
    codes = [verdicts.get(m.header.message_id or "", "CA") for m in received]
    for c in codes:
        if c not in MESSAGE_CODES:
            raise ValueError(f"message verdict must be CA or CR, not {c!r}")
    batch_code = "AA" if all(c == "CA" for c in codes) and not any(found) else (
        "AR" if all(c == "CR" for c in codes) else "AE")
    root = etree.Element(q("MCCI_IN200101UV01"), nsmap={None: HL7, "xsi": XSI})
    root.set("ITSVersion", "XML_1.0")
    _el(root, "id", extension=ack_id or str(uuid.uuid4()), root=a["batch"])
    _el(root, "creationTime", value=ts)
    _el(root, "responseModeCode", code="D")
    _el(root, "interactionId", extension="MCCI_IN200101UV01", root=oids()["hl7_interaction"])
    for i, (m, code) in enumerate(zip(received, codes, strict=True)):
        mm = _el(root, "MCCI_IN000002UV01")
        _el(mm, "id", extension=local_ids[i] if local_ids else str(uuid.uuid4()),
            root=a["local_report"])
        _el(mm, "creationTime", value=ts)
        _el(mm, "interactionId", extension="MCCI_IN000002UV01", root=oids()["hl7_interaction"])
        _el(mm, "processingCode", code="P")
        _el(mm, "processingModeCode", code="T")
        _el(mm, "acceptAckCode", code="NE")
        _device(mm, "receiver", a["message_receiver"], m.header.message_sender or "")
        _device(mm, "sender", a["message_sender"], our_id)
        if m.header.message_created is not None:
            line = _el(mm, "attentionLine")
            _el(line, "keyWordText", code="1", codeSystem=a["keywords"])
            v = _el(line, "value", value=m.header.message_created.to_hl7())
            v.set(XSI_TYPE, "TS")
        ack = _el(mm, "acknowledgement", typeCode=code)
        _el(_el(ack, "targetMessage"), "id", extension=m.header.message_id or "",
            root=oids()["id"]["message"])
        text = reasons.get(m.header.message_id or "") or (
            "ICSR accepted" if code == "CA" else "ICSR rejected")
        if found[i]:
            text = _joined([f"{text} with {len(found[i])} finding(s):", *found[i]])
        _el(_el(ack, "acknowledgementDetail"), "text").text = text
    _device(root, "receiver", a["batch_receiver"], head.batch_sender or "")
    _device(root, "sender", a["batch_sender"], our_id)
    if head.batch_created is not None:
        line = _el(root, "attentionLine")
        _el(line, "keyWordText", code="3", codeSystem=a["keywords"])
        v = _el(line, "value", value=head.batch_created.to_hl7())
        v.set(XSI_TYPE, "TS")
    ack = _el(root, "acknowledgement", typeCode=batch_code)
    _el(_el(ack, "targetBatch"), "id", extension=head.batch_id or "", root=oids()["id"]["batch"])
    _el(_el(ack, "acknowledgementDetail"), "text").text = batch_text or (
        "some ICSRs rejected" if batch_code == "AE" and "CR" in codes
        else "all ICSRs accepted, with findings (see each message)" if batch_code == "AE"
        else {"AA": "all ICSRs accepted", "AR": "all ICSRs rejected"}[batch_code])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_rejection_ack(*, our_id: str, partner: str | None, reason: str,
                        target_batch_id: str | None = None, ack_id: str | None = None,
                        now: datetime | None = None) -> bytes:
    """The ACK for a document that could not be read as an ICSR batch: AR (ACK.A.4) with the
    reason (ACK.A.5) and no message acknowledgements (ACK.B is given only for a batch that
    was read). ``target_batch_id`` (ACK.A.1) when it could be found; ``partner`` is the
    sender we answer (ACK.M.3)."""
    a = oids()["ack"]
    ts = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%z")
    root = etree.Element(q("MCCI_IN200101UV01"), nsmap={None: HL7, "xsi": XSI})
    root.set("ITSVersion", "XML_1.0")
    _el(root, "id", extension=ack_id or str(uuid.uuid4()), root=a["batch"])
    _el(root, "creationTime", value=ts)
    _el(root, "responseModeCode", code="D")
    _el(root, "interactionId", extension="MCCI_IN200101UV01", root=oids()["hl7_interaction"])
    _device(root, "receiver", a["batch_receiver"], partner or "")
    _device(root, "sender", a["batch_sender"], our_id)
    ack = _el(root, "acknowledgement", typeCode="AR")
    target = _el(_el(ack, "targetBatch"), "id", root=oids()["id"]["batch"])
    if target_batch_id:
        target.set("extension", target_batch_id)
    else:
        target.set("nullFlavor", "UNK")
    _el(_el(ack, "acknowledgementDetail"), "text").text = _joined([reason])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

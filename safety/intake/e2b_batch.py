"""E2B(R3) batches from partners: each ICSR message in a batch becomes one report.

The partner's identifiers are kept as they came: the sender is the message sender (N.2.r.2),
the sender's case id is C.1.1, and the worldwide unique case id C.1.8.1 travels inside the
case data so follow-ups and duplicates can be linked by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from safety.cases.codec import case_to_json
from safety.cases.values import NullFlavor
from safety.e2b.conformance import (
    Finding,
    Walks,
    check,
    check_tree,
    element_numbers,
    numbered,
    walks_of,
)
from safety.e2b.hl7 import parse_xml
from safety.e2b.reader import MessageHeader, ReadFinding, read_batch

# Inbound messages are checked against the ICH core rules (whatever their destination, ours
# is not theirs): what breaks them is a finding, never a reason to refuse the message.
INBOUND_PROFILE = "ich"
_MESSAGE = re.compile(r"^/MCCI_IN200100UV01/PORR_IN049016UV(?:\[(\d+)\])?(?:/|$)")


@dataclass(frozen=True)
class E2BMessage:
    index: int
    message_id: str | None
    sender: str
    sender_case_id: str | None
    payload: dict[str, Any]
    worldwide_case_id: str | None = None  # C.1.8.1, when given (not null-flavoured)


def _header_json(h: MessageHeader) -> dict[str, Any]:
    return {
        "batch_id": h.batch_id, "batch_sender": h.batch_sender,
        "batch_receiver": h.batch_receiver,
        "batch_created": h.batch_created.isoformat() if h.batch_created else None,
        "message_id": h.message_id, "message_sender": h.message_sender,
        "message_receiver": h.message_receiver,
        "message_created": h.message_created.isoformat() if h.message_created else None,
        "processing_mode": h.processing_mode,
    }


def split_batch(data: bytes) -> list[E2BMessage]:
    """Parse a batch safely (see ``safety.e2b.hl7.parse_xml``); raises ``E2BError`` only for
    what is not an ICSR batch. What the reader could not place is in each payload's
    ``findings`` (the report's findings once processed)."""
    out = []
    # Parsed once, walked once: the reader, the element numbers and the conformance checker
    # share the tree (each parsed the batch again before; storing a migration's E2B files
    # spent most of its time here).
    root = parse_xml(data)
    messages = read_batch(data, root)
    walks = walks_of(root)
    numbers = element_numbers(root, walks=walks)
    checked = conformance_findings(data, len(messages), numbers, root=root, walks=walks)
    for i, msg in enumerate(messages):
        h = msg.header
        c11 = msg.case.admin.sender_safety_report_id
        c181 = msg.case.admin.worldwide_case_id
        out.append(E2BMessage(
            index=i,
            message_id=h.message_id,
            sender=f"e2b:{h.message_sender or h.batch_sender or 'unknown'}",
            sender_case_id=c11 if isinstance(c11, str) and not isinstance(c11, NullFlavor)
            else None,
            payload={"header": _header_json(h), "index": i, "count": len(messages),
                     "case": case_to_json(msg.case),
                     "findings": [_read_finding(finding, numbers)
                                  for finding in msg.findings] + checked[i]},
            worldwide_case_id=c181 if isinstance(c181, str)
            and not isinstance(c181, NullFlavor) else None,
        ))
    return out


def _read_finding(f: ReadFinding, numbers: dict[str, str]) -> dict[str, str]:
    """A reader's finding as a report finding, naming its element number where the XPath
    locates one."""
    out = f.as_dict()
    if f.element == "-" and f.xpath in numbers:
        out["criterion"] = numbers[f.xpath]
    return out


def conformance_findings(data: bytes, count: int, numbers: dict[str, str] | None = None, *,
                         root: etree._Element | None = None, walks: Walks | None = None
                         ) -> list[list[dict[str, str]]]:
    """The ICH conformance findings of a batch of ``count`` messages, per message (a finding
    of the batch wrapper goes to every message), as report findings: an unknown element, a
    code not in its list, a value too long, ... each kept for the team and the ACK, naming
    the element's XPath and (where the tables locate it) its number."""
    out: list[list[dict[str, str]]] = [[] for _ in range(count)]
    found = (check(data, INBOUND_PROFILE, inbound=True) if root is None
             else check_tree(root, INBOUND_PROFILE, inbound=True, walks=walks))
    for finding in numbered(found, numbers or {}):
        match = _MESSAGE.match(finding.xpath)
        targets = range(count) if match is None else [int(match.group(1) or 1) - 1]
        for i in targets:
            if 0 <= i < count:
                out[i].append(_as_report_finding(finding))
    return out


def _as_report_finding(f: Finding) -> dict[str, str]:
    return {"code": f"e2b-{f.rule}", "criterion": f.element, "xpath": f.xpath,
            "message": f"{f.severity}: {f.message} (at {f.xpath})"}

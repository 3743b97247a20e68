"""A canonical, order-insensitive view of the data element values of an E2B(R3) message.

Used to prove round-trip fidelity: two messages carry the same data when their canonical views
are equal. Each value-bearing element becomes ``(path, attributes, text)`` where the path names
element tags and, for HL7 acts, the act's own ``code`` (``observation[34]`` is "results in
death", ``observation[21]`` "life threatening"), so a value cannot silently move to another
element. Structural HL7 attributes (class/mood/type/determiner codes), display names and the
versions of ICH code lists are not data element values and are left out, as are the message
identifier and creation time (N.2.r.1, N.2.r.4), which every transmission renews.
"""

from __future__ import annotations

from collections import Counter

from lxml import etree

from safety.e2b.hl7 import HL7, XSI_TYPE, parse_xml

_VALUE_ATTRS = ("value", "code", "codeSystem", "codeSystemVersion", "extension", "root",
                "nullFlavor", "unit", "language", "mediaType", "assigningAuthorityName",
                "operator", "inclusive", XSI_TYPE)
_CARRIERS = ("value", "code", "extension", "root", "nullFlavor", "unit")
_ICH_LISTS = "2.16.840.1.113883.3.989.2.1.1."
_RENEWED = ("id", "creationTime")

Entry = tuple[str, tuple[tuple[str, str], ...], str]


def _step(e: etree._Element) -> str:
    tag = etree.QName(e).localname
    code = e.find(f"{{{HL7}}}code")
    if code is not None and code.get("code") and len(e) > 1:
        return f"{tag}[{code.get('code')}]"
    return tag


def message_values(msg: etree._Element) -> Counter[Entry]:
    """The canonical data values of one PORR_IN049016UV element."""
    out: Counter[Entry] = Counter()

    def walk(e: etree._Element, path: str) -> None:
        for c in e:
            if not isinstance(c.tag, str):
                continue
            tag = etree.QName(c).localname
            if e is msg and tag in _RENEWED:
                continue
            p = f"{path}/{_step(c)}"
            attrs = {k: v for k, v in c.attrib.items() if k in _VALUE_ATTRS}
            if "codeSystemVersion" in attrs and attrs.get("codeSystem", "").startswith(_ICH_LISTS):
                del attrs["codeSystemVersion"]
            txt = (c.text or "").strip()
            if txt or any(k in attrs for k in _CARRIERS):
                key = tuple(sorted(("xsi:type" if k == XSI_TYPE else k, v)
                                   for k, v in attrs.items()))
                out[(p, key, txt)] += 1
            walk(c, p)

    walk(msg, "")
    return out


def batch_values(data: bytes) -> list[Counter[Entry]]:
    """Canonical values of each message of a batch, in message order."""
    root = parse_xml(data)
    return [message_values(m) for m in root.findall(f"{{{HL7}}}PORR_IN049016UV")]


def difference(a: Counter[Entry], b: Counter[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(only in a, only in b), sorted for readable test failures."""
    return sorted((a - b).elements()), sorted((b - a).elements())


_N_HEADER = ("id", "creationTime", "receiver", "sender", "interactionId", "processingCode",
             "processingModeCode", "acceptAckCode")
_SENDER_BLOCK = "/subjectOf1/controlActEvent/author"  # C.3


def clinical_values(msg: etree._Element) -> tuple[Counter[Entry], set[tuple[str, str]]]:
    """The clinical content of one PORR_IN049016UV element, stricter than
    :func:`message_values`: every value attribute is kept, including the ``codeSystemVersion``
    of ICH code lists, but the message header (N.2.r), the sender block (C.3) and display
    names are left out. ICH code list versions are returned apart, as the set of
    (list OID, version) pairs the message declares: a list's version is a property of the
    vocabulary the message uses, not of each element (senders put it on some codes only).
    """
    out: Counter[Entry] = Counter()
    versions: set[tuple[str, str]] = set()

    def walk(e: etree._Element, path: str) -> None:
        for c in e:
            if not isinstance(c.tag, str):
                continue
            tag = etree.QName(c).localname
            if e is msg and tag in _N_HEADER:
                continue
            p = f"{path}/{_step(c)}"
            if _SENDER_BLOCK in p:
                continue
            attrs = {k: v for k, v in c.attrib.items() if k in _VALUE_ATTRS}
            system = attrs.get("codeSystem", "")
            if "codeSystemVersion" in attrs and system.startswith(_ICH_LISTS):
                versions.add((system, attrs.pop("codeSystemVersion")))
            txt = (c.text or "").strip()
            if txt or any(k in attrs for k in _CARRIERS):
                key = tuple(sorted(("xsi:type" if k == XSI_TYPE else k, v)
                                   for k, v in attrs.items()))
                out[(p, key, txt)] += 1
            walk(c, p)

    walk(msg, "")
    return out, versions


def batch_clinical_values(data: bytes) -> list[tuple[Counter[Entry], set[tuple[str, str]]]]:
    """:func:`clinical_values` of each message of a batch, in message order."""
    root = parse_xml(data)
    return [clinical_values(m) for m in root.findall(f"{{{HL7}}}PORR_IN049016UV")]

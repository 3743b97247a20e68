"""HL7 v3 plumbing shared by the E2B(R3) reader, writer, checker and ACK modules.

Partners' files are untrusted: parsing never loads a DTD, never expands entities, never touches
the network and refuses oversized input, so a hostile file can neither exfiltrate local files
(XXE) nor exhaust memory (billion laughs).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

from safety.cases.values import NullFlavor, PartialDate, PartialDateError

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"h": HL7, "xsi": XSI}
XSI_TYPE = f"{{{XSI}}}type"
MAX_BYTES = 50 * 1024 * 1024

_TS_RE = re.compile(r"^\d{4}(\d{2}){0,5}(\.\d+)?([+-]\d{4})?$")


class E2BError(ValueError):
    """A file that cannot be read as E2B(R3); ``where`` locates the problem (element or line)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


@cache
def oids() -> dict[str, Any]:
    """The OID/code tables (data file with its source cited inside)."""
    text = resources.files("safety.e2b").joinpath("data/oids.json").read_text("utf-8")
    tables: dict[str, Any] = json.loads(text)  # an OID, or a table of OIDs or codes by name
    return tables


@cache
def destinations() -> dict[str, dict[str, str]]:
    text = resources.files("safety.e2b").joinpath("data/destinations.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def oid(kind: str, name: str) -> str:
    table: dict[str, str] = oids()[kind]
    return table[name]


@cache
def clark(path: str) -> str:
    """``h:a/h:b`` as ``{urn:hl7-org:v3}a/{urn:hl7-org:v3}b``.

    lxml caches compiled ElementPath expressions only when no namespace map is passed, so
    Clark notation makes repeated ``find`` calls several times faster.
    """
    return path.replace("h:", f"{{{HL7}}}")


def q(tag: str) -> str:
    return f"{{{HL7}}}{tag}"


def _parser(*, recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True, recover=recover,
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse untrusted XML bytes; raises :class:`E2BError` with the line of a syntax error.

    The parser resolves no entity, loads no DTD and opens no connection; then any document
    with a document type declaration is refused, found in the parsed document (whatever its
    encoding, wherever the declaration stands), not by looking for bytes: E2B(R3) messages
    have none, and an entity declared in one would otherwise be dropped silently, cutting the
    text that referred to it. A document the declaration made unreadable (an entity in an
    attribute, an undeclared one) is refused for its DOCTYPE too, the reason that matters.
    """
    if len(data) > max_bytes:
        raise E2BError("file", f"{len(data)} bytes exceeds the limit of {max_bytes} bytes")
    try:
        root = etree.fromstring(data, _parser())
    except etree.ParseError as exc:
        try:
            _refuse_doctype(etree.fromstring(data, _parser(recover=True)))
        except etree.ParseError:
            pass  # nothing to recover (an empty document): the syntax error is the reason
        raise E2BError(f"line {exc.lineno}", f"malformed XML: {exc.msg}") from None
    _refuse_doctype(root)
    return root


def _refuse_doctype(root: etree._Element | None) -> None:
    if root is None:
        return
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise E2BError("file", "DOCTYPE/ENTITY declarations are not allowed in E2B messages "
                               f"(found <!DOCTYPE {docinfo.root_name[:60]}>)")


def null_flavor(el: etree._Element | None) -> NullFlavor | None:
    if el is None:
        return None
    nf = el.get("nullFlavor")
    if nf is None:
        return None
    try:
        return NullFlavor(nf)
    except ValueError:
        raise E2BError(path_of(el), f"unknown nullFlavor {nf!r}") from None


def path_of(e: etree._Element) -> str:
    """XPath of an element with local names and 1-based positions among same-named siblings."""
    steps = []
    node: etree._Element | None = e
    while node is not None:
        parent = node.getparent()
        name = etree.QName(node).localname
        if parent is None:
            steps.append(name)
        else:
            same = [c for c in parent if c.tag == node.tag]
            steps.append(f"{name}[{same.index(node) + 1}]" if len(same) > 1 else name)
        node = parent
    return "/" + "/".join(reversed(steps))


def paths_under(root: etree._Element) -> dict[etree._Element, str]:
    """:func:`path_of` of every element under ``root`` (itself included), in one pass down
    the tree: each element's siblings are counted once per parent rather than once per
    element and ancestor (``path_of`` of every node of a batch was a fifth of storing an E2B
    file). The paths are the same as :func:`path_of` gives for a tree whose root is
    ``root``."""
    out: dict[etree._Element, str] = {}
    parent = root.getparent()
    out[root] = path_of(root) if parent is not None else "/" + etree.QName(root).localname
    stack = [root]
    while stack:
        node = stack.pop()
        base = out[node]
        children = [c for c in node if isinstance(c.tag, str)]
        counts: dict[object, int] = {}
        for c in children:
            counts[c.tag] = counts.get(c.tag, 0) + 1
        seen: dict[object, int] = {}
        for c in children:
            name = str(c.tag).rpartition("}")[2]  # the local name of a Clark name
            if counts[c.tag] > 1:
                seen[c.tag] = seen.get(c.tag, 0) + 1
                out[c] = f"{base}/{name}[{seen[c.tag]}]"
            else:
                out[c] = f"{base}/{name}"
            stack.append(c)
    return out


def parse_ts(value: str, el: etree._Element | None = None) -> PartialDate:
    """An HL7 TS value to a PartialDate of the same precision."""
    try:
        return PartialDate.parse_hl7(value)
    except PartialDateError as exc:
        where = path_of(el) if el is not None else "date"
        raise E2BError(where, str(exc)) from None


def is_hl7_ts(value: str) -> bool:
    return bool(_TS_RE.match(value))


def fmt_number(v: float) -> str:
    """Numbers as E2B shows them: no trailing ``.0`` on integral values."""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


ICH_CODE_LISTS = "2.16.840.1.113883.3.989.2.1.1."  # prefix of the OIDs of the ICH code lists

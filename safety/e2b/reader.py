"""Import of E2B(R3) batches (MCCI_IN200100UV01 holding PORR_IN049016UV messages).

Every message becomes a :class:`CaseVersionData` plus the transmission header it came with.
Null flavours are kept as :class:`NullFlavor`, dates keep the precision they were sent with, and
drug-reaction assessments are re-attached to drugs and reactions through the UUIDs carried in
``productUseReference``/``adverseEffectReference`` so that the matrix survives the trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from lxml import etree

from safety.cases.model import (
    Admin,
    Assessment,
    CaseVersionData,
    CodedTerm,
    CodeListVersion,
    Death,
    Document,
    Dosage,
    Drug,
    DrugReaction,
    FdaDevice,
    Flag,
    MedicalHistory,
    Narrative,
    OtherCaseId,
    Parent,
    PastDrug,
    Patient,
    Quantity,
    Reaction,
    Reporter,
    Sender,
    Seriousness,
    Study,
    StudyRegistration,
    Substance,
    Summary,
    TestResult,
    Text,
)
from safety.cases.values import NullFlavor, PartialDate
from safety.e2b.hl7 import (
    ICH_CODE_LISTS,
    NS,
    XSI_TYPE,
    E2BError,
    clark,
    oid,
    parse_ts,
    parse_xml,
    path_of,
)
from safety.e2b.hl7 import null_flavor as strict_null_flavor

Date = PartialDate | NullFlavor | None


@dataclass(slots=True)
class MessageHeader:
    """N.1 batch and N.2.r message wrapper values of one imported message."""

    batch_id: str | None = None  # N.1.2
    batch_sender: str | None = None  # N.1.3
    batch_receiver: str | None = None  # N.1.4
    batch_created: PartialDate | None = None  # N.1.5
    message_id: str | None = None  # N.2.r.1
    message_sender: str | None = None  # N.2.r.2
    message_receiver: str | None = None  # N.2.r.3
    message_created: PartialDate | None = None  # N.2.r.4
    processing_mode: str | None = None  # processingModeCode (T current, I initial load)


@dataclass(frozen=True, slots=True)
class ReadFinding:
    """A problem met while reading a message that did not stop it being read: the value
    concerned was kept as far as it could be placed (or, when it could not, is named here, so
    nothing is lost silently; the raw message is stored with the report)."""

    element: str  # data element number, e.g. "N.1.5", or "-" when the position has none
    xpath: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The shape of a report's findings (``code``, ``criterion``, ``message``)."""
        return {"code": "e2b-read", "criterion": self.element, "xpath": self.xpath,
                "message": f"{self.message} (at {self.xpath})"}

    def __str__(self) -> str:
        return f"WARNING {self.element} [read] {self.message} at {self.xpath}"


@dataclass(slots=True)
class ImportedMessage:
    header: MessageHeader
    case: CaseVersionData
    findings: list[ReadFinding] = field(default_factory=list)


# The findings of the message being read. Reading is tolerant: a value that cannot be read as
# its data type becomes a finding and the rest of the message is still read.
_FINDINGS: ContextVar[list[ReadFinding] | None] = ContextVar("e2b_read_findings", default=None)


@contextmanager
def _collecting() -> Iterator[list[ReadFinding]]:
    found: list[ReadFinding] = []
    token = _FINDINGS.set(found)
    try:
        yield found
    finally:
        _FINDINGS.reset(token)


def problem(el: etree._Element | str, message: str, element: str = "-") -> None:
    """Note a problem with ``el`` (an element or its XPath); outside a read (``_collecting``)
    it is an :class:`E2BError`."""
    where = el if isinstance(el, str) else path_of(el)
    found = _FINDINGS.get()
    if found is None:
        raise E2BError(where, message)
    found.append(ReadFinding(element, where, message))


def null_flavor(el: etree._Element | None) -> NullFlavor | None:
    """The element's null flavour; an unknown one is a finding and reads as no value."""
    try:
        return strict_null_flavor(el)
    except E2BError as exc:
        problem(exc.where, f"{exc.reason}: read as no value")
        return None


def _cs(name: str) -> str:
    return oid("cs", name)


def _obs(name: str) -> str:
    return oid("observation_codes", name)


def f(el: etree._Element | None, path: str) -> etree._Element | None:
    if el is None:
        return None
    return el.find(clark(path))


def fa(el: etree._Element | None, path: str) -> list[etree._Element]:
    if el is None:
        return []
    return el.findall(clark(path))


def text(el: etree._Element | None) -> str | NullFlavor | None:
    if el is None:
        return None
    nf = null_flavor(el)
    if nf is not None:
        return nf
    return el.text if el.text is not None and el.text != "" else None


def plain(el: etree._Element | None) -> str | None:
    v = text(el)
    return v if isinstance(v, str) and not isinstance(v, NullFlavor) else None


def attr(el: etree._Element | None, name: str) -> str | None:
    return None if el is None else el.get(name)


def code_or_nf(el: etree._Element | None) -> str | NullFlavor | None:
    if el is None:
        return None
    nf = null_flavor(el)
    return nf if nf is not None else el.get("code")


def bl(el: etree._Element | None) -> bool | NullFlavor | None:
    if el is None:
        return None
    nf = null_flavor(el)
    if nf is not None:
        return nf
    v = el.get("value")
    if v is None:
        return None
    if v not in ("true", "false"):
        problem(el, f"boolean value must be true or false, not {v!r}: read as no value")
        return None
    return v == "true"


def ts(el: etree._Element | None) -> Date:
    if el is None:
        return None
    nf = null_flavor(el)
    if nf is not None:
        return nf
    v = el.get("value")
    return tolerant_ts(v, el) if v else None


_HOURS_OFFSET = re.compile(r"^(?P<ts>\d{4,14}(?:\.\d+)?)(?P<offset>[+-]\d{2})$")
_ISO_LIKE = re.compile(r"^(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
                       r"(?:[T ](?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?)?)?)?"
                       r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$")


def tolerant_ts(value: str, el: etree._Element) -> PartialDate | None:
    """An HL7 TS value; a UTC offset given in hours only (``+05``) and an ISO 8601 date with
    separators are read, with a finding, as the time they plainly mean; what cannot be read
    as a date at all is a finding and no value."""
    try:
        return parse_ts(value, el)
    except E2BError as exc:
        error = exc
    hours = _HOURS_OFFSET.match(value.strip())
    if hours:
        fixed = f"{hours['ts']}{hours['offset']}00"
        try:
            read = parse_ts(fixed, el)
        except E2BError:
            pass
        else:
            problem(el, f"UTC offset {hours['offset']!r} given in hours only (HL7 TS needs "
                        f"+/-HHMM): read as {fixed}")
            return read
    iso = _ISO_LIKE.match(value.strip())
    if iso:
        tz = iso["tz"]
        offset = "" if tz is None else "+0000" if tz == "Z" else \
            (tz.replace(":", "") + "00")[:5]
        fixed = "".join(p for p in (iso["y"], iso["mo"], iso["d"], iso["h"], iso["mi"],
                                    iso["s"]) if p) + (offset if iso["h"] else "")
        try:
            read = parse_ts(fixed, el)
        except E2BError:
            pass
        else:
            problem(el, f"date {value!r} is not in HL7 TS form (CCYYMMDDHHMMSS): read as "
                        f"{fixed}")
            return read
    problem(el, f"{error.reason}: read as no value")
    return None


def num(value: str | None, el: etree._Element) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        problem(el, f"{value!r} is not a number: read as no value")
        return None


def pq(el: etree._Element | None) -> Quantity | None:
    if el is None or (el.get("value") is None and el.get("unit") is None):
        return None
    return Quantity(num(el.get("value"), el), el.get("unit"))


def number(el: etree._Element | None) -> float | NullFlavor | None:
    if el is None:
        return None
    nf = null_flavor(el)
    return nf if nf is not None else num(el.get("value"), el)


def meddra(el: etree._Element | None, verbatim: etree._Element | None = None) -> CodedTerm:
    term = CodedTerm()
    if el is not None:
        nf = null_flavor(el)
        if nf is None and el.get("code"):
            term.code = el.get("code")
            term.version = el.get("codeSystemVersion")
            cs = el.get("codeSystem")
            term.family = "MedDRA" if cs == _cs("meddra") else cs
            term.level = "LLT"
            term.method = "e2b"
        elif nf is not None:
            term.verbatim = nf
        ot = f(el, "h:originalText") if verbatim is None else verbatim
        if ot is not None and not isinstance(term.verbatim, NullFlavor):
            term.verbatim = text(ot)
    return term


def by_code(els: list[etree._Element], child: str, code: str,
            cs: str | None = None) -> list[etree._Element]:
    out: list[etree._Element] = []
    for e in els:
        c = f(e, f"{child}/h:code")
        if c is not None and c.get("code") == code and (cs is None or c.get("codeSystem") == cs):
            found = f(e, child)
            if found is not None:  # always: the code was found under such a child
                out.append(found)
    return out


def obs_value(container: etree._Element | None, rel: str, code: str,
              cs: str | None = None) -> etree._Element | None:
    """The ``value`` of the first ``rel/observation`` with the given observation code."""
    cs = cs or _cs("observation")
    for o in by_code(fa(container, rel), "h:observation", code, cs):
        return f(o, "h:value")
    return None


def read_batch(data: bytes, root: etree._Element | None = None) -> list[ImportedMessage]:
    """Parse an E2B(R3) ICSR batch into (header, case, findings) per message (``root``: the
    batch already parsed from ``data`` by ``parse_xml``, which this only reads).

    Tolerant: raises :class:`E2BError` only for what is not an ICSR batch at all (not XML, a
    DOCTYPE, another root element, no message, a message without its case); every other
    problem is a :class:`ReadFinding` of the message, and the values around it are read."""
    if root is None:
        root = parse_xml(data)
    if etree.QName(root).localname != "MCCI_IN200100UV01" or etree.QName(root).namespace != NS["h"]:
        raise E2BError(
            f"/{etree.QName(root).localname}",
            "root element must be urn:hl7-org:v3 MCCI_IN200100UV01 (an ICSR batch)",
        )
    batch = MessageHeader(
        batch_id=attr(f(root, "h:id"), "extension"),
        batch_sender=attr(f(root, "h:sender/h:device/h:id"), "extension"),
        batch_receiver=attr(f(root, "h:receiver/h:device/h:id"), "extension"),
    )
    with _collecting() as batch_findings:
        created = f(root, "h:creationTime")
        if created is not None and created.get("value"):
            batch.batch_created = _header_ts(created, "N.1.5")
    messages = fa(root, "h:PORR_IN049016UV")
    if not messages:
        raise E2BError("/MCCI_IN200100UV01", "the batch holds no PORR_IN049016UV message")
    out = []
    for m in messages:
        with _collecting() as found:
            message = _read_message(m, batch)
        message.findings = [*batch_findings, *found]
        out.append(message)
    return out


def _header_ts(el: etree._Element, element: str) -> PartialDate | None:
    """A creation time (N.1.5, N.2.r.4): its findings name the data element."""
    before = _FINDINGS.get()
    with _collecting() as found:
        value = tolerant_ts(el.get("value", ""), el)
    for finding in found:
        if before is None:
            raise E2BError(finding.xpath, finding.message)
        before.append(ReadFinding(element, finding.xpath, finding.message))
    return value


def read_admin(data: bytes) -> Admin:
    """Section C.1 of a batch's first message only (report ids, dates, C.1.11): what a
    submission list needs, at a fraction of reading the whole case."""
    root = parse_xml(data)
    msg = f(root, "h:PORR_IN049016UV")
    cap = f(msg, "h:controlActProcess")
    inv = f(cap, "h:subject/h:investigationEvent")
    if inv is None:
        raise E2BError("/MCCI_IN200100UV01", "no PORR_IN049016UV message with an "
                       "investigationEvent in the batch")
    return _admin(cap, inv)


def _read_message(msg: etree._Element, batch: MessageHeader) -> ImportedMessage:
    header = MessageHeader(
        batch.batch_id, batch.batch_sender, batch.batch_receiver, batch.batch_created,
        message_id=attr(f(msg, "h:id"), "extension"),
        message_sender=attr(f(msg, "h:sender/h:device/h:id"), "extension"),
        message_receiver=attr(f(msg, "h:receiver/h:device/h:id"), "extension"),
    )
    header.processing_mode = attr(f(msg, "h:processingModeCode"), "code")
    mc = f(msg, "h:creationTime")
    if mc is not None and mc.get("value"):
        header.message_created = _header_ts(mc, "N.2.r.4")
    cap = f(msg, "h:controlActProcess")
    inv = f(cap, "h:subject/h:investigationEvent")
    if inv is None:
        raise E2BError(path_of(msg), "missing controlActProcess/subject/investigationEvent")
    case = CaseVersionData()
    case.admin = _admin(cap, inv)
    case.literature = _documents(inv, "2")
    case.reporters = _reporters(inv)
    case.sender = _sender(inv)
    case.code_list_versions = _code_list_versions(inv)
    aea = f(inv, "h:component/h:adverseEventAssessment")
    role = f(aea, "h:subject1/h:primaryRole")
    case.patient = _patient(role)
    case.study = _study(role)
    case.reactions = [_reaction(o) for o in by_code(fa(role, "h:subjectOf2"), "h:observation",
                                                     _obs("reaction"))]
    case.tests = [_test(o) for o in _organizer_items(role, "tests", "h:observation")]
    case.drugs = [_drug(s) for s in _organizer_items(role, "drugs", "h:substanceAdministration")]
    _causality(aea, case)
    case.narrative = _narrative(inv, aea)
    return ImportedMessage(header, case)


def _organizer_items(role: etree._Element | None, name: str,
                     child: str) -> list[etree._Element]:
    out: list[etree._Element] = []
    code = oid("organizer_codes", name)
    for org in by_code(fa(role, "h:subjectOf2"), "h:organizer", code, _cs("organizer")):
        out.extend(fa(org, f"h:component/{child}"))
    return out


# --- C ---------------------------------------------------------------------------------------
def _admin(cap: etree._Element | None, inv: etree._Element) -> Admin:
    a = Admin()
    for i in fa(inv, "h:id"):
        if i.get("root") == oid("id", "case"):
            a.sender_safety_report_id = i.get("extension") or null_flavor(i)
        elif i.get("root") == oid("id", "worldwide_case"):
            a.worldwide_case_id = i.get("extension") or null_flavor(i)
    a.creation_date = ts(f(cap, "h:effectiveTime"))
    a.first_received = ts(f(inv, "h:effectiveTime/h:low"))
    a.most_recent_received = ts(f(inv, "h:availabilityTime"))
    a.documents = _documents(inv, "1")
    chars = fa(inv, "h:subjectOf2")
    cc = _cs("characteristic")
    for c in by_code(chars, "h:investigationCharacteristic", "1", cc):
        a.report_type = attr(f(c, "h:value"), "code")
    for c in by_code(chars, "h:investigationCharacteristic", "2", cc):
        a.other_case_ids_exist = bl(f(c, "h:value"))
    for c in by_code(chars, "h:investigationCharacteristic", "3", cc):
        a.nullification_code = attr(f(c, "h:value"), "code")
    for c in by_code(chars, "h:investigationCharacteristic", "4", cc):
        v = f(c, "h:value")
        a.nullification_reason = text(f(v, "h:originalText")) or null_flavor(v)
    comps = fa(inv, "h:component")
    for o in by_code(comps, "h:observationEvent", _obs("additional_documents"), _cs("observation")):
        a.additional_documents = bl(f(o, "h:value"))
    for o in by_code(comps, "h:observationEvent", _obs("expedited"), _cs("observation")):
        a.fulfils_expedited = bl(f(o, "h:value"))
    ncit = _cs("ncit")
    for o in by_code(comps, "h:observationEvent", oid("ncit_codes", "local_criteria_report_type"),
                     ncit):
        a.fda_local_criteria_report_type = attr(f(o, "h:value"), "code")
    for o in by_code(comps, "h:observationEvent", oid("ncit_codes", "combination_product"), ncit):
        a.fda_combination_product = bl(f(o, "h:value"))
    for rel in fa(inv, "h:outboundRelationship"):
        ri = f(rel, "h:relatedInvestigation")
        code = f(ri, "h:code")
        if code is None:
            continue
        if code.get("code") == "1" and code.get("codeSystem") == _cs("relation"):
            a.first_sender = attr(f(ri, "h:subjectOf2/h:controlActEvent/h:author/h:assignedEntity"
                                        "/h:code"), "code")
        elif code.get("nullFlavor") == "NA":
            linked = f(ri, "h:subjectOf2/h:controlActEvent/h:id")
            if linked is not None and linked.get("extension"):
                a.linked_report_ids.append(linked.get("extension", ""))
    for s in fa(inv, "h:subjectOf1/h:controlActEvent"):
        other = f(s, "h:id")
        if other is not None and other.get("root") == oid("id", "other_case"):
            a.other_case_ids.append(OtherCaseId(other.get("assigningAuthorityName"),
                                                other.get("extension") or null_flavor(other)))
    return a


def _documents(inv: etree._Element, code: str) -> list[Document]:
    docs = []
    for d in by_code(fa(inv, "h:reference"), "h:document", code, _cs("document")):
        t = f(d, "h:text")
        docs.append(Document(
            title=text(f(d, "h:title")),
            reference=text(f(d, "h:bibliographicDesignationText")),
            media_type=attr(t, "mediaType"),
            content_b64=plain(t),
        ))
    return docs


def _person_name(name: etree._Element | None) -> tuple[Text, Text, Text, Text]:
    given = fa(name, "h:given")
    return (
        text(f(name, "h:prefix")),
        text(given[0]) if given else None,
        text(given[1]) if len(given) > 1 else None,
        text(f(name, "h:family")),
    )


def _telecom(ent: etree._Element | None, scheme: str) -> str | NullFlavor | None:
    for t in fa(ent, "h:telecom"):
        nf = null_flavor(t)
        v = t.get("value", "")
        if nf is not None and v in (scheme, ""):
            # null-flavoured with its scheme kept in @value (FDA.C.2.r.2.8), or with no
            # value at all (a telephone, as the ICH examples send it)
            if v == scheme or scheme == "tel:":
                return nf
            continue
        if v.startswith(scheme):
            return v[len(scheme):]
    return None


def _reporters(inv: etree._Element) -> list[Reporter]:
    out = []
    for rel in fa(inv, "h:outboundRelationship"):
        code = f(rel, "h:relatedInvestigation/h:code")
        if code is None or code.get("code") != "2" or code.get("codeSystem") != _cs("relation"):
            continue
        ent = f(rel, "h:relatedInvestigation/h:subjectOf2/h:controlActEvent/h:author"
                     "/h:assignedEntity")
        r = Reporter()
        r.title, r.given_name, r.middle_name, r.family_name = _person_name(
            f(ent, "h:assignedPerson/h:name"))
        r.organisation = text(f(ent, "h:representedOrganization/h:assignedEntity"
                                     "/h:representedOrganization/h:name"))
        r.department = text(f(ent, "h:representedOrganization/h:name"))
        addr = f(ent, "h:addr")
        r.street = text(f(addr, "h:streetAddressLine"))
        r.city = text(f(addr, "h:city"))
        r.state = text(f(addr, "h:state"))
        r.postcode = text(f(addr, "h:postalCode"))
        r.telephone = _telecom(ent, "tel:")
        r.email = _telecom(ent, "mailto:")
        r.country = code_or_nf(f(ent, "h:assignedPerson/h:asLocatedEntity/h:location/h:code"))
        r.qualification = code_or_nf(f(ent, "h:assignedPerson/h:asQualifiedEntity/h:code"))
        prio = f(rel, "h:priorityNumber")
        r.primary_for_regulatory = True if prio is not None and prio.get("value") == "1" else None
        out.append(r)
    return out


def _code_list_versions(inv: etree._Element) -> list[CodeListVersion]:
    """The ICH code list versions the message declares, one per list (the first seen).

    Senders put ``codeSystemVersion`` on some codes of a list only; the version belongs to
    the list, so the case keeps it once and the writer repeats it on every code of the list.
    """
    seen: dict[str, str] = {}
    for e in inv.iter():
        system, version = e.get("codeSystem"), e.get("codeSystemVersion")
        if system and version and system.startswith(ICH_CODE_LISTS):
            seen.setdefault(system, version)
    return [CodeListVersion(s, v) for s, v in sorted(seen.items())]


def _sender(inv: etree._Element) -> Sender:
    s = Sender()
    for ce in fa(inv, "h:subjectOf1/h:controlActEvent"):
        # C.3 is the controlActEvent with an author; C.1.9.1.r (other case ids) have none
        ent = f(ce, "h:author/h:assignedEntity")
        if ent is None:
            continue
        s.type = attr(f(ent, "h:code"), "code")
        s.title, s.given_name, s.middle_name, s.family_name = _person_name(
            f(ent, "h:assignedPerson/h:name"))
        s.organisation = text(f(ent, "h:representedOrganization/h:assignedEntity"
                                     "/h:representedOrganization/h:name"))
        s.department = text(f(ent, "h:representedOrganization/h:name"))
        addr = f(ent, "h:addr")
        s.street = text(f(addr, "h:streetAddressLine"))
        s.city = text(f(addr, "h:city"))
        s.state = text(f(addr, "h:state"))
        s.postcode = text(f(addr, "h:postalCode"))
        s.country = code_or_nf(f(ent, "h:assignedPerson/h:asLocatedEntity/h:location/h:code"))
        s.telephone = _telecom(ent, "tel:")
        s.fax = _telecom(ent, "fax:")
        s.email = _telecom(ent, "mailto:")
    return s


def _study(role: etree._Element | None) -> Study | None:
    rs = f(role, "h:subjectOf1/h:researchStudy")
    if rs is None:
        return None
    st = Study()
    i = f(rs, "h:id")
    st.sponsor_study_number = (i.get("extension") or null_flavor(i)) if i is not None else None
    st.study_type = attr(f(rs, "h:code"), "code")
    st.name = text(f(rs, "h:title"))
    for reg in fa(rs, "h:authorization/h:studyRegistration"):
        rid = f(reg, "h:id")
        root = attr(rid, "root")
        ext = (rid.get("extension") or null_flavor(rid)) if rid is not None else None
        if root == oid("id", "fda_ind"):
            st.fda_ind_number = ext
        elif root == oid("id", "fda_pre_anda"):
            st.fda_pre_anda_number = ext
        elif root == oid("id", "fda_cross_ind"):
            if ext is not None:  # an IND, or nullFlavor NA: no other IND is cross-reported
                st.fda_cross_reported_inds.append(ext)
        else:
            country = code_or_nf(f(reg, "h:author/h:territorialAuthority/h:governingPlace/h:code"))
            st.registrations.append(StudyRegistration(ext, country))
    return st


# --- D ---------------------------------------------------------------------------------------
def _patient(role: etree._Element | None) -> Patient:
    p = Patient()
    if role is None:
        return p
    pl = f(role, "h:player1")
    p.initials = text(f(pl, "h:name"))
    p.sex = code_or_nf(f(pl, "h:administrativeGenderCode"))
    p.birth_date = ts(f(pl, "h:birthTime"))
    for ident in fa(pl, "h:asIdentifiedEntity"):
        i = f(ident, "h:id")
        val = (i.get("extension") or null_flavor(i)) if i is not None else None
        root = attr(i, "root")
        if root == oid("id", "gp_record"):
            p.gp_record_number = val
        elif root == oid("id", "specialist_record"):
            p.specialist_record_number = val
        elif root == oid("id", "hospital_record"):
            p.hospital_record_number = val
        elif root == oid("id", "investigation"):
            p.investigation_number = val
    subj = fa(role, "h:subjectOf2")
    p.age_at_onset = pq(obs_value(role, "h:subjectOf2", _obs("age")))
    p.gestation_period = pq(obs_value(role, "h:subjectOf2", _obs("gestation_period")))
    p.age_group = code_or_nf(obs_value(role, "h:subjectOf2", _obs("age_group")))
    p.weight_kg = number(obs_value(role, "h:subjectOf2", _obs("body_weight")))
    p.height_cm = number(obs_value(role, "h:subjectOf2", _obs("height")))
    p.last_menstrual_period = ts(obs_value(role, "h:subjectOf2", _obs("last_menstrual_period")))
    ncit = _cs("ncit")
    for o in by_code(subj, "h:observation", oid("ncit_codes", "race"), ncit):
        c = code_or_nf(f(o, "h:value"))  # null-flavoured too: FDA requires the element
        if c:
            p.fda_race.append(c)
    eth = obs_value(role, "h:subjectOf2", oid("ncit_codes", "ethnicity"), ncit)
    p.fda_ethnicity = code_or_nf(eth)
    p.medical_history, p.medical_history_text, p.concomitant_therapies = _history(role)
    p.past_drugs = [_past_drug(s) for s in _organizer_items(role, "past_drugs",
                                                             "h:substanceAdministration")]
    p.death = _death(pl, role)
    p.parent = _parent(pl)
    return p


def _history(container: etree._Element | None) -> tuple[list[MedicalHistory], Text, Flag]:
    items: list[MedicalHistory] = []
    hist_text = None
    concomitant = None
    for o in _organizer_items(container, "medical_history", "h:observation"):
        code = f(o, "h:code")
        oc = attr(code, "code")
        if attr(code, "codeSystem") == _cs("observation") and oc == _obs("history_text"):
            hist_text = text(f(o, "h:value"))
            continue
        if attr(code, "codeSystem") == _cs("observation") and oc == _obs("concomitant_therapy"):
            concomitant = bl(f(o, "h:value"))
            continue
        mh = MedicalHistory(condition=meddra(code))
        eff = f(o, "h:effectiveTime")
        mh.start = ts(f(eff, "h:low"))
        mh.end = ts(f(eff, "h:high"))
        mh.continuing = bl(obs_value(o, "h:inboundRelationship", _obs("continuing")))
        mh.comments = text(obs_value(o, "h:outboundRelationship2", _obs("comment")))
        fam = bl(obs_value(o, "h:outboundRelationship2", _obs("family_history")))
        mh.family_history = fam if isinstance(fam, bool) else None
        items.append(mh)
    return items, hist_text, concomitant


def _past_drug(s: etree._Element) -> PastDrug:
    kp = f(s, "h:consumable/h:instanceOfKind/h:kindOfProduct")
    d = PastDrug(name=text(f(kp, "h:name")))
    code = f(kp, "h:code")
    if code is not None:
        d.mpid = code.get("code")
        d.mpid_version = code.get("codeSystemVersion")
        d.mpid_system = code.get("codeSystem")
    eff = f(s, "h:effectiveTime")
    d.start = ts(f(eff, "h:low"))
    d.end = ts(f(eff, "h:high"))
    d.indication = meddra(obs_value(s, "h:outboundRelationship2", _obs("indication")))
    d.reaction = meddra(obs_value(s, "h:outboundRelationship2", _obs("reaction")))
    return d


def _death(pl: etree._Element | None, role: etree._Element) -> Death | None:
    date = ts(f(pl, "h:deceasedTime"))
    causes = [meddra(f(o, "h:value")) for o in by_code(
        fa(role, "h:subjectOf2"), "h:observation", _obs("reported_death_cause"),
        _cs("observation"))]
    autopsy = None
    autopsy_causes: list[CodedTerm] = []
    for o in by_code(fa(role, "h:subjectOf2"), "h:observation", _obs("autopsy"),
                     _cs("observation")):
        autopsy = bl(f(o, "h:value"))
        autopsy_causes = [meddra(f(a, "h:value")) for a in by_code(
            fa(o, "h:outboundRelationship2"), "h:observation", _obs("autopsy_cause"),
            _cs("observation"))]
    if date is None and not causes and autopsy is None and not autopsy_causes:
        return None
    return Death(date=date, reported_causes=causes, autopsy_done=autopsy,
                 autopsy_causes=autopsy_causes)


def _parent(pl: etree._Element | None) -> Parent | None:
    role = None
    for r in fa(pl, "h:role"):
        if attr(f(r, "h:code"), "code") == "PRN":
            role = r
    if role is None:
        return None
    ap = f(role, "h:associatedPerson")
    par = Parent(
        identification=text(f(ap, "h:name")),
        sex=code_or_nf(f(ap, "h:administrativeGenderCode")),
        birth_date=ts(f(ap, "h:birthTime")),
    )
    par.age = pq(obs_value(role, "h:subjectOf2", _obs("age")))
    par.last_menstrual_period = ts(obs_value(role, "h:subjectOf2", _obs("last_menstrual_period")))
    par.weight_kg = number(obs_value(role, "h:subjectOf2", _obs("body_weight")))
    par.height_cm = number(obs_value(role, "h:subjectOf2", _obs("height")))
    par.medical_history, par.medical_history_text, _ = _history(role)
    par.past_drugs = [_past_drug(s) for s in _organizer_items(role, "past_drugs",
                                                               "h:substanceAdministration")]
    return par


# --- E ---------------------------------------------------------------------------------------
_SERIOUSNESS = (
    ("death", "death"), ("life_threatening", "life_threatening"),
    ("hospitalisation", "hospitalisation"), ("disability", "disability"),
    ("congenital_anomaly", "congenital_anomaly"),
    ("other_medically_important", "other_medically_important"),
)


def _reaction(o: etree._Element) -> Reaction:
    i = f(o, "h:id")
    r = Reaction(id=attr(i, "root") or Reaction().id)
    value = f(o, "h:value")
    ot = f(value, "h:originalText")
    r.verbatim = text(ot)
    r.verbatim_language = attr(ot, "language")
    if value is not None and (value.get("code") or value.get("codeSystemVersion")):
        coded = meddra(value)
        coded.verbatim = None
        r.coding = coded
    eff = f(o, "h:effectiveTime")
    r.start = ts(f(eff, "h:low"))
    r.end = ts(f(eff, "h:high"))
    r.duration = pq(f(eff, "h:width"))
    r.country = code_or_nf(f(o, "h:location/h:locatedEntity/h:locatedPlace/h:code"))
    rel = "h:outboundRelationship2"
    r.translation = text(obs_value(o, rel, _obs("reaction_translation")))
    r.highlighted = attr(obs_value(o, rel, _obs("highlighted")), "code")
    s = Seriousness()
    for field_name, code_name in _SERIOUSNESS:
        setattr(s, field_name, bl(obs_value(o, rel, _obs(code_name))))
    s.required_intervention = bl(obs_value(o, rel, _obs("fda_required_intervention"),
                                           _cs("fda_observation")))
    r.seriousness = s
    r.outcome = code_or_nf(obs_value(o, rel, _obs("outcome")))
    r.medically_confirmed = bl(obs_value(o, rel, _obs("medically_confirmed")))
    return r


# --- F ---------------------------------------------------------------------------------------
def _test(o: etree._Element) -> TestResult:
    t = TestResult()
    code = f(o, "h:code")
    t.name = text(f(code, "h:originalText"))
    if code is not None and code.get("code"):
        t.coding = meddra(code)
        t.coding.verbatim = None
    t.date = ts(f(o, "h:effectiveTime"))
    v = f(o, "h:value")
    vt = attr(v, XSI_TYPE)
    if v is not None:
        if vt == "ED":
            t.result_text = text(v)
        elif null_flavor(v) is not None:
            t.value = null_flavor(v)
        else:
            for part, qual in (("center", None), ("low", ">"), ("high", "<")):
                p = f(v, f"h:{part}")
                if p is None:
                    continue
                if null_flavor(p) is not None:
                    t.value = null_flavor(p)
                else:
                    t.value = num(p.get("value"), p)
                t.unit = p.get("unit")
                if qual is not None:
                    t.value_qualifier = qual if p.get("inclusive") == "false" else qual + "="
    t.result_code = code_or_nf(f(o, "h:interpretationCode"))
    for rng in fa(o, "h:referenceRange/h:observationRange"):
        kind = attr(f(rng, "h:interpretationCode"), "code")
        val = f(rng, "h:value")
        v2 = null_flavor(val) or attr(val, "value")
        if kind == "L":
            t.normal_low = v2
        elif kind == "H":
            t.normal_high = v2
    t.comments = text(obs_value(o, "h:outboundRelationship2", _obs("comment")))
    more = bl(obs_value(o, "h:outboundRelationship2", _obs("more_info_available")))
    t.more_info_available = more if isinstance(more, bool) else None
    return t


# --- G ---------------------------------------------------------------------------------------
def _drug(s: etree._Element) -> Drug:
    d = Drug(id=attr(f(s, "h:id"), "root") or Drug().id)
    iok = f(s, "h:consumable/h:instanceOfKind")
    kp = f(iok, "h:kindOfProduct")
    code = f(kp, "h:code")
    if code is not None and code.get("code"):
        d.mpid = code.get("code")
        d.mpid_version = code.get("codeSystemVersion")
        d.mpid_system = code.get("codeSystem")
    d.name = text(f(kp, "h:name"))
    appr = f(kp, "h:asManufacturedProduct/h:subjectOf/h:approval")
    if appr is not None:
        i = f(appr, "h:id")
        d.authorisation_number = (i.get("extension") or null_flavor(i)) if i is not None else None
        d.authorisation_holder = text(f(appr, "h:holder/h:role/h:playingOrganization/h:name"))
        d.authorisation_country = code_or_nf(f(appr, "h:author/h:territorialAuthority"
                                                     "/h:territory/h:code"))
    for ing in fa(kp, "h:ingredient"):
        sub = f(ing, "h:ingredientSubstance")
        sc = f(sub, "h:code")
        st = Substance(name=text(f(sub, "h:name")), term_id=attr(sc, "code"),
                       term_id_version=attr(sc, "codeSystemVersion"),
                       term_id_system=_unless(attr(sc, "codeSystem") if attr(sc, "code")
                                              else None, _cs("unii")))
        st.strength = pq(f(ing, "h:quantity/h:numerator"))
        d.substances.append(st)
    for ch in fa(kp, "h:asManufacturedProduct/h:subjectOf/h:characteristic"):
        if attr(f(ch, "h:code"), "code") == oid("ncit_codes", "specialized_category"):
            d.fda_specialized_category = attr(f(ch, "h:value"), "code")
    d.fda_devices = [_device(p) for p in fa(kp, "h:part/h:partProduct")]
    d.country_obtained = text(f(iok, "h:subjectOf/h:productEvent/h:performer/h:assignedEntity"
                                     "/h:representedOrganization/h:addr/h:country"))
    d.dosages = [_dosage(x) for x in fa(s, "h:outboundRelationship2/h:substanceAdministration")]
    rel2 = "h:outboundRelationship2"
    inv = bl(obs_value(s, rel2, _obs("investigational")))
    d.investigational = inv if isinstance(inv, bool) else None
    d.cumulative_dose = pq(obs_value(s, rel2, _obs("cumulative_dose")))
    d.gestation_exposure = pq(obs_value(s, rel2, _obs("gestation_period")))
    d.additional_info = text(obs_value(s, rel2, _obs("additional_info_text")))
    for o in by_code(fa(s, rel2), "h:observation", _obs("additional_info_coded"),
                     _cs("observation")):
        v = f(o, "h:value")
        c = attr(v, "code")
        if c is None:
            continue
        if attr(v, "codeSystem") == _cs("additional_info"):
            d.additional_info_codes.append(c)
        else:
            d.fda_additional_info_codes.append(c)
    for o in by_code(fa(s, "h:inboundRelationship"), "h:observation", _obs("indication"),
                     _cs("observation")):
        d.indications.append(meddra(f(o, "h:value")))
    for act in fa(s, "h:inboundRelationship/h:act"):
        d.action_taken = code_or_nf(f(act, "h:code"))
    for o in by_code(fa(s, rel2), "h:observation", _obs("recurrence"), _cs("observation")):
        rid = attr(f(o, "h:outboundRelationship1/h:actReference/h:id"), "root")
        if rid:
            _link(d, rid).recurrence = code_or_nf(f(o, "h:value"))
    for rel in fa(s, "h:outboundRelationship1"):
        rid = attr(f(rel, "h:actReference/h:id"), "root")
        if not rid:
            continue
        link = _link(d, rid)
        if rel.get("typeCode") == "SAS":
            link.start_interval = pq(f(rel, "h:pauseQuantity"))
        elif rel.get("typeCode") == "SAE":
            link.end_interval = pq(f(rel, "h:pauseQuantity"))
    return d


def _link(d: Drug, reaction_id: str) -> DrugReaction:
    for link in d.reactions:
        if link.reaction_id == reaction_id:
            return link
    link = DrugReaction(reaction_id=reaction_id)
    d.reactions.append(link)
    return link


def _device(pp: etree._Element) -> FdaDevice:
    dev = FdaDevice()
    names = fa(pp, "h:name")
    dev.brand_name = text(names[0]) if names else None
    dev.common_name = text(names[1]) if len(names) > 1 else None
    code = f(pp, "h:code")
    if code is not None and code.get("code") != oid("ncit_codes", "device_part"):
        dev.product_code = code.get("code")
    mo = f(pp, "h:asManufacturedProduct/h:manufacturerOrganization")
    dev.manufacturer_name = plain(f(mo, "h:name"))
    dev.manufacturer_street = plain(f(mo, "h:addr/h:streetAddressLine"))
    dev.manufacturer_city = plain(f(mo, "h:addr/h:city"))
    dev.manufacturer_state = plain(f(mo, "h:addr/h:state"))
    dev.manufacturer_country = plain(f(mo, "h:addr/h:country"))
    dev.lot_number = plain(f(pp, "h:instanceOfKind/h:productInstanceInstance/h:lotNumberText"))
    nc = oid("ncit_codes", "malfunction")
    for ch in fa(pp, "h:asManufacturedProduct/h:subjectOf/h:characteristic"):
        c = attr(f(ch, "h:code"), "code")
        v = f(ch, "h:value")
        if c == nc:
            m = bl(v)
            dev.malfunction = m if isinstance(m, bool) else None
        elif c == oid("ncit_codes", "device_problem"):
            dev.problem_codes.append(attr(v, "code") or "")
        elif c == oid("ncit_codes", "device_usage"):
            dev.usage = attr(v, "code")
        elif c == oid("ncit_codes", "remedial_action"):
            dev.remedial_actions.append(attr(v, "code") or "")
        elif c == oid("ncit_codes", "followup_type"):
            dev.follow_up_types.append(attr(v, "code") or "")
        elif c == oid("ncit_codes", "device_operator"):
            dev.operator = attr(v, "code")
    return dev


def _dosage(x: etree._Element) -> Dosage:
    ds = Dosage()
    eff = f(x, "h:effectiveTime")
    ivl = eff
    if eff is not None and eff.get(XSI_TYPE) == "SXPR_TS":
        ivl = None
        for comp in fa(eff, "h:comp"):
            if comp.get(XSI_TYPE) == "PIVL_TS":
                _period(ds, f(comp, "h:period"))
            else:
                ivl = comp
    if ivl is not None:
        if ivl.get(XSI_TYPE) == "PIVL_TS":
            _period(ds, f(ivl, "h:period"))
        else:
            nf = null_flavor(ivl)
            if nf is not None:
                ds.start = nf
            ds.start = ts(f(ivl, "h:low")) or ds.start
            ds.end = ts(f(ivl, "h:high"))
            ds.duration = pq(f(ivl, "h:width"))
    ds.text = text(f(x, "h:text"))
    route = f(x, "h:routeCode")
    if route is not None:
        ds.route = text(f(route, "h:originalText"))
        ds.route_termid = route.get("code")
        ds.route_termid_version = route.get("codeSystemVersion")
        ds.route_termid_system = route.get("codeSystem") if route.get("code") else None
    ds.dose = pq(f(x, "h:doseQuantity"))
    iok = f(x, "h:consumable/h:instanceOfKind")
    ds.batch_lot = text(f(iok, "h:productInstanceInstance/h:lotNumberText"))
    form = f(iok, "h:kindOfProduct/h:formCode")
    if form is not None:
        ds.dose_form = text(f(form, "h:originalText"))
        ds.dose_form_termid = form.get("code")
        ds.dose_form_termid_version = form.get("codeSystemVersion")
        ds.dose_form_termid_system = _unless(form.get("codeSystem") if form.get("code")
                                             else None, _cs("edqm_dose_form"))
    for o in by_code(fa(x, "h:inboundRelationship"), "h:observation", _obs("parent_route"),
                     _cs("observation")):
        v = f(o, "h:value")
        ds.parent_route = text(f(v, "h:originalText"))
        ds.parent_route_termid = attr(v, "code")
        ds.parent_route_termid_version = attr(v, "codeSystemVersion")
        ds.parent_route_termid_system = _unless(attr(v, "codeSystem") if attr(v, "code")
                                                else None, _cs("edqm_route"))
    return ds


def _unless(system: str | None, default: str) -> str | None:
    """A code system as the model keeps it: ``None`` for the list's usual one (the writer
    writes that one when none is kept), else the sender's own."""
    return None if system == default else system


def _period(ds: Dosage, per: etree._Element | None) -> None:
    """G.k.4.r.2 (number of units in the interval) and G.k.4.r.3 (its unit) from a period."""
    if per is None:
        return
    ds.number_of_units = num(per.get("value"), per)
    unit = per.get("unit")
    ds.interval = Quantity(None, unit) if unit is not None else None


def _causality(aea: etree._Element | None, case: CaseVersionData) -> None:
    drugs = {d.id: d for d in case.drugs}
    for ca in fa(aea, "h:component/h:causalityAssessment"):
        code = f(ca, "h:code")
        drug_id = attr(f(ca, "h:subject2/h:productUseReference/h:id"), "root")
        drug = drugs.get(drug_id or "")
        v = f(ca, "h:value")
        if drug is None:
            problem(ca, f"productUseReference {drug_id!r} names no drug (G.k) of this message: "
                        f"{_unplaced(ca, code, v)} not read", "G.k.9.i")
            continue
        if attr(code, "code") == _obs("drug_role"):
            if attr(v, "codeSystem") == _cs("fda_other_role"):
                drug.fda_other_role = attr(v, "code")
            else:
                drug.role = attr(v, "code") or drug.role
        elif attr(code, "code") == _obs("causality"):
            rid = attr(f(ca, "h:subject1/h:adverseEffectReference/h:id"), "root")
            if rid is None or case.reaction(rid) is None:
                problem(ca, f"adverseEffectReference {rid!r} names no reaction (E.i) of this "
                            f"message: {_unplaced(ca, code, v)} not read", "G.k.9.i.1")
                continue
            _link(drug, rid).assessments.append(Assessment(
                source=text(f(ca, "h:author/h:assignedEntity/h:code/h:originalText")),
                method=text(f(ca, "h:methodCode/h:originalText")),
                result=text(v),
            ))


def _unplaced(ca: etree._Element, code: etree._Element | None,
              v: etree._Element | None) -> str:
    """What an assessment that cannot be attached says, for its finding."""
    if attr(code, "code") == _obs("drug_role"):
        return f"the drug role {attr(v, 'code')!r} (G.k.1)"
    source = text(f(ca, "h:author/h:assignedEntity/h:code/h:originalText"))
    method = text(f(ca, "h:methodCode/h:originalText"))
    return (f"the causality assessment (G.k.9.i.2.r: source {source!r}, method {method!r}, "
            f"result {text(v)!r})")


# --- H ---------------------------------------------------------------------------------------
def _narrative(inv: etree._Element, aea: etree._Element | None) -> Narrative:
    n = Narrative(narrative=text(f(inv, "h:text")))
    for o in fa(aea, "h:component1/h:observationEvent"):
        code = attr(f(o, "h:code"), "code")
        author = attr(f(o, "h:author/h:assignedEntity/h:code"), "code")
        v = f(o, "h:value")
        if code == _obs("comment") and author == oid("source_codes", "reporter"):
            n.reporter_comments = text(v)
        elif code == _obs("comment") and author == oid("source_codes", "sender"):
            n.sender_comments = text(v)
        elif code == _obs("diagnosis"):
            n.sender_diagnosis.append(meddra(v))
    for o in by_code(fa(inv, "h:component"), "h:observationEvent", _obs("summary"),
                     _cs("observation")):
        v = f(o, "h:value")
        n.summaries.append(Summary(text=text(v), language=attr(v, "language")))
    return n

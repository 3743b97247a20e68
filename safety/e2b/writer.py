"""Export of case versions as ICH E2B(R3) batches (MCCI_IN200100UV01 / PORR_IN049016UV).

The element order and HL7 class/mood/type codes follow the official FDA example instances and
the ICH reference instance, so a receiver's schema validation sees what it expects. Values are
always typed (``xsi:type``), absent values are left out and null-flavoured values are written as
``nullFlavor`` (never as an empty element), dates are written with exactly the precision held.
Regional content (FDA.*) is only written for FDA profiles; the destination picks receivers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from lxml import etree

from safety.cases.model import (
    CaseVersionData,
    CodedTerm,
    Document,
    Dosage,
    Drug,
    FdaDevice,
    MedicalHistory,
    Parent,
    PastDrug,
    Patient,
    Quantity,
    Reaction,
    Reporter,
    Sender,
    Study,
    TestResult,
)
from safety.cases.values import NullFlavor, PartialDate
from safety.e2b.hl7 import (
    HL7,
    ICH_CODE_LISTS,
    XSI,
    XSI_TYPE,
    destinations,
    fmt_number,
    oid,
    oids,
    q,
)

Val = str | NullFlavor | None


@dataclass(slots=True)
class ExportHeader:
    """Transmission values for one export: who sends, to which destination, and ids.

    ``destination`` is a key of ``data/destinations.json`` (fda-postmarket, fda-premarket, ema,
    ema-ct, ...); it chooses the conformance profile and the receiver identifiers unless they are
    given explicitly. Ids and creation times default to fresh values.
    """

    sender_id: str  # N.1.3 and N.2.r.2
    destination: str = "ich"
    batch_receiver: str | None = None  # N.1.4
    message_receiver: str | None = None  # N.2.r.3
    batch_id: str | None = None  # N.1.2
    message_ids: list[str] | None = None  # N.2.r.1 per case
    created: datetime | None = None  # N.1.5 / N.2.r.4
    processing_mode: str = "T"  # processingModeCode: T current processing, I initial load

    @property
    def profile(self) -> str:
        return destinations()[self.destination]["profile"]

    def receivers(self) -> tuple[str, str]:
        dest = destinations()[self.destination]
        return (self.batch_receiver or dest["batch_receiver"],
                self.message_receiver or dest["message_receiver"])


class WriteError(ValueError):
    """A case that cannot be written (e.g. an unknown destination)."""


def _cs(name: str) -> str:
    return oid("cs", name)


def _oc(name: str) -> str:
    return oid("observation_codes", name)


_TAGS: dict[str, str] = {}


def el(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    name = _TAGS.get(tag)
    if name is None:
        name = _TAGS[tag] = q(tag)
    return etree.SubElement(parent, name, attrs)


def _nf_or(e: etree._Element, v: object) -> bool:
    """Write ``v`` as a null flavour when it is one; True when it was."""
    if isinstance(v, NullFlavor):
        e.set("nullFlavor", v.value)
        return True
    return False


def text_el(parent: etree._Element, tag: str, v: Val, **attrs: str) -> etree._Element | None:
    if v is None:
        return None
    e = el(parent, tag, **attrs)
    if not _nf_or(e, v):
        e.text = str(v)
    return e


def ts_el(parent: etree._Element, tag: str, v: PartialDate | NullFlavor | None,
          **attrs: str) -> etree._Element | None:
    if v is None:
        return None
    e = el(parent, tag, **attrs)
    if isinstance(v, PartialDate):
        e.set("value", v.to_hl7())
    else:
        _nf_or(e, v)
    return e


def code_el(parent: etree._Element, tag: str, v: Val, cs: str, **attrs: str
            ) -> etree._Element | None:
    if v is None:
        return None
    e = el(parent, tag, **attrs)
    if not _nf_or(e, v):
        e.set("code", str(v))
        e.set("codeSystem", cs)
    return e


def id_el(parent: etree._Element, root: str, v: Val, **attrs: str) -> etree._Element | None:
    if v is None:
        return None
    e = el(parent, "id", **attrs)
    if not _nf_or(e, v):
        e.set("extension", str(v))
    e.set("root", root)
    return e


def pq_el(parent: etree._Element, tag: str, qty: Quantity | None, xsi_type: str | None = None
          ) -> etree._Element | None:
    if qty is None or (qty.value is None and qty.unit is None):
        return None
    e = el(parent, tag)
    if xsi_type:
        e.set(XSI_TYPE, xsi_type)
    if qty.value is not None:
        e.set("value", fmt_number(qty.value))
    if qty.unit is not None:
        e.set("unit", qty.unit)
    return e


def value_bl(parent: etree._Element, v: bool | NullFlavor | None) -> None:
    e = el(parent, "value")
    e.set(XSI_TYPE, "BL")
    if not _nf_or(e, v):
        e.set("value", "true" if v else "false")


def value_ce(parent: etree._Element, v: Val, cs: str) -> None:
    e = el(parent, "value")
    e.set(XSI_TYPE, "CE")
    if not _nf_or(e, v):
        e.set("code", str(v))
        e.set("codeSystem", cs)


def value_text(parent: etree._Element, v: Val, xsi_type: str = "ED") -> None:
    e = el(parent, "value")
    e.set(XSI_TYPE, xsi_type)
    if not _nf_or(e, v):
        e.text = str(v)


def value_ts(parent: etree._Element, v: PartialDate | NullFlavor) -> None:
    e = el(parent, "value")
    e.set(XSI_TYPE, "TS")
    if isinstance(v, PartialDate):
        e.set("value", v.to_hl7())
    else:
        _nf_or(e, v)


def value_meddra(parent: etree._Element, term: CodedTerm | None, tag: str = "value",
                 typed: bool = True) -> etree._Element:
    e = el(parent, tag)
    if typed:
        e.set(XSI_TYPE, "CE")
    if term is not None and term.code:
        e.set("code", term.code)
    e.set("codeSystem", _cs("meddra"))
    if term is not None and term.code and term.version:
        e.set("codeSystemVersion", term.version)
    if term is not None and term.verbatim is not None:
        text_el(e, "originalText", term.verbatim)
    return e


def observation(parent: etree._Element, rel: str, code: str, cs: str | None = None,
                rel_type: str = "PERT") -> etree._Element:
    """``<rel><observation><code/>`` and return the observation."""
    r = el(parent, rel, typeCode=rel_type)
    o = el(r, "observation", classCode="OBS", moodCode="EVN")
    el(o, "code", code=code, codeSystem=cs or _cs("observation"))
    return o


# --- batch and message wrapper --------------------------------------------------------------
def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_batch(cases: list[CaseVersionData], header: ExportHeader) -> etree._Element:
    """The batch as an element tree (``serialise`` turns it into bytes)."""
    if header.destination not in destinations():
        raise WriteError(f"unknown destination {header.destination!r}; "
                         f"known: {', '.join(sorted(destinations()))}")
    if not cases:
        raise WriteError("a batch needs at least one case version")
    created = (header.created or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%z")
    batch_rcv, msg_rcv = header.receivers()
    fda = header.profile.startswith("fda")
    root = etree.Element(q("MCCI_IN200100UV01"), nsmap={None: HL7, "xsi": XSI})
    root.set("ITSVersion", "XML_1.0")
    el(root, "id", extension=header.batch_id or str(uuid.uuid4()), root=oid("id", "batch"))
    el(root, "creationTime", value=created)
    el(root, "responseModeCode", code="D")
    el(root, "interactionId", extension="MCCI_IN200100UV01", root=_hl7("hl7_interaction"))
    el(root, "name", code="1", codeSystem=_cs("message_type"))
    ids = header.message_ids or []
    for i, case in enumerate(cases):
        mid = ids[i] if i < len(ids) else str(uuid.uuid4())
        _message(root, case, mid, created, header, msg_rcv, fda)
    rcv = el(el(root, "receiver", typeCode="RCV"), "device", classCode="DEV",
             determinerCode="INSTANCE")
    el(rcv, "id", extension=batch_rcv, root=oid("id", "batch_receiver"))
    snd = el(el(root, "sender", typeCode="SND"), "device", classCode="DEV",
             determinerCode="INSTANCE")
    el(snd, "id", extension=header.sender_id, root=oid("id", "batch_sender"))
    return root


def _hl7(name: str) -> str:
    root: str = oids()[name]
    return root


def _message(root: etree._Element, case: CaseVersionData, mid: str, created: str,
             header: ExportHeader, msg_rcv: str, fda: bool) -> None:
    m = el(root, "PORR_IN049016UV")
    el(m, "id", extension=mid, root=oid("id", "message"))
    el(m, "creationTime", value=created)
    el(m, "interactionId", extension="PORR_IN049016UV", root=_hl7("hl7_interaction"))
    el(m, "processingCode", code="P")
    el(m, "processingModeCode", code=header.processing_mode)
    el(m, "acceptAckCode", code="AL")
    d = el(el(m, "receiver", typeCode="RCV"), "device", classCode="DEV",
           determinerCode="INSTANCE")
    el(d, "id", extension=msg_rcv, root=oid("id", "message_receiver"))
    d = el(el(m, "sender", typeCode="SND"), "device", classCode="DEV",
           determinerCode="INSTANCE")
    el(d, "id", extension=header.sender_id, root=oid("id", "message_sender"))
    cap = el(m, "controlActProcess", classCode="CACT", moodCode="EVN")
    el(cap, "code", code="PORR_TE049016UV", codeSystem=_hl7("hl7_trigger"))
    c12 = case.admin.creation_date
    if c12 is None:
        el(cap, "effectiveTime", value=created)
    else:
        ts_el(cap, "effectiveTime", c12)
    inv = el(el(cap, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG",
             moodCode="EVN")
    _investigation(inv, case, fda)
    _declare_versions(inv, case)


def _declare_versions(inv: etree._Element, case: CaseVersionData) -> None:
    """Put each ICH code list version the case carries on every code of that list."""
    versions = {v.code_system: v.version for v in case.code_list_versions
                if v.code_system.startswith(ICH_CODE_LISTS) and v.version}
    if not versions:
        return
    for e in inv.iter():
        version = versions.get(e.get("codeSystem") or "")
        if version and not e.get("codeSystemVersion"):
            e.set("codeSystemVersion", version)


# --- C and H at investigation level -----------------------------------------------------------
def _investigation(inv: etree._Element, case: CaseVersionData, fda: bool) -> None:
    a = case.admin
    id_el(inv, oid("id", "case"), a.sender_safety_report_id)
    id_el(inv, oid("id", "worldwide_case"), a.worldwide_case_id)
    el(inv, "code", code="PAT_ADV_EVNT", codeSystem=_hl7("hl7_act_code"))
    text_el(inv, "text", case.narrative.narrative)
    el(inv, "statusCode", code="active")
    if a.first_received is not None:
        ts_el(el(inv, "effectiveTime"), "low", a.first_received)
    ts_el(inv, "availabilityTime", a.most_recent_received)
    for doc in a.documents:
        _document(inv, doc, "1")
    for doc in case.literature:
        _document(inv, doc, "2")
    aea = el(el(inv, "component", typeCode="COMP"), "adverseEventAssessment",
             classCode="INVSTG", moodCode="EVN")
    _assessment(aea, case, fda)
    if a.additional_documents is not None:
        value_bl(_event(inv, _oc("additional_documents")), a.additional_documents)
    if a.fulfils_expedited is not None:
        value_bl(_event(inv, _oc("expedited")), a.fulfils_expedited)
    if fda and a.fda_local_criteria_report_type is not None:
        value_ce(_event(inv, oid("ncit_codes", "local_criteria_report_type"), _cs("ncit")),
                 a.fda_local_criteria_report_type, _cs("fda_local_criteria"))
    if fda and a.fda_combination_product is not None:
        value_bl(_event(inv, oid("ncit_codes", "combination_product"), _cs("ncit")),
                 a.fda_combination_product)
    for s in case.narrative.summaries:
        o = _event(inv, _oc("summary"))
        e = el(o, "value")
        e.set(XSI_TYPE, "ED")
        if s.language:
            e.set("language", s.language)
        if not _nf_or(e, s.text):
            e.text = s.text
        code_el(el(el(o, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED"),
                "code", oid("source_codes", "reporter_summary"), _cs("source"))
    if a.first_sender is not None:
        ri = _related(inv, "1")
        ae = _author_entity(ri)
        code_el(ae, "code", a.first_sender, _cs("first_sender"))
    for link in a.linked_report_ids:
        rel = el(inv, "outboundRelationship", typeCode="SPRT")
        ri = el(rel, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
        el(ri, "code", nullFlavor="NA")
        ce = el(el(ri, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT",
                moodCode="EVN")
        id_el(ce, oid("id", "worldwide_case"), link)
    for r in case.reporters:
        _reporter(inv, r, fda)
    _sender(inv, case.sender)
    for other in a.other_case_ids:
        ce = el(el(inv, "subjectOf1", typeCode="SUBJ"), "controlActEvent", classCode="CACT",
                moodCode="EVN")
        other_id = id_el(ce, oid("id", "other_case"), other.case_id)
        if other_id is not None and isinstance(other.source, str) and not isinstance(
                other.source, NullFlavor):
            other_id.set("assigningAuthorityName", other.source)
    if a.report_type is not None:
        value_ce(_characteristic(inv, "report_type"), a.report_type, _cs("report_type"))
    if a.other_case_ids_exist is not None:
        value_bl(_characteristic(inv, "other_case_ids"), a.other_case_ids_exist)
    if a.nullification_code is not None:
        value_ce(_characteristic(inv, "nullification"), a.nullification_code,
                 _cs("nullification"))
    if a.nullification_reason is not None:
        c = _characteristic(inv, "nullification_reason")
        v = el(c, "value")
        v.set(XSI_TYPE, "CE")
        text_el(v, "originalText", a.nullification_reason)


def _event(inv: etree._Element, code: str, cs: str | None = None) -> etree._Element:
    o = el(el(inv, "component", typeCode="COMP"), "observationEvent", classCode="OBS",
           moodCode="EVN")
    el(o, "code", code=code, codeSystem=cs or _cs("observation"))
    return o


def _characteristic(inv: etree._Element, name: str) -> etree._Element:
    c = el(el(inv, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic",
           classCode="OBS", moodCode="EVN")
    el(c, "code", code=oid("characteristic_codes", name), codeSystem=_cs("characteristic"))
    return c


def _document(inv: etree._Element, doc: Document, code: str) -> None:
    d = el(el(inv, "reference", typeCode="REFR"), "document", classCode="DOC", moodCode="EVN")
    el(d, "code", code=code, codeSystem=_cs("document"))
    text_el(d, "title", doc.title)
    if doc.content_b64 is not None:
        t = el(d, "text", mediaType=doc.media_type or "application/pdf", representation="B64")
        t.text = doc.content_b64
    if code == "2":
        text_el(d, "bibliographicDesignationText", doc.reference)


def _related(inv: etree._Element, code: str, priority: bool = False) -> etree._Element:
    rel = el(inv, "outboundRelationship", typeCode="SPRT")
    if priority:
        el(rel, "priorityNumber", value="1")
    ri = el(rel, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
    el(ri, "code", code=code, codeSystem=_cs("relation"))
    return ri


def _author_entity(ri: etree._Element) -> etree._Element:
    ce = el(el(ri, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT",
            moodCode="EVN")
    return el(el(ce, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")


def _addr(ent: etree._Element, street: Val, city: Val, state: Val, postcode: Val) -> None:
    if all(v is None for v in (street, city, state, postcode)):
        return
    ad = el(ent, "addr")
    text_el(ad, "streetAddressLine", street)
    text_el(ad, "city", city)
    text_el(ad, "state", state)
    text_el(ad, "postalCode", postcode)


def _telecom(ent: etree._Element, scheme: str, v: Val) -> None:
    if v is None:
        return
    if isinstance(v, NullFlavor):
        # FDA.C.2.r.2.8 business rule: a null-flavoured telecom keeps its scheme prefix in
        # @value, so the receiver can tell an e-mail from a telephone number.
        el(ent, "telecom", nullFlavor=v.value, value=scheme)
    else:
        el(ent, "telecom", value=f"{scheme}{v}")


def _person(ent: etree._Element, title: Val, given: Val, middle: Val, family: Val,
            country: Val, qualification: Val = None, qual: bool = False) -> None:
    if all(v is None for v in (title, given, middle, family, country, qualification)):
        return
    p = el(ent, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    if any(v is not None for v in (title, given, middle, family)):
        n = el(p, "name")
        text_el(n, "prefix", title)
        text_el(n, "given", given)
        text_el(n, "given", middle)
        text_el(n, "family", family)
    if qual and qualification is not None:
        code_el(el(p, "asQualifiedEntity", classCode="QUAL"), "code", qualification,
                _cs("qualification"))
    if country is not None:
        loc = el(el(p, "asLocatedEntity", classCode="LOCE"), "location", classCode="COUNTRY",
                 determinerCode="INSTANCE")
        code_el(loc, "code", country, _cs("country"))


def _organisation(ent: etree._Element, department: Val, organisation: Val) -> None:
    if department is None and organisation is None:
        return
    ro = el(ent, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    text_el(ro, "name", department)
    if organisation is not None:
        inner = el(el(ro, "assignedEntity", classCode="ASSIGNED"), "representedOrganization",
                   classCode="ORG", determinerCode="INSTANCE")
        text_el(inner, "name", organisation)


def _reporter(inv: etree._Element, r: Reporter, fda: bool) -> None:
    ri = _related(inv, "2", priority=bool(r.primary_for_regulatory))
    ent = _author_entity(ri)
    _addr(ent, r.street, r.city, r.state, r.postcode)
    _telecom(ent, "tel:", r.telephone)
    if fda:
        _telecom(ent, "mailto:", r.email)
    _person(ent, r.title, r.given_name, r.middle_name, r.family_name, r.country,
            r.qualification, qual=True)
    _organisation(ent, r.department, r.organisation)


def _sender(inv: etree._Element, s: Sender) -> None:
    ce = el(el(inv, "subjectOf1", typeCode="SUBJ"), "controlActEvent", classCode="CACT",
            moodCode="EVN")
    ent = el(el(ce, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    code_el(ent, "code", s.type, _cs("sender_type"))
    _addr(ent, s.street, s.city, s.state, s.postcode)
    _telecom(ent, "tel:", s.telephone)
    _telecom(ent, "fax:", s.fax)
    _telecom(ent, "mailto:", s.email)
    _person(ent, s.title, s.given_name, s.middle_name, s.family_name, s.country)
    _organisation(ent, s.department, s.organisation)


# --- adverseEventAssessment: D, E, F, G, H ---------------------------------------------------
def _assessment(aea: etree._Element, case: CaseVersionData, fda: bool) -> None:
    role = el(el(aea, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    _patient(role, case.patient, case.study, fda)
    for r in case.reactions:
        _reaction(role, r, fda)
    if case.tests:
        org = _organizer(role, "tests")
        for t in case.tests:
            _test(org, t)
    if case.drugs:
        org = _organizer(role, "drugs")
        for d in case.drugs:
            _drug(org, d, fda)
    for d in case.drugs:
        ca = el(el(aea, "component", typeCode="COMP"), "causalityAssessment", classCode="OBS",
                moodCode="EVN")
        el(ca, "code", code=_oc("drug_role"), codeSystem=_cs("observation"))
        value_ce(ca, d.role, _cs("drug_role"))
        _product_ref(ca, d.id)
        if fda and d.fda_other_role is not None:
            ca = el(el(aea, "component", typeCode="COMP"), "causalityAssessment",
                    classCode="OBS", moodCode="EVN")
            el(ca, "code", code=_oc("drug_role"), codeSystem=_cs("observation"))
            value_ce(ca, d.fda_other_role, _cs("fda_other_role"))
            _product_ref(ca, d.id)
    for d in case.drugs:
        for link in d.reactions:
            for a in link.assessments:
                ca = el(el(aea, "component", typeCode="COMP"), "causalityAssessment",
                        classCode="OBS", moodCode="EVN")
                el(ca, "code", code=_oc("causality"), codeSystem=_cs("observation"))
                if a.result is not None:
                    value_text(ca, a.result, "ST")
                if a.method is not None:
                    text_el(el(ca, "methodCode"), "originalText", a.method)
                if a.source is not None:
                    ent = el(el(ca, "author", typeCode="AUT"), "assignedEntity",
                             classCode="ASSIGNED")
                    text_el(el(ent, "code"), "originalText", a.source)
                ref = el(el(ca, "subject1", typeCode="SUBJ"), "adverseEffectReference",
                         classCode="OBS", moodCode="EVN")
                el(ref, "id", root=link.reaction_id)
                _product_ref(ca, d.id)
    n = case.narrative
    if n.reporter_comments is not None:
        _comment(aea, _oc("comment"), n.reporter_comments, "reporter")
    for diag in n.sender_diagnosis:
        o = _comment(aea, _oc("diagnosis"), None, "sender")
        o.insert(1, value_meddra(o, diag))
    if n.sender_comments is not None:
        _comment(aea, _oc("comment"), n.sender_comments, "sender")


def _product_ref(ca: etree._Element, drug_id: str) -> None:
    ref = el(el(ca, "subject2", typeCode="SUBJ"), "productUseReference", classCode="SBADM",
             moodCode="EVN")
    el(ref, "id", root=drug_id)


def _comment(aea: etree._Element, code: str, v: Val, author: str) -> etree._Element:
    o = el(el(aea, "component1", typeCode="COMP"), "observationEvent", classCode="OBS",
           moodCode="EVN")
    el(o, "code", code=code, codeSystem=_cs("observation"))
    if v is not None:
        value_text(o, v)
    ent = el(el(o, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    el(ent, "code", code=oid("source_codes", author), codeSystem=_cs("source"))
    return o


def _organizer(role: etree._Element, name: str) -> etree._Element:
    org = el(el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY",
             moodCode="EVN")
    el(org, "code", code=oid("organizer_codes", name), codeSystem=_cs("organizer"))
    return org


def _subject_obs(role: etree._Element, code: str, cs: str | None = None) -> etree._Element:
    o = el(el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS",
           moodCode="EVN")
    el(o, "code", code=code, codeSystem=cs or _cs("observation"))
    return o


def _number_obs(role: etree._Element, code: str, v: float | NullFlavor | None, unit: str
                ) -> None:
    if v is None:
        return
    o = _subject_obs(role, code)
    e = el(o, "value")
    e.set(XSI_TYPE, "PQ")
    if not _nf_or(e, v):
        e.set("value", fmt_number(float(v)))
        e.set("unit", unit)


def _patient(role: etree._Element, p: Patient, study: Study | None, fda: bool) -> None:
    pl = el(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    text_el(pl, "name", p.initials)
    code_el(pl, "administrativeGenderCode", p.sex, _cs("sex"))
    ts_el(pl, "birthTime", p.birth_date)
    if p.death is not None and p.death.date is not None:
        ts_el(pl, "deceasedTime", p.death.date)
    for kind, root_name, v in (("1", "gp_record", p.gp_record_number),
                               ("2", "specialist_record", p.specialist_record_number),
                               ("3", "hospital_record", p.hospital_record_number),
                               ("4", "investigation", p.investigation_number)):
        if v is not None:
            ident = el(pl, "asIdentifiedEntity", classCode="IDENT")
            id_el(ident, oid("id", root_name), v)
            el(ident, "code", code=kind, codeSystem=_cs("record_kind"))
    if p.parent is not None:
        _parent(pl, p.parent)
    if study is not None:
        _study(role, study, fda)
    if p.age_at_onset is not None:
        pq_el(_subject_obs(role, _oc("age")), "value", p.age_at_onset, "PQ")
    if p.gestation_period is not None:
        pq_el(_subject_obs(role, _oc("gestation_period")), "value", p.gestation_period, "PQ")
    if p.age_group is not None:
        value_ce(_subject_obs(role, _oc("age_group")), p.age_group, _cs("age_group"))
    _number_obs(role, _oc("body_weight"), p.weight_kg, "kg")
    _number_obs(role, _oc("height"), p.height_cm, "cm")
    if p.last_menstrual_period is not None:
        value_ts(_subject_obs(role, _oc("last_menstrual_period")), p.last_menstrual_period)
    if fda:
        for race in p.fda_race:
            value_ce(_subject_obs(role, oid("ncit_codes", "race"), _cs("ncit")), race,
                     _cs("ncit"))
        if p.fda_ethnicity is not None:
            value_ce(_subject_obs(role, oid("ncit_codes", "ethnicity"), _cs("ncit")),
                     p.fda_ethnicity, _cs("ncit"))
    if p.death is not None:
        for cause in p.death.reported_causes:
            value_meddra(_subject_obs(role, _oc("reported_death_cause")), cause)
        if p.death.autopsy_done is not None or p.death.autopsy_causes:
            o = _subject_obs(role, _oc("autopsy"))
            if p.death.autopsy_done is not None:
                value_bl(o, p.death.autopsy_done)
            for cause in p.death.autopsy_causes:
                value_meddra(observation(o, "outboundRelationship2", _oc("autopsy_cause")),
                             cause)
    # ICH IG D.7.2: medical history unknown to the sender -> nullFlavor UNK (FDA R0035)
    unknown = not p.medical_history and p.medical_history_text is None
    _history(role, p.medical_history, NullFlavor.UNK if unknown else p.medical_history_text,
             p.concomitant_therapies)
    _past_drugs(role, p.past_drugs)


def _history(role: etree._Element, items: list[MedicalHistory], hist_text: Val,
             concomitant: bool | NullFlavor | None) -> None:
    if not items and hist_text is None and concomitant is None:
        return
    org = _organizer(role, "medical_history")
    for mh in items:
        o = el(el(org, "component", typeCode="COMP"), "observation", classCode="OBS",
               moodCode="EVN")
        code = value_meddra(o, mh.condition, tag="code", typed=False)
        for child in list(code):
            code.remove(child)
        if mh.start is not None or mh.end is not None:
            eff = el(o, "effectiveTime")
            eff.set(XSI_TYPE, "IVL_TS")
            ts_el(eff, "low", mh.start)
            ts_el(eff, "high", mh.end)
        if mh.comments is not None:
            value_text(observation(o, "outboundRelationship2", _oc("comment")), mh.comments)
        if mh.family_history is not None:
            value_bl(observation(o, "outboundRelationship2", _oc("family_history")),
                     mh.family_history)
        if mh.continuing is not None:
            value_bl(observation(o, "inboundRelationship", _oc("continuing"), rel_type="REFR"),
                     mh.continuing)
    if hist_text is not None:
        o = el(el(org, "component", typeCode="COMP"), "observation", classCode="OBS",
               moodCode="EVN")
        el(o, "code", code=_oc("history_text"), codeSystem=_cs("observation"))
        value_text(o, hist_text)
    if concomitant is not None:
        o = el(el(org, "component", typeCode="COMP"), "observation", classCode="OBS",
               moodCode="EVN")
        el(o, "code", code=_oc("concomitant_therapy"), codeSystem=_cs("observation"))
        value_bl(o, concomitant)


def _past_drugs(role: etree._Element, drugs: list[PastDrug]) -> None:
    if not drugs:
        return
    org = _organizer(role, "past_drugs")
    for d in drugs:
        sa = el(el(org, "component", typeCode="COMP"), "substanceAdministration",
                classCode="SBADM", moodCode="EVN")
        if d.start is not None or d.end is not None:
            eff = el(sa, "effectiveTime")
            eff.set(XSI_TYPE, "IVL_TS")
            ts_el(eff, "low", d.start)
            ts_el(eff, "high", d.end)
        kp = el(el(el(sa, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"),
                "kindOfProduct", classCode="MMAT", determinerCode="KIND")
        if d.mpid:
            c = el(kp, "code", code=d.mpid, codeSystem=d.mpid_system or _cs("ndc"))
            if d.mpid_version:
                c.set("codeSystemVersion", d.mpid_version)
        text_el(kp, "name", d.name)
        if d.indication.code or d.indication.verbatim is not None:
            o = observation(sa, "outboundRelationship2", _oc("indication"), rel_type="RSON")
            value_meddra(o, d.indication)
        if d.reaction.code or d.reaction.verbatim is not None:
            o = observation(sa, "outboundRelationship2", _oc("reaction"), rel_type="CAUS")
            value_meddra(o, d.reaction)


def _parent(pl: etree._Element, par: Parent) -> None:
    role = el(pl, "role", classCode="PRS")
    el(role, "code", code="PRN", codeSystem=_hl7("hl7_role_code"))
    if any(v is not None for v in (par.identification, par.sex, par.birth_date)):
        ap = el(role, "associatedPerson", classCode="PSN", determinerCode="INSTANCE")
        text_el(ap, "name", par.identification)
        code_el(ap, "administrativeGenderCode", par.sex, _cs("sex"))
        ts_el(ap, "birthTime", par.birth_date)
    if par.age is not None:
        pq_el(_subject_obs(role, _oc("age")), "value", par.age, "PQ")
    if par.last_menstrual_period is not None:
        value_ts(_subject_obs(role, _oc("last_menstrual_period")), par.last_menstrual_period)
    _number_obs(role, _oc("body_weight"), par.weight_kg, "kg")
    _number_obs(role, _oc("height"), par.height_cm, "cm")
    _history(role, par.medical_history, par.medical_history_text, None)
    _past_drugs(role, par.past_drugs)


def _study(role: etree._Element, st: Study, fda: bool) -> None:
    rs = el(el(role, "subjectOf1", typeCode="SBJ"), "researchStudy", classCode="CLNTRL",
            moodCode="EVN")
    id_el(rs, oid("id", "sponsor_study"), st.sponsor_study_number)
    code_el(rs, "code", st.study_type, _cs("study_type"))
    text_el(rs, "title", st.name)
    for reg in st.registrations:
        sr = el(el(rs, "authorization", typeCode="AUTH"), "studyRegistration", classCode="ACT",
                moodCode="EVN")
        id_el(sr, oid("id", "study_registration"), reg.number)
        if reg.country is not None:
            gp = el(el(el(sr, "author", typeCode="AUT"), "territorialAuthority",
                       classCode="TERR"), "governingPlace", classCode="COUNTRY",
                    determinerCode="INSTANCE")
            code_el(gp, "code", reg.country, _cs("country"))
    if not fda:
        return
    regional = [("fda_ind", st.fda_ind_number), ("fda_pre_anda", st.fda_pre_anda_number)]
    regional += [("fda_cross_ind", x) for x in st.fda_cross_reported_inds]
    for root_name, v in regional:
        if v is not None:
            sr = el(el(rs, "authorization", typeCode="AUTH"), "studyRegistration",
                    classCode="ACT", moodCode="EVN")
            id_el(sr, oid("id", root_name), v)


def _reaction(role: etree._Element, r: Reaction, fda: bool) -> None:
    o = el(el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS",
           moodCode="EVN")
    el(o, "id", root=r.id)
    el(o, "code", code=_oc("reaction"), codeSystem=_cs("observation"))
    if any(v is not None for v in (r.start, r.end, r.duration)):
        eff = el(o, "effectiveTime")
        eff.set(XSI_TYPE, "IVL_TS")
        ts_el(eff, "low", r.start)
        ts_el(eff, "high", r.end)
        pq_el(eff, "width", r.duration)
    # one originalText: the reporter's words (E.i.1.1a), not also the coder's copy of them
    v = value_meddra(o, replace(r.coding, verbatim=None) if r.coding is not None else None)
    translation = r.translation
    if r.verbatim is not None and not r.verbatim_language and translation is None:
        # E.i.1.1a needs its language (E.i.1.1b; FDA R0058): words in an unknown language
        # go as the primary source's words for the receiver (E.i.1.2), as the FDA examples do
        translation = r.verbatim
    elif r.verbatim is not None:
        ot = text_el(v, "originalText", r.verbatim)
        if ot is not None and r.verbatim_language:
            ot.set("language", r.verbatim_language)
    if r.country is not None:
        lp = el(el(el(o, "location", typeCode="LOC"), "locatedEntity", classCode="LOCE"),
                "locatedPlace", classCode="COUNTRY", determinerCode="INSTANCE")
        code_el(lp, "code", r.country, _cs("country"))
    rel = "outboundRelationship2"
    if translation is not None:
        value_text(observation(o, rel, _oc("reaction_translation")), translation)
    if r.highlighted is not None:
        value_ce(observation(o, rel, _oc("highlighted")), r.highlighted, _cs("highlighted"))
    s = r.seriousness
    for name, v2 in (("death", s.death), ("life_threatening", s.life_threatening),
                     ("hospitalisation", s.hospitalisation), ("disability", s.disability),
                     ("congenital_anomaly", s.congenital_anomaly),
                     ("other_medically_important", s.other_medically_important)):
        value_bl(observation(o, rel, _oc(name)), _criterion(v2))
    if fda:
        value_bl(observation(o, rel, _oc("fda_required_intervention"), _cs("fda_observation")),
                 _criterion(s.required_intervention))
    if r.outcome is not None:
        value_ce(observation(o, rel, _oc("outcome")), r.outcome, _cs("outcome"))
    if r.medically_confirmed is not None:
        value_bl(observation(o, rel, _oc("medically_confirmed")), r.medically_confirmed)


def _criterion(v: bool | NullFlavor | None) -> bool | NullFlavor:
    """Seriousness criteria are ``true`` or ``nullFlavor=NI`` in E2B(R3); never ``false``."""
    if v is True:
        return True
    if isinstance(v, NullFlavor):
        return v
    return NullFlavor.NI


def _test(org: etree._Element, t: TestResult) -> None:
    o = el(el(org, "component", typeCode="COMP"), "observation", classCode="OBS",
           moodCode="EVN")
    if t.coding is not None and t.coding.code:
        c = value_meddra(o, t.coding, tag="code", typed=False)
        for child in list(c):
            c.remove(child)
    else:
        c = el(o, "code")
    text_el(c, "originalText", t.name)
    ts_el(o, "effectiveTime", t.date)
    if t.result_text is not None:
        value_text(o, t.result_text)
    elif t.value is not None:
        v = el(o, "value")
        v.set(XSI_TYPE, "IVL_PQ")
        if isinstance(t.value, NullFlavor):
            v.set("nullFlavor", t.value.value)
        else:
            qual = t.value_qualifier or ""
            part = "center" if not qual else ("low" if qual.startswith(">") else "high")
            p = el(v, part, value=fmt_number(t.value))
            if t.unit:
                p.set("unit", t.unit)
            if qual in (">", "<"):
                p.set("inclusive", "false")
    code_el(o, "interpretationCode", t.result_code, _cs("test_result"))
    for kind, v2 in (("L", t.normal_low), ("H", t.normal_high)):
        if v2 is None:
            continue
        rng = el(el(o, "referenceRange", typeCode="REFV"), "observationRange", classCode="OBS",
                 moodCode="EVN.CRT")
        val = el(rng, "value")
        val.set(XSI_TYPE, "PQ")
        if not _nf_or(val, v2):
            val.set("value", str(v2))
            if t.unit:
                val.set("unit", t.unit)
        el(rng, "interpretationCode", code=kind, codeSystem="2.16.840.1.113883.5.83")
    if t.comments is not None:
        value_text(observation(o, "outboundRelationship2", _oc("comment")), t.comments)
    if t.more_info_available is not None:
        value_bl(observation(o, "outboundRelationship2", _oc("more_info_available")),
                 t.more_info_available)


def _drug(org: etree._Element, d: Drug, fda: bool) -> None:
    sa = el(el(org, "component", typeCode="COMP"), "substanceAdministration",
            classCode="SBADM", moodCode="EVN")
    el(sa, "id", root=d.id)
    iok = el(el(sa, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST")
    kp = el(iok, "kindOfProduct", classCode="MMAT", determinerCode="KIND")
    if d.mpid:
        c = el(kp, "code", code=d.mpid, codeSystem=d.mpid_system or _cs("ndc"))
        if d.mpid_version:
            c.set("codeSystemVersion", d.mpid_version)
    text_el(kp, "name", d.name)
    authorised = any(v is not None for v in (d.authorisation_number, d.authorisation_holder,
                                             d.authorisation_country))
    special = fda and d.fda_specialized_category is not None
    amp = el(kp, "asManufacturedProduct", classCode="MANU") if authorised or special else None
    if amp is not None and authorised:
        ap = el(el(amp, "subjectOf", typeCode="SBJ"), "approval", classCode="CNTRCT",
                moodCode="EVN")
        id_el(ap, oid("id", "authorisation"), d.authorisation_number)
        if d.authorisation_holder is not None:
            po = el(el(el(ap, "holder", typeCode="HLD"), "role", classCode="HLD"),
                    "playingOrganization", classCode="ORG", determinerCode="INSTANCE")
            text_el(po, "name", d.authorisation_holder)
        if d.authorisation_country is not None:
            t = el(el(el(ap, "author", typeCode="AUT"), "territorialAuthority", classCode="TERR"),
                   "territory", classCode="NAT", determinerCode="INSTANCE")
            code_el(t, "code", d.authorisation_country, _cs("country"))
    if amp is not None and special:
        # FDA.G.k.10.1: a characteristic of the manufactured product, NCIt C94031
        ch = el(el(amp, "subjectOf", typeCode="SBJ"), "characteristic", classCode="OBS",
                moodCode="EVN")
        el(ch, "code", code=oid("ncit_codes", "specialized_category"), codeSystem=_cs("ncit"))
        value_ce(ch, d.fda_specialized_category, _cs("ncit"))
    for s in d.substances:
        ing = el(kp, "ingredient", classCode="ACTI")
        if s.strength is not None:
            qn = el(ing, "quantity")
            pq_el(qn, "numerator", s.strength)
            el(qn, "denominator", value="1", unit="1")
        sub = el(ing, "ingredientSubstance", classCode="MMAT", determinerCode="KIND")
        if s.term_id:
            c = el(sub, "code", code=s.term_id, codeSystem=s.term_id_system or _cs("unii"))
            if s.term_id_version:
                c.set("codeSystemVersion", s.term_id_version)
        text_el(sub, "name", s.name)
    if fda:
        for dev in d.fda_devices:
            _device(kp, dev)
    if d.country_obtained is not None:
        pe = el(el(iok, "subjectOf", typeCode="SBJ"), "productEvent", classCode="ACT",
                moodCode="EVN")
        el(pe, "code", code="1", codeSystem=_cs("product_event"))
        ro = el(el(el(pe, "performer", typeCode="PRF"), "assignedEntity", classCode="ASSIGNED"),
                "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
        text_el(el(ro, "addr"), "country", d.country_obtained)
    for link in d.reactions:
        for type_code, qty in (("SAS", link.start_interval), ("SAE", link.end_interval)):
            if qty is None:
                continue
            r1 = el(sa, "outboundRelationship1", typeCode=type_code)
            pq_el(r1, "pauseQuantity", qty)
            ref = el(r1, "actReference", classCode="OBS", moodCode="EVN")
            el(ref, "id", root=link.reaction_id)
    rel = "outboundRelationship2"
    if d.investigational is not None:
        value_bl(observation(sa, rel, _oc("investigational")), d.investigational)
    if d.cumulative_dose is not None:
        pq_el(observation(sa, rel, _oc("cumulative_dose"), rel_type="SUMM"), "value",
              d.cumulative_dose, "PQ")
    if d.gestation_exposure is not None:
        pq_el(observation(sa, rel, _oc("gestation_period")), "value", d.gestation_exposure,
              "PQ")
    for link in d.reactions:
        if link.recurrence is None:
            continue
        o = observation(sa, rel, _oc("recurrence"))
        value_ce(o, link.recurrence, _cs("recurrence"))
        ref = el(el(o, "outboundRelationship1", typeCode="REFR"), "actReference",
                 classCode="OBS", moodCode="EVN")
        el(ref, "id", root=link.reaction_id)
    for code in d.additional_info_codes:
        value_ce(observation(sa, rel, _oc("additional_info_coded"), rel_type="REFR"), code,
                 _cs("additional_info"))
    if fda:
        for code in d.fda_additional_info_codes:
            value_ce(observation(sa, rel, _oc("additional_info_coded"), rel_type="REFR"), code,
                     _cs("fda_additional_info"))
    if d.additional_info is not None:
        value_text(observation(sa, rel, _oc("additional_info_text"), rel_type="REFR"),
                   d.additional_info, "ST")
    for ds in d.dosages:
        _dosage(sa, ds)
    for ind in d.indications:
        o = observation(sa, "inboundRelationship", _oc("indication"), rel_type="RSON")
        value_meddra(o, ind)
        ent = el(el(o, "performer", typeCode="PRF"), "assignedEntity", classCode="ASSIGNED")
        el(ent, "code", code=oid("source_codes", "reporter"), codeSystem=_cs("source"))
    if d.action_taken is not None:
        act = el(el(sa, "inboundRelationship", typeCode="CAUS"), "act", classCode="ACT",
                 moodCode="EVN")
        code_el(act, "code", d.action_taken, _cs("action_taken"))


def _device(kp: etree._Element, dev: FdaDevice) -> None:
    ncit = _cs("ncit")
    pp = el(el(kp, "part", classCode="PART"), "partProduct", classCode="DEV",
            determinerCode="KIND")
    el(pp, "code", code=dev.product_code or oid("ncit_codes", "device_part"), codeSystem=ncit)
    text_el(pp, "name", dev.brand_name)
    text_el(pp, "name", dev.common_name)
    amp = el(pp, "asManufacturedProduct", classCode="MANU")
    addr_vals = (dev.manufacturer_street, dev.manufacturer_city, dev.manufacturer_state,
                 dev.manufacturer_country)
    if dev.manufacturer_name is not None or any(v is not None for v in addr_vals):
        mo = el(amp, "manufacturerOrganization", classCode="ORG", determinerCode="INSTANCE")
        text_el(mo, "name", dev.manufacturer_name)
        if any(v is not None for v in addr_vals):
            ad = el(mo, "addr")
            text_el(ad, "streetAddressLine", dev.manufacturer_street)
            text_el(ad, "city", dev.manufacturer_city)
            text_el(ad, "state", dev.manufacturer_state)
            text_el(ad, "country", dev.manufacturer_country)

    def characteristic(code: str, cs: str = ncit) -> etree._Element:
        ch = el(el(amp, "subjectOf", typeCode="SBJ"), "characteristic", classCode="OBS",
                moodCode="EVN")
        el(ch, "code", code=code, codeSystem=cs)
        return ch

    if dev.malfunction is not None:
        value_bl(characteristic(oid("ncit_codes", "malfunction")), dev.malfunction)
    for c in dev.problem_codes:
        value_ce(characteristic(oid("ncit_codes", "device_problem")), c, ncit)
    if dev.usage is not None:
        value_ce(characteristic(oid("ncit_codes", "device_usage"), _cs("observation")),
                 dev.usage, _cs("fda_device_usage"))
    for c in dev.remedial_actions:
        value_ce(characteristic(oid("ncit_codes", "remedial_action")), c,
                 _cs("fda_remedial_action"))
    for c in dev.follow_up_types:
        value_ce(characteristic(oid("ncit_codes", "followup_type")), c,
                 _cs("fda_followup_type"))
    if dev.operator is not None:
        value_ce(characteristic(oid("ncit_codes", "device_operator")), dev.operator,
                 _cs("fda_device_operator"))
    if dev.lot_number is not None:
        pi = el(el(pp, "instanceOfKind", classCode="INST"), "productInstanceInstance",
                classCode="DEV", determinerCode="INSTANCE")
        text_el(pi, "lotNumberText", dev.lot_number)


def _dosage(sa: etree._Element, ds: Dosage) -> None:
    x = el(el(sa, "outboundRelationship2", typeCode="COMP"), "substanceAdministration",
           classCode="SBADM", moodCode="EVN")
    text_el(x, "text", ds.text)
    has_interval = ds.number_of_units is not None or (ds.interval is not None
                                                      and ds.interval.unit is not None)
    if (isinstance(ds.start, NullFlavor) and ds.end is None and ds.duration is None
            and not has_interval):
        el(x, "effectiveTime", nullFlavor=ds.start.value)
    elif has_interval or ds.start is not None or ds.end is not None or ds.duration is not None:
        eff = el(x, "effectiveTime")
        if has_interval:
            eff.set(XSI_TYPE, "SXPR_TS")
            comp = el(eff, "comp")
            comp.set(XSI_TYPE, "PIVL_TS")
            per = el(comp, "period")
            if ds.number_of_units is not None:
                per.set("value", fmt_number(ds.number_of_units))
            if ds.interval is not None and ds.interval.unit is not None:
                per.set("unit", ds.interval.unit)
            if ds.start is not None or ds.end is not None or ds.duration is not None:
                ivl = el(eff, "comp", operator="A")
                ivl.set(XSI_TYPE, "IVL_TS")
                _ivl(ivl, ds)
        else:
            eff.set(XSI_TYPE, "IVL_TS")
            _ivl(eff, ds)
    if ds.route is not None or ds.route_termid is not None:
        rc = el(x, "routeCode")
        if ds.route_termid:
            rc.set("code", ds.route_termid)
            rc.set("codeSystem", ds.route_termid_system or _cs("edqm_route"))
            if ds.route_termid_version:
                rc.set("codeSystemVersion", ds.route_termid_version)
        text_el(rc, "originalText", ds.route)
    pq_el(x, "doseQuantity", ds.dose)
    if ds.batch_lot is not None or ds.dose_form is not None or ds.dose_form_termid is not None:
        iok = el(el(x, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST")
        if ds.batch_lot is not None:
            pi = el(iok, "productInstanceInstance", classCode="MMAT", determinerCode="INSTANCE")
            text_el(pi, "lotNumberText", ds.batch_lot)
        if ds.dose_form is not None or ds.dose_form_termid is not None:
            kp = el(iok, "kindOfProduct", classCode="MMAT", determinerCode="KIND")
            fc = el(kp, "formCode")
            if ds.dose_form_termid:
                fc.set("code", ds.dose_form_termid)
                fc.set("codeSystem", ds.dose_form_termid_system or _cs("edqm_dose_form"))
                if ds.dose_form_termid_version:
                    fc.set("codeSystemVersion", ds.dose_form_termid_version)
            text_el(fc, "originalText", ds.dose_form)
    if ds.parent_route is not None or ds.parent_route_termid is not None:
        o = observation(x, "inboundRelationship", _oc("parent_route"), rel_type="REFR")
        v = el(o, "value")
        v.set(XSI_TYPE, "CE")
        if ds.parent_route_termid:
            v.set("code", ds.parent_route_termid)
            v.set("codeSystem", ds.parent_route_termid_system or _cs("edqm_route"))
            if ds.parent_route_termid_version:
                v.set("codeSystemVersion", ds.parent_route_termid_version)
        text_el(v, "originalText", ds.parent_route)


def _ivl(e: etree._Element, ds: Dosage) -> None:
    ts_el(e, "low", ds.start)
    ts_el(e, "high", ds.end)
    pq_el(e, "width", ds.duration)

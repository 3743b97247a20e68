"""What HL7 v3 permits where the E2B(R3) element tables are silent.

The structure table (``schemas/e2b-structure.json``) names the elements the ICH and FDA
tables and the official instances place. HL7 permits more in two regular places, which the
implementation guides rely on without listing every instance:

- **inside a value of a data type** (Data Types R1, the XML ITS the ICH schemas use): an ED
  (a narrative ``<text>``, an ``originalText``) may hold a ``<reference>`` and a
  ``<thumbnail>``; a CD/CE its ``originalText``, ``translation`` and ``qualifier``; an
  interval ``low``/``high``/``center``/``width``; a name its parts; and so on;
- **on an act relationship or a participation** (RIM class attributes): for example
  ``sequenceNumber`` on an ``outboundRelationship2``, ``time`` on an ``author``.

:func:`permitted` says whether a child the table does not name is one of these, and returns
the data type it then has (for checking inside it). Decisions are recorded in
``schemas/README.md``.
"""

from __future__ import annotations

import re

from lxml import etree

from safety.e2b.hl7 import XSI_TYPE

# Data types R1 (XML ITS): the child elements of each type, and the type of each child.
_ANY: dict[str, str] = {}
DATATYPE_CHILDREN: dict[str, dict[str, str]] = {
    "ED": {"reference": "TEL", "thumbnail": "ED"},
    "ST": {},
    "CD": {"originalText": "ED", "qualifier": "CR", "translation": "CD"},
    "CE": {"originalText": "ED", "translation": "CD"},
    "CV": {"originalText": "ED"},
    "CO": {"originalText": "ED"},
    "CS": {},
    "CR": {"name": "CV", "value": "CD"},
    "PQ": {"translation": "PQR"},
    "PQR": {"originalText": "ED"},
    "TS": {},
    "IVL_TS": {"low": "TS", "center": "TS", "width": "PQ", "high": "TS"},
    "IVL_PQ": {"low": "PQ", "center": "PQ", "width": "PQ", "high": "PQ"},
    "IVL_INT": {"low": "INT", "center": "INT", "width": "INT", "high": "INT"},
    "PIVL_TS": {"phase": "IVL_TS", "period": "PQ"},
    "EIVL_TS": {"event": "CE", "offset": "IVL_PQ"},
    "SXPR_TS": {"comp": "SXCM_TS"},
    "SXCM_TS": {"low": "TS", "center": "TS", "width": "PQ", "high": "TS", "phase": "IVL_TS",
                "period": "PQ", "event": "CE", "offset": "IVL_PQ", "comp": "SXCM_TS"},
    "EN": {p: "ST" for p in ("delimiter", "family", "given", "prefix", "suffix")}
    | {"validTime": "IVL_TS"},
    "AD": {p: "ST" for p in (
        "delimiter", "country", "state", "county", "city", "postalCode", "streetAddressLine",
        "houseNumber", "houseNumberNumeric", "direction", "streetName", "streetNameBase",
        "streetNameType", "additionalLocator", "unitID", "unitType", "careOf",
        "censusTract", "deliveryAddressLine", "deliveryInstallationType",
        "deliveryInstallationArea", "deliveryInstallationQualifier", "deliveryMode",
        "deliveryModeIdentifier", "buildingNumberSuffix", "postBox", "precinct")}
    | {"useablePeriod": "IVL_TS"},
    "TEL": {"useablePeriod": "IVL_TS"},
    "II": {}, "BL": {}, "INT": {}, "REAL": {}, "MO": {}, "RTO": {}, "URL": {},
}
for _alias, _of in (("PN", "EN"), ("ON", "EN"), ("TN", "EN"), ("CV", "CV"), ("SC", "ST"),
                    ("IVL_TS", "IVL_TS"), ("BN", "EN")):
    DATATYPE_CHILDREN.setdefault(_alias, DATATYPE_CHILDREN[_of])

# The type of an RIM attribute by its element name, when no xsi:type says it.
_BY_NAME = {
    "text": "ED", "originalText": "ED", "title": "ST", "code": "CD", "name": "EN",
    "addr": "AD", "telecom": "TEL", "effectiveTime": "IVL_TS", "availabilityTime": "TS",
    "activityTime": "IVL_TS", "birthTime": "TS", "deceasedTime": "TS", "time": "IVL_TS",
    "id": "II", "quantity": "PQ", "doseQuantity": "IVL_PQ", "rateQuantity": "IVL_PQ",
    "period": "PQ", "low": "TS", "high": "TS", "center": "TS", "width": "PQ",
    "translation": "CD", "reference": "TEL", "thumbnail": "ED", "value": "ANY",
    "sequenceNumber": "INT", "priorityNumber": "INT", "negationInd": "BL",
    "contextConductionInd": "BL", "seperatableInd": "BL", "independentInd": "BL",
    "interruptibleInd": "BL", "repeatNumber": "IVL_INT", "signatureText": "ED",
    "noteText": "ED", "pauseQuantity": "PQ", "localVariableName": "ST", "derivationExpr": "ST",
    "lotNumberText": "ST", "expirationTime": "IVL_TS", "desc": "ED",
}
_CODED = re.compile(r".*Code$")

# RIM ActRelationship (outboundRelationship2, component, subjectOf2, ...) and Participation
# (author, subject, ...) attributes that are elements in the XML ITS: they stand before the
# act or role the relationship points to.
ACT_RELATIONSHIP_ATTRIBUTES = frozenset({
    "sequenceNumber", "priorityNumber", "pauseQuantity", "checkpointCode", "splitCode",
    "joinCode", "negationInd", "conjunctionCode", "localVariableName", "seperatableInd",
    "uncertaintyCode", "contextConductionInd", "realmCode", "typeId", "templateId"})
PARTICIPATION_ATTRIBUTES = frozenset({
    "time", "modeCode", "awarenessCode", "signatureCode", "signatureText", "performInd",
    "substitutionConditionCode", "priorityNumber", "functionCode", "contextControlCode",
    "sequenceNumber", "noteText", "realmCode", "typeId", "templateId"})
ACT_CLASSES = frozenset({
    "act", "observation", "substanceAdministration", "organizer", "procedure", "encounter",
    "supply", "document", "investigationEvent", "adverseEventAssessment", "observationEvent",
    "causalityAssessment", "productUseReference", "adverseEffectReference", "controlActProcess",
    "researchStudy", "actReference"})
ROLE_CLASSES = frozenset({
    "assignedEntity", "primaryRole", "role", "assignedPerson", "representedOrganization",
    "asIdentifiedEntity", "associatedPerson", "device", "manufacturedProduct",
    "instanceOfKind", "consumable", "product", "player1", "player2", "playingEntity",
    "asRole", "studySite", "location", "relationshipHolder1"})


def datatype_of(el: etree._Element) -> str | None:
    """The HL7 data type of a value element: its xsi:type, else what its name says."""
    declared = el.get(XSI_TYPE)
    if declared:
        return declared.rsplit(":", 1)[-1]
    name = etree.QName(el).localname
    if name in _BY_NAME:
        return _BY_NAME[name]
    return "CD" if _CODED.match(name) else None


def permitted(parent: etree._Element, child: etree._Element,
              known_children: set[str], table_type: str | None = None) -> str | None:
    """The data type (or ``"RIM"``) under which HL7 permits ``child`` in ``parent`` although
    the structure table does not name it; ``None`` when HL7 does not permit it either.
    ``known_children`` are the local names the table allows in ``parent``; ``table_type`` the
    data type the element tables give ``parent`` (its ``xsi:type`` counts when it declares a
    specialisation, then its name when neither says)."""
    name = etree.QName(child).localname
    if not known_children:  # a value element: its data type says what it may hold
        dt = (parent.get(XSI_TYPE) or "").rsplit(":", 1)[-1] or table_type \
            or datatype_of(parent)
        if dt is not None and name in DATATYPE_CHILDREN.get(dt, _ANY):
            return DATATYPE_CHILDREN[dt][name]
        return None
    if known_children & ACT_CLASSES and name in ACT_RELATIONSHIP_ATTRIBUTES:
        return datatype_of(child) or "RIM"
    if known_children & ROLE_CLASSES and name in PARTICIPATION_ATTRIBUTES:
        return datatype_of(child) or "RIM"
    return None


def inside_value(el: etree._Element, datatype: str) -> list[tuple[etree._Element, str | None]]:
    """Each child of a value ``el`` of ``datatype`` with its own data type (``None``: HL7 does
    not permit it there)."""
    declared = el.get(XSI_TYPE)
    allowed = DATATYPE_CHILDREN.get(declared.rsplit(":", 1)[-1] if declared else datatype,
                                    _ANY)
    return [(c, allowed.get(etree.QName(c).localname)) for c in el if isinstance(c.tag, str)]

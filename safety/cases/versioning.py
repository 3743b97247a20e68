"""Versioning: what a newly received report becomes in the light of the cases on file.

Two questions, answered here as pure functions of plain data:

1. **Which case is it about?** A report is a version of an existing case when (ICH E2B(R3)
   C.1.1, C.1.8.1, C.1.9.1.r, C.1.10.r):
   A report is a version of an existing case when
   - its sender and sender's case id (C.3.2 + C.1.1) equal the existing case's, or
   - its worldwide unique case id (C.1.8.1) equals the existing case's worldwide id or case id, or
   - it cites the existing case in C.1.9.1.r (source + case id) or C.1.10.r (linked report id),
     or the existing case cites it that way.
   A citation from a *different* sender does not make a version: the other sender holds its own
   case about the same patient and event, so the pair is a near-certain duplicate for a physician
   to confirm. Identifiers compare normalised (case, spaces and punctuation ignored) and sender
   case ids are scoped by sender, because senders reuse simple numbering ("2024-0001").

   C.1.10.r also links related but distinct reports (parent and child, siblings); those are only
   offered as duplicates, never merged, because the citing sender is usually another sender.

   Intake processing looks a report up by its sender and sender's case id, then by its
   worldwide case id; the duplicate screening links by every identifier (:func:`link`).

2. **What does it add?** (:func:`decide`) A first report makes a new case; a later one a
   follow-up version, unless it is held (the case was nullified: nullification is final,
   E2B(R3) C.1.11.1, and new information on it is for a person to judge), or it is an
   identical re-send of the sender's latest report (a double-clicked form, a retry without an
   Idempotency-Key, a partner sending a message again), which joins that version instead of
   becoming an empty follow-up. A follow-up on a closed case reopens it, so new information
   does not sit unseen outside the working queue; an open case that was signed stays where it
   is (its signature no longer matches the new version).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from safety.cases.identifiers import norm_id, norm_text
from safety.cases.model import CaseVersionData
from safety.cases.workflow import CaseState

Relation = Literal["followup", "duplicate"]

# Rules in the order of their strength; the first that fires names the link.
RULES = ("sender_case_id", "worldwide_case_id", "other_case_id", "linked_report_id",
         "shared_citation")
CITED_DUPLICATE_SCORE = 0.99


@dataclass(frozen=True, slots=True)
class Identity:
    """The identifiers of one case: the keys it is known under and the keys it cites."""

    sender: str | None = None
    own: frozenset[str] = field(default_factory=frozenset)
    cited: frozenset[str] = field(default_factory=frozenset)

    def keys(self) -> frozenset[str]:
        """Every key to index (and to look up): a link needs one shared key."""
        return self.own | self.cited

    def to_json(self) -> dict[str, object]:
        return {"sender": self.sender, "own": sorted(self.own), "cited": sorted(self.cited)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        sender = data.get("sender")
        return cls(
            sender=sender if isinstance(sender, str) else None,
            own=frozenset(data.get("own") or ()),
            cited=frozenset(data.get("cited") or ()),
        )


@dataclass(frozen=True, slots=True)
class IdLink:
    """An identifier-based link of an incoming report to an existing case."""

    case_id: str
    relation: Relation
    rule: str
    key: str

    @property
    def score(self) -> float:
        return 1.0 if self.relation == "followup" else CITED_DUPLICATE_SCORE


def identity(case: CaseVersionData) -> Identity:
    """Identifiers of a case version, normalised and prefixed by kind."""
    a = case.admin
    sender = norm_text(case.sender.organisation)
    rid = norm_id(a.sender_safety_report_id)
    wid = norm_id(a.worldwide_case_id)
    own: set[str] = set()
    if rid and sender:
        own.add(f"sid:{sender}|{rid}")
    if rid:
        own.add(f"rid:{rid}")
    if wid:
        own.add(f"wid:{wid}")
    cited: set[str] = set()
    for other in a.other_case_ids:
        cid = norm_id(other.case_id)
        src = norm_text(other.source)
        if cid and src:
            cited.add(f"sid:{src}|{cid}")
        elif cid:
            cited.add(f"lid:{cid}")
    for linked in a.linked_report_ids:
        lid = norm_id(linked)
        if lid:
            cited.add(f"lid:{lid}")
    return Identity(sender=sender, own=frozenset(own), cited=frozenset(cited))


def _global(value: str) -> bool:
    """Whether an id looks worldwide-unique (``FR-ACME-2024-000123``), not a bare serial.

    Only such ids may match across kinds (a worldwide id against a sender's case id), because
    senders reuse serials like ``2024-0128`` and a bare serial names no case on its own.
    """
    return len(value) >= 8 and any(c.isalpha() for c in value) and any(c.isdigit() for c in value)


def _rule(incoming: Identity, existing: Identity) -> tuple[str, str] | None:
    """The strongest rule linking the two identities, with the key that matched."""
    inc_sid = {k for k in incoming.own if k.startswith("sid:")}
    ex_sid = {k for k in existing.own if k.startswith("sid:")}
    if shared := inc_sid & ex_sid:
        return "sender_case_id", min(shared)
    inc_wid = {k[4:] for k in incoming.own if k.startswith("wid:")}
    ex_wid = {k[4:] for k in existing.own if k.startswith("wid:")}
    inc_rid = {k[4:] for k in incoming.own if k.startswith("rid:") and _global(k[4:])}
    ex_rid = {k[4:] for k in existing.own if k.startswith("rid:") and _global(k[4:])}
    if shared := (inc_wid & (ex_wid | ex_rid)) | (ex_wid & inc_rid):
        return "worldwide_case_id", f"wid:{min(shared)}"
    if shared := (ex_sid & incoming.cited) | (inc_sid & existing.cited):
        return "other_case_id", min(shared)
    inc_lid = {k[4:] for k in incoming.cited if k.startswith("lid:")}
    ex_lid = {k[4:] for k in existing.cited if k.startswith("lid:")}
    if shared := (inc_lid & (ex_rid | ex_wid)) | (ex_lid & (inc_rid | inc_wid)):
        return "linked_report_id", f"lid:{min(shared)}"
    # Both cite the same sender + case number (intake keeps a partner's own case id as a
    # C.1.9.1.r citation when it gives the case ours in C.1.1): two cases of one original
    # report, a duplicate even from one sender, which then holds it twice under two ids.
    cited_sid = {k for k in incoming.cited if k.startswith("sid:")}
    if shared := cited_sid & existing.cited:
        return "shared_citation", min(shared)
    return None


def link(incoming: Identity, existing: Iterable[tuple[str, Identity]]) -> list[IdLink]:
    """Identifier links of ``incoming`` to existing cases, strongest first.

    ``existing`` is typically the rows an index returned for ``incoming.keys()``; passing more
    is harmless, only slower.
    """
    links: list[IdLink] = []
    for case_id, ex in existing:
        found = _rule(incoming, ex)
        if found is None:
            continue
        rule, key = found
        same_sender = incoming.sender is not None and incoming.sender == ex.sender
        if rule in ("sender_case_id", "worldwide_case_id") or (
                same_sender and rule != "shared_citation"):
            relation: Relation = "followup"
        else:
            relation = "duplicate"
        links.append(IdLink(case_id=case_id, relation=relation, rule=rule, key=key))
    links.sort(key=lambda lk: (lk.relation != "followup", RULES.index(lk.rule), lk.case_id))
    return links


def followup_of(incoming: Identity, existing: Iterable[tuple[str, Identity]]) -> str | None:
    """The case this report is a new version of, or ``None`` when it is not a follow-up."""
    links = link(incoming, existing)
    return links[0].case_id if links and links[0].relation == "followup" else None


class IdIndex:
    """In-memory identifier index with the same semantics as the database table in store.py."""

    def __init__(self) -> None:
        self._by_key: dict[str, set[str]] = {}
        self._identity: dict[str, Identity] = {}

    def add(self, case_id: str, ident: Identity) -> None:
        """Register (or re-register after a follow-up) the identifiers of a case."""
        old = self._identity.get(case_id)
        if old is not None:
            ident = Identity(
                sender=old.sender or ident.sender,
                own=old.own | ident.own,
                cited=old.cited | ident.cited,
            )
        self._identity[case_id] = ident
        for key in ident.keys():
            self._by_key.setdefault(key, set()).add(case_id)

    def candidates(self, ident: Identity) -> list[tuple[str, Identity]]:
        ids: set[str] = set()
        for key in ident.keys() | _cross_keys(ident):
            ids |= self._by_key.get(key, set())
        return [(cid, self._identity[cid]) for cid in sorted(ids)]

    def link(self, ident: Identity) -> list[IdLink]:
        return link(ident, self.candidates(ident))


def _cross_keys(ident: Identity) -> set[str]:
    """Keys under which a *different kind* of identifier of the same value is indexed.

    A worldwide id may equal another case's sender case id, and a C.1.10.r link names a case id
    without saying which kind; the lookup therefore also asks for the other kinds.
    """
    out: set[str] = set()
    for k in ident.own | ident.cited:
        kind, _, value = k.partition(":")
        if kind in ("wid", "rid", "lid"):
            out |= {f"wid:{value}", f"rid:{value}", f"lid:{value}"}
    return out


def lookup_keys(ident: Identity) -> frozenset[str]:
    """Keys to look up in the identifier index for an incoming report."""
    return frozenset(ident.keys() | _cross_keys(ident))


class VersionKind(StrEnum):
    INITIAL = "initial"
    FOLLOW_UP = "followup"
    # A person corrected the case or recorded the sponsor's assessment: no report behind it.
    CORRECTION = "correction"


@dataclass(frozen=True, slots=True)
class CaseOnFile:
    """The case a report was matched to, as far as the decision needs it."""

    case_number: str
    state: CaseState
    current_version: int


@dataclass(frozen=True, slots=True)
class PriorReport:
    """The sender's latest processed report on that case."""

    report_id: str
    payload_sha256: str
    payload: Any
    version: int


class Outcome(StrEnum):
    NEW_CASE = "new_case"
    FOLLOW_UP = "follow_up"
    IDENTICAL_RESEND = "identical_resend"
    HELD = "held"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    version: int | None = None  # the version the report becomes (or joins)
    kind: VersionKind | None = None
    reopen: bool = False  # a follow-up on a closed case reopens it
    finding: dict[str, str] | None = None  # why it was held or joined, for the report
    reason: str = ""


def decide(case: CaseOnFile | None, *, payload_sha256: str,
           payload: Any, sender_latest: PriorReport | None) -> Decision:
    """What a valid report becomes, given the case it names (``None``: none on file). A
    report whose earlier report of the same sender case is not done is not decided yet: it
    waits (``safety.intake.processing``)."""
    if case is None:
        return Decision(Outcome.NEW_CASE, version=1, kind=VersionKind.INITIAL,
                        reason="initial report")
    if case.state == CaseState.NULLIFIED:
        message = (f"case {case.case_number} was nullified; a report on it is held for review, "
                   "not added as a version")
        return Decision(Outcome.HELD, finding={"code": "case_nullified", "criterion": "",
                                               "message": message},
                        reason=f"case {case.case_number} is nullified")
    if (sender_latest is not None and sender_latest.payload_sha256 == payload_sha256
            and sender_latest.payload == payload):
        # The digest is of the body as received; an E2B batch's messages share one body, so
        # the payloads themselves decide.
        message = (f"identical to report {sender_latest.report_id}, already version "
                   f"{sender_latest.version} of case {case.case_number}: no new version")
        return Decision(Outcome.IDENTICAL_RESEND, version=sender_latest.version,
                        finding={"code": "identical_resend", "criterion": "",
                                 "message": message},
                        reason=f"identical re-send of report {sender_latest.report_id} "
                               f"(version {sender_latest.version})")
    version = case.current_version + 1
    return Decision(Outcome.FOLLOW_UP, version=version, kind=VersionKind.FOLLOW_UP,
                    reopen=case.state == CaseState.CLOSED, reason="follow-up report")

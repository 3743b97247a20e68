"""Follow-up linkage: recognising a new version of a known case by its identifiers alone.

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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from safety.cases.model import CaseVersionData
from safety.dedup.profile import norm_id, norm_text

Relation = Literal["followup", "duplicate"]

# Rules in the order of their strength; the first that fires names the link.
RULES = ("sender_case_id", "worldwide_case_id", "other_case_id", "linked_report_id")
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
    def from_json(cls, data: dict[str, object]) -> Identity:
        sender = data.get("sender")
        return cls(
            sender=sender if isinstance(sender, str) else None,
            own=frozenset(data.get("own") or ()),  # type: ignore[arg-type]
            cited=frozenset(data.get("cited") or ()),  # type: ignore[arg-type]
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
    if shared := (incoming.cited & ex_sid) | (existing.cited & inc_sid):
        return "other_case_id", min(shared)
    inc_lid = {k[4:] for k in incoming.cited if k.startswith("lid:")}
    ex_lid = {k[4:] for k in existing.cited if k.startswith("lid:")}
    if shared := (inc_lid & (ex_rid | ex_wid)) | (ex_lid & (inc_rid | inc_wid)):
        return "linked_report_id", f"lid:{min(shared)}"
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
        if rule in ("sender_case_id", "worldwide_case_id") or same_sender:
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

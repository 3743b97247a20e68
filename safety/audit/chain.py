"""The hash chain of the audit trail: what makes a changed or removed audit event visible.

Each event carries ``seq`` (its place in its chain, from 1), ``prev_hash`` (the hash of the
event before it, none for the first) and ``hash``, the SHA-256 of a canonical text of the event
with both. Changing any field of an event breaks its own hash; removing one leaves a gap in
``seq`` and a ``prev_hash`` that names nothing. There is one chain per sponsor and one for the
events that belong to no sponsor (administration of accounts and sponsors): a sponsor's trail
can be verified, or handed to its inspector, on its own, and sponsors never wait on each other
to write their events (docs/decisions.md).

The canonical text is every field as ``<length>:<text>`` (``~`` for none), lengths counted in
characters, so no value can pass for two. PostgreSQL computes the same text in SQL when it
seals an event (migration 0005, ``audit_events_seal``); SQLite's events are sealed by the store
with this module. ``changes`` is taken as the database's own canonical text of the JSON: its
``jsonb`` text on PostgreSQL, :func:`canonical_changes` elsewhere. An event not sealed yet
(PostgreSQL seals in batches, within seconds) is counted as pending, not as a break.

Plain Python: no database here.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VERSION = "v1"
NONE = "~"


@dataclass(frozen=True)
class Link:
    """The hashed content of one audit event: its fields and its place in its chain."""

    seq: int | None  # None only when read back from an event never sealed
    prev_hash: str | None
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    case_id: uuid.UUID | None
    sponsor_id: int | None
    changes_text: str
    reason: str | None


def timestamp(at: datetime) -> str:
    """An event's time as hashed: UTC, to the microsecond (what both databases keep)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def canonical_changes(changes: Any) -> str:
    """The canonical JSON text of an event's ``changes`` where the database has none of its
    own (SQLite): sorted keys, no spaces, characters as they are."""
    return json.dumps(changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _field(value: str | None) -> str:
    return NONE if value is None else f"{len(value)}:{value}"


def material(link: Link) -> str:
    """The canonical text of an event, as hashed."""
    fields = (VERSION, None if link.seq is None else str(link.seq), link.prev_hash,
              timestamp(link.at), link.actor, link.action, link.entity_type, link.entity_id,
              None if link.case_id is None else str(link.case_id),
              None if link.sponsor_id is None else str(link.sponsor_id),
              link.changes_text, link.reason)
    return "".join(_field(f) for f in fields)


def link_hash(link: Link) -> str:
    """The hash an event must carry (hex SHA-256 of its canonical text)."""
    return hashlib.sha256(material(link).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredLink:
    """An event as read back for verification: its row id, its content and what it carries."""

    id: int
    link: Link
    hash: str | None


@dataclass(frozen=True)
class Break:
    """The first link of a chain that does not hold, and why."""

    row_id: int
    seq: int | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    """One chain walked: how many events, its head (to record elsewhere: removing the last
    events of a chain is visible only against a head kept outside the database) and its first
    broken link, if any."""

    chain: int | None  # the sponsor id; None for the events that belong to no sponsor
    events: int
    head_seq: int | None
    head_hash: str | None
    broken: Break | None
    pending: int = 0  # events written but not sealed yet


def walk(chain: int | None, rows: Iterable[StoredLink]) -> ChainReport:
    """Walk one chain in ``seq`` order (the events awaiting their seal after it) and name
    the first event whose place or hash is wrong.

    An event changed in place fails its own hash; an event removed leaves the next one with a
    ``seq`` that skips and a ``prev_hash`` that is not its predecessor's; one inserted among
    them takes a place already taken or breaks the next one's ``prev_hash``."""
    expected_seq, prev = 1, None
    events, pending, broken = 0, 0, None
    head_seq: int | None = None
    head_hash: str | None = None
    for row in rows:
        events += 1
        if row.hash is None or row.link.seq is None:
            pending += 1
            continue
        head_seq, head_hash = row.link.seq, row.hash
        if broken is None:
            broken = _check(row, expected_seq, prev)
            expected_seq, prev = row.link.seq + 1, row.hash
    return ChainReport(chain, events, head_seq, head_hash, broken, pending)


def _check(row: StoredLink, expected_seq: int, prev: str | None) -> Break | None:
    link = row.link
    if link.seq != expected_seq:
        return Break(row.id, link.seq,
                     f"sequence {link.seq} where {expected_seq} was expected (an event "
                     "before it was removed, or one inserted)")
    if link.prev_hash != prev:
        return Break(row.id, link.seq, "previous hash does not match the event before it")
    if link_hash(link) != row.hash:
        return Break(row.id, link.seq,
                     "hash does not match the event's content (changed after it was written)")
    return None

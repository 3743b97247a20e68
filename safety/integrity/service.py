"""Verify the audit trail: recompute every chain and name the first link that does not hold.

A use case over ``safety.audit`` (the shells may not read the audit trail directly): the
events are read chain by chain, streamed, and walked by ``safety.audit.chain``; sponsors are
named by their codes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy.orm import Session

from safety.audit.chain import ChainReport, walk
from safety.audit.store import chain_links, seal_pending
from safety.sponsors.store import all_sponsors


@dataclass(frozen=True)
class ChainResult:
    """One chain and whose it is (a sponsor's code, or None for the events of no sponsor)."""

    sponsor: str | None
    report: ChainReport


@dataclass(frozen=True)
class TrailReport:
    chains: list[ChainResult]

    @property
    def intact(self) -> bool:
        return all(c.report.broken is None for c in self.chains)


def seal_audit_trail(session: Session) -> int:
    """Seal the audit events written since the last seal into their chains (the scheduler's
    job every few seconds; ``safety audit seal``); how many. The caller commits, at once:
    the seal holds the sealer's lock until then."""
    return seal_pending(session)


def verify_audit_trail(session: Session,
                       sponsor_ids: Collection[int] | None = None) -> TrailReport:
    """Walk every chain (``sponsor_ids`` given: only those sponsors' chains) and report each
    one's events, head and first broken link."""
    codes = {s.id: s.code for s in all_sponsors(session)}
    results = []
    for chain, links in groupby(chain_links(session, sponsor_ids), key=lambda pair: pair[0]):
        report = walk(chain, (link for _, link in links))
        results.append(ChainResult(None if chain is None else codes.get(chain, str(chain)),
                                   report))
    return TrailReport(results)

"""Whose data a caller may see: the sponsors it works for, and within them its own site only
(site staff and site clients) or every site (the safety team). Services filter every read and
write by it, and the caller's database session is limited to its sponsors
(``safety.db.tenancy``); another sponsor's or site's object is answered as if it did not
exist, so nothing leaks its existence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    sponsor_ids: frozenset[int] | None  # None: every sponsor (the system, an operator)
    site_id: int | None = None  # site staff see their own site's data only

    def can_see(self, sponsor_id: int | None, site_id: int | None = None) -> bool:
        if self.sponsor_ids is not None and sponsor_id not in self.sponsor_ids:
            return False
        return self.site_id is None or (site_id is not None and site_id == self.site_id)

    @property
    def all_sites(self) -> bool:
        return self.site_id is None


EVERYTHING = Scope(sponsor_ids=None)

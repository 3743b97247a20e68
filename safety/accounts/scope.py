"""Whose data a caller may see: its own site only (site staff and site clients), or every site
(the safety team). Services filter every read and write by it; another site's object is
answered as if it did not exist, so nothing leaks its existence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    all_sites: bool
    site_id: int | None = None

    def can_see_site(self, site_id: int | None) -> bool:
        return self.all_sites or (site_id is not None and site_id == self.site_id)


EVERY_SITE = Scope(all_sites=True)

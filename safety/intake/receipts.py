"""Who received a report's information, and when, as the report itself says: the receipts by
party that start the sponsor's clock (day 0 is the earliest receipt by the sponsor or anyone
acting for it: ICH E2D 4.1; GVP Module VI.B.7, "where the marketing authorisation holder has
set up contractual arrangements with a person or an organisation ... the clock starts from the
date of receipt by that person or organisation").

- Every report: this organisation's own receipt at ``received_at`` (the CRO's safety desk
  receives for the sponsor; the instant in the sponsor's documented zone).
- An E2B message from a partner in the sponsor's configured list (``SponsorProfile.partners``:
  affiliate, licence partner, vendor under a safety data exchange agreement): the partner's
  own receipt, C.1.4 (date the report was first received from the source) for an initial
  report, C.1.5 (date of the most recent information) for a follow-up. A date without a day
  cannot start a clock and is not a receipt; a time without an offset is taken as the date.
- A site's SAE form: the investigator is not acting for the sponsor in receiving its own
  patient's event (ICH E6(R3) 3.13.2 / E6(R2) 4.11.1: the investigator reports SAEs to the
  sponsor, whose clock starts on receipt), so the site's awareness date starts no clock and is
  not a receipt; it stays in the form.

The receipts are kept with the report (``Report.receipts``, in the JSON shape of a history's
receipts: ``{"party", "role", "at"}``) and read by the rules stage
(``safety.rules.evaluation.case_history``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from safety.cases.model import CaseVersionData
from safety.cases.values import PartialDate
from safety.sponsors.profile import SponsorProfile

SPONSOR_ROLE = "sponsor"


def _at(value: object) -> str | None:
    """A receipt's ``at`` from a C.1.4/C.1.5 value: an instant with its offset, else the date;
    ``None`` when there is no full date."""
    if not isinstance(value, PartialDate) or not value.is_full_date:
        return None
    if value.hour is not None and value.tz_offset_minutes is not None:
        instant = value.to_datetime()
        assert instant is not None  # an hour is present
        return instant.isoformat()
    day = value.to_date()
    return day.isoformat() if day is not None else None


def report_receipts(sponsor: SponsorProfile, *, channel: str, sender: str,
                    received_at: datetime, data: CaseVersionData,
                    follow_up: bool) -> list[dict[str, Any]]:
    """The receipts a report carries (see the module docstring). ``data`` is the case as the
    sender wrote it (before this organisation's own C.1 is filled in); ``follow_up``: a later
    version of a case already on file."""
    out: list[dict[str, Any]] = [{
        "party": sponsor.code, "role": SPONSOR_ROLE,
        "at": received_at.astimezone(sponsor.zone).isoformat()}]
    if channel != "e2b":
        return out
    partner = sponsor.partner(sender)
    if partner is None:
        return out
    admin = data.admin
    at = _at(admin.most_recent_received if follow_up else admin.first_received)
    if follow_up and at is None:
        at = _at(admin.first_received)
    if at is not None:
        out.append({"party": partner.name, "role": partner.role, "at": at})
    return out

"""A case as a site reports it through the portal, with the demo registry and an IB loaded:
what the safety team then works, signs and sends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from factories.products import add_rsi, load_demo_registry, use_demo_sender
from safety.cases.store import Case
from safety.config import Settings
from safety.db.session import session_scope

# The site portal's form (no IND field: a site does not know the sponsor's IND), for a
# serious, unexpected (not in the IB below), related event to the IND product of ONC-301.
PORTAL_FORM = {
    "sae_id": "WEB-IND-1", "awareness_date": "2026-11-02", "study.protocol_number": "ONC-301",
    "subject.id": "101-011", "subject.initials": "MB", "subject.sex": "female",
    "reporter.given_name": "Ruth", "reporter.family_name": "Okafor",
    "reporter.qualification": "physician", "reporter.country": "GB",
    "site.number": "101", "site.country": "GB",
    "narrative": "Admitted with fever 39.4C and ANC 0.2 on day 12 of cycle 4.",
    "events.0.verbatim": "febrile neutropenia", "events.0.onset_date": "2026-10-30",
    "events.0.serious": "true", "events.0.seriousness": "hospitalisation",
    "events.0.causality.0": "related",  # one row per event x suspect drug: drugs.0
    "drugs.0.name": "pembrolizumab", "drugs.0.role": "suspect", "drugs.0.dose.value": "200",
    "drugs.0.dose.unit": "mg", "drugs.0.investigational": "true",
}


def portal_ind_case(settings: Settings, users: Any, browser: Any, worker: Any, sites: Any,
                    client: Any) -> tuple[str, str]:
    """The demo registry (ONC-301 under IND 145678) and an IB that lists pneumonitis only;
    a site user reports through the portal; returns the case id and the team's API token."""
    use_demo_sender(settings)
    team = sites.token("Safety team", role="safety")
    load_demo_registry(client, sites.headers(team))
    assert add_rsi(client, sites.headers(team), "PEMBRO", "12",
                   ["10035742"]).status_code == 201
    users.add("site@example.org", "site_submitter", site="Site 101")
    b = browser()
    b.login("site@example.org")
    b.get("/portal/new")
    r = b.post("/portal/new", data=PORTAL_FORM)
    assert r.status_code == 303, r.text
    worker()
    with session_scope(settings.effective_database_url) as s:
        case_id = str(s.scalars(select(Case.id)).one())
    return case_id, team

"""Two sponsors' identical reports stay two sponsors' cases, through the real intake and worker.

The store-level rule is tested in ``test_dedup_store.py::test_matching_never_crosses_sponsors``;
here the reports go the whole way: the API (each sponsor's own site token, or its own E2B
partner client sending from the same gateway id), storage, the worker's processing and its
duplicate stage. The same patient, drug, event and sender's case id at two sponsors become two
cases with no duplicate candidate or follow-up between them, while the same report at one
sponsor is linked (the control that shows the matching is at work).
"""

from __future__ import annotations

from typing import Any

from factories.accounts import Sites
from factories.e2b import example
from factories.forms import sae_form
from factories.sponsors import sponsor_id
from flask.testing import FlaskClient
from sqlalchemy import select

from safety.accounts.clients import issue_token
from safety.cases.store import Case, CaseVersion
from safety.config import Settings
from safety.db.session import session_scope
from safety.dedup.store import DedupCandidate, DedupDecision, DedupProfile
from safety.intake.store import Report

PARTNER_SENDER = "4567AB89012"  # N.2.r.2 of FAERS2022Scenario1.xml


def _post(client: FlaskClient, token: str, **kw: Any) -> Any:
    r = client.post("/api/v1/reports", headers={"Authorization": f"Bearer {token}",
                                                **kw.pop("headers", {})}, **kw)
    assert r.status_code == 202, r.json
    return r.json


def _partner(url: str, sponsor: int, name: str) -> str:
    with session_scope(url) as session:
        return issue_token(session, name, "partner", sponsor_ids=[sponsor],
                           senders=[PARTNER_SENDER], actor="test")


def _pairs(url: str) -> set[frozenset[str]]:
    """Every duplicate candidate, as the unordered pair of case ids it links."""
    with session_scope(url) as s:
        return {frozenset({str(c.case_id), str(c.candidate_case_id)})
                for c in s.scalars(select(DedupCandidate))}


def test_identical_reports_of_two_sponsors_become_two_unlinked_cases(
        client: FlaskClient, sites: Sites, worker: Any, settings: Settings) -> None:
    url = settings.effective_database_url
    a, b = sponsor_id(url, "ALPHA"), sponsor_id(url, "BETA")
    # The same site form (patient, drug, event, SAE id) from each sponsor's site; the same
    # E2B message (sender, C.1.1 and even C.1.8.1) from each sponsor's partner client.
    form = sae_form(sae_id="ONC-301-101-SAE001")
    xml = example("FAERS2022Scenario1.xml")
    for sponsor, code in ((a, "ALPHA"), (b, "BETA")):
        _post(client, sites.token("Site 101", "GB", sponsor=sponsor), json=form)
        _post(client, _partner(url, sponsor, f"{code} partner"), data=xml,
              headers={"Content-Type": "application/xml"})
    worker()

    with session_scope(url) as s:
        reports = s.scalars(select(Report)).all()
        cases = s.scalars(select(Case)).all()
        versions = s.scalars(select(CaseVersion)).all()
        by_sponsor = {sp: {c.id for c in cases if c.sponsor_id == sp} for sp in (a, b)}
        indexed = set(s.scalars(select(DedupProfile.case_id)))
        decisions = s.scalars(select(DedupDecision)).all()
        senders = {(c.sponsor_id, c.sender, c.sender_case_id) for c in cases}
    assert {r.status for r in reports} == {"processed"} and len(reports) == 4
    assert len(cases) == 4 and all(len(ids) == 2 for ids in by_sponsor.values())
    assert {(v.version, v.kind) for v in versions} == {(1, "initial")}  # no follow-up
    assert {r.case_id for r in reports} == {c.id for c in cases}  # each its own case
    assert indexed == {c.id for c in cases}  # the duplicate stage ran on every case
    assert len(senders) == 4  # the E2B pair has the same sender and C.1.1 at each sponsor
    assert {c.worldwide_case_id for c in cases if c.sender.startswith("e2b:")} \
        == {"US-APHARMA-8744554B"}
    assert decisions == []
    for pair in _pairs(url):
        assert any(pair <= ids for ids in by_sponsor.values()), pair  # never across sponsors

    # The control: the same patient again at ALPHA, from another of its sites, is a
    # suspected duplicate of ALPHA's case (and of nothing at BETA).
    control = _post(client, sites.token("Site 102", "GB", sponsor=a),
                    json=sae_form(sae_id="ONC-301-102-SAE001"))
    worker()
    with session_scope(url) as s:
        new = s.get_one(Report, control["report_id"]).case_id
    linked = {other for pair in _pairs(url) if str(new) in pair for other in pair} - {str(new)}
    assert linked and linked <= {str(c) for c in by_sponsor[a]}, linked

"""Cases, two ways.

- :class:`Cases`: a site submits a form through the API and the real rq worker processes it,
  every step committed (for tests that drive the app, the worker or the CLI).
- :func:`case_in_session`: the same services the jobs call (intake, processing, the four
  stages), in the session given, nothing committed for good (for store and service tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from factories.accounts import Sites
from factories.forms import sae_form
from factories.sponsors import DEFAULT_ID
from safety.accounts.clients import get_or_create_site
from safety.cases.progress import run_stage
from safety.cases.store import Case, CaseVersion
from safety.cases.workflow import Stage
from safety.config import Settings
from safety.db.session import session_scope
from safety.intake.processing import process_report
from safety.intake.service import Submitter, e2b_reports, site_form_report
from safety.intake.status import ReportStatus
from safety.intake.store import Incoming, _store_in_session
from safety.pipeline.stages import STAGE_FUNCTIONS


def post_report(client: FlaskClient, headers: dict[str, str], form: dict[str, Any]) -> Any:
    """POST a form to the reports API; it must be accepted. Returns the answer's JSON."""
    r = client.post("/api/v1/reports", json=form, headers=headers)
    assert r.status_code == 202, r.json
    return r.json


def post_e2b(client: FlaskClient, headers: dict[str, str], body: bytes) -> Any:
    """POST an E2B(R3) batch to the reports API; returns the response, whatever it is."""
    return client.post("/api/v1/reports", data=body,
                       headers={**headers, "Content-Type": "application/xml"})


class Cases:
    """Cases made through the real API and worker."""

    def __init__(self, client: FlaskClient, sites: Sites, worker: Callable[[], int]) -> None:
        self.client, self.sites, self.worker = client, sites, worker

    def make(self, site_name: str = "Site 101", form: dict[str, Any] | None = None,
             **overrides: Any) -> str:
        """Submit a form as the site and process it; return the case id."""
        token = self.sites.token(site_name, "GB")
        headers = self.sites.headers(token)
        accepted = post_report(self.client, headers, form or sae_form(**overrides))
        self.worker()
        report = self.client.get(accepted["status_url"], headers=headers).json
        assert report["status"] == "processed", report
        return str(report["case_id"])


def case_in_session(session: Session, settings: Settings, form: dict[str, Any] | None = None,
                    *, site: str = "Site 101", country: str = "GB", stages: bool = True,
                    sponsor: int = DEFAULT_ID, **overrides: Any) -> str:
    """A site's form stored, processed and taken through every stage in ``session``, by the
    functions the rq jobs call; return the case id. ``stages=False``: the version is complete
    as stored (no coding, duplicates, obligations or drafts)."""
    site_row, _ = get_or_create_site(session, site, country, sponsor)
    submitter = Submitter(actor="test", sender=f"site:{site_row.id}", site_id=site_row.id,
                          sponsor_id=sponsor)
    return _processed(session, settings, site_form_report(submitter, form or sae_form(**overrides)),
                      submitter, stages)


def cases_from_e2b_in_session(session: Session, settings: Settings, body: bytes, *,
                              stages: bool = True, sponsor: int = DEFAULT_ID) -> list[str]:
    """Each message of an E2B(R3) batch made a case as ``safety import`` makes it (as
    :func:`case_in_session` does); return the case ids."""
    submitter = Submitter(actor="cli:import", sender="cli:import", site_id=None,
                          sponsor_id=sponsor)
    return [_processed(session, settings, incoming, submitter, stages)
            for incoming, _message_id in e2b_reports(submitter, body)]


def _processed(session: Session, settings: Settings, incoming: Incoming, submitter: Submitter,
               stages: bool) -> str:
    # The in-session half of safety.intake.store.store_report (its SQLite path).
    stored, _ = _store_in_session(session, incoming, submitter.client_id, submitter.actor)
    outcome = process_report(session, stored.id, settings, has_stages=stages)
    assert outcome.status == ReportStatus.PROCESSED and outcome.case_version_id, outcome
    if stages:
        for stage in Stage:
            run_stage(session, outcome.case_version_id, stage, STAGE_FUNCTIONS[stage],
                      settings)
    return str(outcome.case_id)


def only_version(session: Session, case_id: str | uuid.UUID) -> CaseVersion:
    """The case's one version (there must be exactly one)."""
    return session.execute(select(CaseVersion).where(
        CaseVersion.case_id == uuid.UUID(str(case_id)))).scalars().one()


def latest_version(session: Session, case_id: str | uuid.UUID) -> CaseVersion:
    return session.scalars(select(CaseVersion).where(
        CaseVersion.case_id == uuid.UUID(str(case_id)))
        .order_by(CaseVersion.version.desc()).limit(1)).one()


def case_state(settings: Settings, case_id: str) -> str:
    """The case's workflow state as committed."""
    with session_scope(settings.effective_database_url) as session:
        return session.get(Case, uuid.UUID(case_id)).state

"""Two sponsors side by side, for the isolation tests: each with its own safety-team client,
site, web users, products and study, and two cases of one patient (a suspected duplicate pair)
with their reports, obligations and drafted messages, every step through the real API and
worker.

Both sponsors' sites report the *same* patient, drug and event, so that anything matching
across the boundary (duplicates, follow-ups, team synonyms) would find the other's case; only
the SAE ids differ, and they carry the sponsor's code so that a leak is visible in any text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, text

from factories.accounts import Sites, Users, bearer
from factories.forms import sae_form
from factories.products import add_rsi, load_demo_registry, use_demo_sender
from factories.sponsors import sponsor_id
from safety.cases.store import Case, CaseVersion
from safety.config import Settings
from safety.db.base import Base
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.submissions.outbox import approve_for_sending
from safety.submissions.store import Submission

ALPHA, BRAVO = "ALDER", "BIRCH"  # codes found in no dictionary term, form field or page


def form_of(code: str, n: int, *, variant: bool = False) -> dict[str, Any]:
    """The shared patient's SAE form as ``code``'s site sends it (``variant``: re-keyed from
    paper, the way a duplicate arrives)."""
    form = sae_form(sae_id=f"{code}-SAE{n:03d}")
    form["study"]["ind_number"] = "145678"  # a SUSAR owed to the FDA, the EMA and the MHRA
    if variant:
        form["narrative"] = "Re-entered from paper. " + form["narrative"]
        form["events"][0]["verbatim"] = "Febrile neutropenia"
    return form


@dataclass
class Side:
    """One sponsor and the callers that work for it."""

    code: str
    id: int
    safety: str  # bearer token of its safety team's client
    site: str  # bearer token of its site's client
    processor: str  # emails of web users holding a role for this sponsor only
    physician: str
    site_user: str
    product: str
    study: str
    submitted: int = 0
    unblinder: str = ""  # a web user holding the unblinded role for this sponsor only
    cases: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.code.title()} Pharma"

    def headers(self, *, site: bool = False, **extra: str) -> dict[str, str]:
        return bearer(self.site if site else self.safety, **extra)


class TwoSponsors:
    """The world: ``a`` and ``b``, made and read through the app, the worker and the
    database."""

    def __init__(self, client: FlaskClient, sites: Sites, users: Users,
                 worker: Callable[[], int], settings: Settings) -> None:
        self.client, self.sites, self.users = client, sites, users
        self.worker, self.settings = worker, settings
        self.url = settings.effective_database_url
        self.a = self._side(ALPHA)
        self.b = self._side(BRAVO)
        for side in (self.a, self.b):
            self.submit(side)
            self.submit(side, variant=True)

    def _side(self, code: str) -> Side:
        sid = sponsor_id(self.url, code)
        use_demo_sender(self.settings, sid)
        safety = self.sites.token(f"{code} safety team", role="safety", sponsor=sid)
        load_demo_registry(self.client, bearer(safety))
        assert add_rsi(self.client, bearer(safety), "PEMBRO", "12",
                       ["10035742"]).status_code == 201
        product, study = f"{code}-PRD", f"{code}-STUDY"
        r = self.client.post("/api/v1/products", headers=bearer(safety), json={
            "products": [{"id": product, "name": f"{code.lower()}mab", "substances": [],
                          "statuses": [{"jurisdiction": "US", "status": "investigational",
                                        "numbers": [f"IND {code}"]}]}],
            "studies": [{"protocol": study, "jurisdictions": ["US"], "ind_numbers": [],
                         "products": [product], "title": f"{code} first-in-human"}]})
        assert r.status_code == 200, r.json
        site = self.sites.token(f"{code} Site 7", sponsor=sid)
        emails = {role: f"{role}.{code.lower()}@example.org"
                  for role in ("case_processor", "safety_physician", "site_submitter",
                               "unblinded_physician")}
        for role, email in emails.items():
            self.users.add(email, role, site=f"{code} Site 7" if role == "site_submitter"
                           else None, sponsors=(code,))
        return Side(code, sid, safety, site, emails["case_processor"],
                    emails["safety_physician"], emails["site_submitter"], product, study,
                    unblinder=emails["unblinded_physician"])

    def submit(self, side: Side, *, variant: bool = False) -> str:
        """A site report of the shared patient, processed; the case it became."""
        side.submitted += 1
        r = self.client.post("/api/v1/reports", json=form_of(side.code, side.submitted,
                                                             variant=variant),
                             headers=side.headers(site=True))
        assert r.status_code == 202, r.json
        self.worker()
        status = self.client.get(r.json["status_url"], headers=side.headers()).json
        assert status["status"] == "processed", status
        side.cases.append(status["case_id"])
        return str(status["case_id"])

    def load_dictionary(self) -> None:
        """The MedDRA test release (tests/coding/fixtures) stored as the active one: team
        synonyms are added to a stored release."""
        from click.testing import CliRunner

        from factories.coding import MEDASCII
        from safety.cli import main

        res = CliRunner().invoke(main, ["dictionary", "load", str(MEDASCII)])
        assert res.exit_code == 0, res.output

    def other(self, side: Side) -> Side:
        return self.b if side is self.a else self.a

    # --- what the database holds --------------------------------------------------------

    def approve(self, side: Side, case_id: str) -> int:
        """The medical approval of the case's latest version (what the signature page calls):
        its conformant drafts become ready for the outbox."""
        with session_scope(self.url) as s:
            cv = s.scalars(select(CaseVersion).where(CaseVersion.case_id == uuid.UUID(case_id))
                           .order_by(CaseVersion.version.desc()).limit(1)).one()
            assert cv.sponsor_id == side.id
            return approve_for_sending(s, cv.id, "test:physician")

    def submissions(self, side: Side, state: str | None = None) -> list[Submission]:
        with session_scope(self.url) as s:
            stmt = select(Submission).where(Submission.sponsor_id == side.id)
            if state:
                stmt = stmt.where(Submission.state == state)
            rows = list(s.scalars(stmt.order_by(Submission.created_at)))
            s.expunge_all()
            return rows

    def reports(self, side: Side) -> list[str]:
        with session_scope(self.url) as s:
            return [str(i) for i in s.scalars(select(Report.id).where(
                Report.sponsor_id == side.id).order_by(Report.received_at))]

    def markers(self, side: Side) -> set[str]:
        """Every string that names the sponsor or one of its objects: an answer to another
        sponsor's caller that holds any of them has leaked."""
        found = {side.code, side.name, f"{side.code}ORG", side.product, side.study,
                 f"{side.code}-SAE"}
        with session_scope(self.url) as s:
            for case in s.scalars(select(Case).where(Case.sponsor_id == side.id)):
                found |= {str(case.id), case.case_number}
                if case.worldwide_case_id:
                    found.add(case.worldwide_case_id)
            found |= {str(i) for i in s.scalars(select(Report.id).where(
                Report.sponsor_id == side.id))}
            for sub in s.scalars(select(Submission).where(Submission.sponsor_id == side.id)):
                found |= {str(sub.id), *(x for x in (sub.batch_id, sub.message_id) if x)}
        return found

    def leaked(self, side: Side, body: str | bytes) -> set[str]:
        """The markers of ``side`` that ``body`` holds."""
        text_ = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return {m for m in self.markers(side) if m in text_}

    def snapshot(self, side: Side) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the sponsor, read unrestricted: the rows of each table with a
        ``sponsor_id`` (audit events included), and the rows of the tables without one that
        hang off its cases or versions (assignments, signatures, coded views, anchors)."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        with session_scope(self.url) as s:
            out["sponsors"] = [tuple(r) for r in s.execute(
                text("SELECT * FROM sponsors WHERE id = :sid"), {"sid": side.id})]
            cases = "(SELECT id FROM cases WHERE sponsor_id = :sid)"
            versions = "(SELECT id FROM case_versions WHERE sponsor_id = :sid)"
            for table in Base.metadata.sorted_tables:
                cols = {c.name for c in table.columns}
                if "sponsor_id" in cols:
                    where = "sponsor_id = :sid"
                elif "case_id" in cols:
                    where = f"case_id IN {cases}"
                elif "case_version_id" in cols:
                    where = f"case_version_id IN {versions}"
                else:
                    continue
                keys = ", ".join(c.name for c in table.primary_key.columns) or "1"
                rows = s.execute(text(f"SELECT * FROM {table.name} WHERE {where} "
                                      f"ORDER BY {keys}"), {"sid": side.id})
                out[table.name] = [tuple(r) for r in rows]
        return out

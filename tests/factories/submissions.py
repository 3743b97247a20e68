"""Submissions: messages drafted for a case version, and the safety team's desk that sees them
through the API, the CLI and the outbox."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from factories.cases import latest_version
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.products import add_rsi, load_demo_registry, use_demo_sender
from safety.cases.model import CaseVersionData
from safety.cases.store import Case, CaseVersion
from safety.config import Settings
from safety.db.session import session_scope
from safety.e2b.conformance import check
from safety.e2b.reader import read_batch
from safety.submissions.drafting import build_message
from safety.submissions.outbox import approve_for_sending
from safety.submissions.routing import REGION_OF
from safety.submissions.states import SubmissionState
from safety.submissions.store import Submission, new_submission

EMA = "EMA (EudraVigilance CT module)"
# The regulators a site SUSAR is owed to. MHRA has no known gateway, so its message is never
# sent; the FDA's depends on FDA rules being added meanwhile, so the tests follow what the
# checker says of it and look closely at the EMA's.
OWED = {"FDA", EMA, "MHRA"}


def draft_message(session: Session, settings: Settings, case_id: uuid.UUID,
                  region: str = "fda", days: int = 15) -> tuple[uuid.UUID, dict[str, Any]]:
    """The message the drafting builds for the case's first version and ``region``, stored as
    a submission to that region's regulator; returns its id and the columns built."""
    case = session.get(Case, case_id)
    cv = session.scalar(select(CaseVersion).where(CaseVersion.case_id == case_id))
    cols = build_message(session, cv, case, region, days, settings)
    sub = Submission(case_id=case_id, case_version_id=cv.id, sponsor_id=cv.sponsor_id,
                     destination=next(k for k, v in REGION_OF.items() if v == region),
                     **cols)
    session.add(sub)
    session.flush()
    return sub.id, cols


def add_draft(session: Session, cv: CaseVersion, xml: bytes) -> Submission:
    """A drafted message to the EMA for the case version, with the XML given."""
    return new_submission(session, actor="test", reason="a drafted message",
                          state=SubmissionState.DRAFT, sponsor_id=cv.sponsor_id,
                          case_id=cv.case_id,
                          case_version_id=cv.id, obligation_id=None, destination="EMA",
                          due=None, e2b_destination="ema", profile="ema", xml=xml,
                          batch_id="B1", message_id="M1", findings=[], notes=[])


def infer_profile(xml: bytes) -> str:
    from safety.cli.e2b import infer_profile

    return infer_profile(xml)


class Desk:
    """The safety team's view: a site reports, the team reads the API, the gateway the
    outbox. The demo registry, an IB of pembrolizumab and the demo sender are loaded."""

    def __init__(self, client: Any, sites: Any, worker: Any, settings: Settings,
                 monkeypatch: Any, outbox: Path) -> None:
        self.client, self.sites, self.worker, self.settings = client, sites, worker, settings
        self.outbox = outbox
        use_demo_sender(settings)
        use_settings_env(monkeypatch, settings)
        self.site = sites.token()
        self.safety = sites.token("Safety team", role="safety")
        load_demo_registry(client, sites.headers(self.safety))
        assert add_rsi(client, sites.headers(self.safety), "PEMBRO", "12",
                       ["10035742"]).status_code == 201

    def post(self, url: str, body: Any, token: str | None = None) -> Any:
        return self.client.post(url, json=body,
                                headers=self.sites.headers(token or self.safety))

    def get(self, url: str) -> Any:
        r = self.client.get(url, headers=self.sites.headers(self.safety))
        assert r.status_code == 200, (url, r.status_code)
        return r

    def report(self, **overrides: Any) -> str:
        """A site's SAE form (a suspected unexpected serious reaction: FDA, EMA, MHRA owed)."""
        form = sae_form(**overrides)
        form["study"]["ind_number"] = "145678"
        r = self.post("/api/v1/reports", form, token=self.site)
        assert r.status_code == 202, r.json
        self.worker()
        return str(self.get(r.json["status_url"]).json["case_id"])

    def follow_up(self, **overrides: Any) -> str:
        form = sae_form(report_type="followup", **overrides)
        form["events"][0]["outcome"] = "fatal"
        form["events"][0]["seriousness"] = ["hospitalisation", "death"]
        return self.report(**{k: v for k, v in form.items() if k != "study"})

    def submissions(self, case_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/cases/{case_id}/submissions").json

    def case(self, case_id: str) -> dict[str, Any]:
        return self.get(f"/api/v1/cases/{case_id}").json

    def message(self, sub_id: str) -> tuple[bytes, CaseVersionData]:
        xml = self.get(f"/api/v1/submissions/{sub_id}/xml").data
        return xml, read_batch(xml)[0].case

    def approve(self, case_id: str) -> None:
        """The medical approval (the web signature calls the same function)."""
        with session_scope(self.settings.effective_database_url) as s:
            approve_for_sending(s, latest_version(s, case_id).id, "user:physician")

    def export(self) -> dict[str, CaseVersionData]:
        """``safety submissions export``: the gateway's files, by batch id."""
        from safety.cli import main

        res = CliRunner().invoke(main, ["submissions", "export", "--outbox", str(self.outbox)])
        assert res.exit_code == 0, res.output
        files = [Path(json.loads(line)["file"]) for line in res.output.splitlines()]
        out = {}
        for f in files:
            xml = f.read_bytes()
            assert [x for x in check(xml, infer_profile(xml)) if x.severity == "error"] == []
            out[f.stem] = read_batch(xml)[0].case
        return out


def sent_initial(desk: Desk) -> tuple[str, dict[str, dict[str, Any]]]:
    """A case whose conformant initial messages were approved and sent (EMA's at least)."""
    case_id = desk.report()
    drafts = {s["destination"]: s for s in desk.submissions(case_id)}
    assert set(drafts) == OWED and {s["kind"] for s in drafts.values()} == {"initial"}
    assert drafts[EMA]["state"] == "draft", drafts[EMA]["findings"]
    assert drafts["MHRA"]["state"] == "invalid"
    desk.approve(case_id)
    files = desk.export()
    assert {s["batch_id"] for s in drafts.values() if s["state"] == "draft"} == set(files)
    return case_id, {s["destination"]: s for s in desk.submissions(case_id)}


def sent_destinations(first: dict[str, dict[str, Any]]) -> list[str]:
    """The destinations whose message was sent."""
    return sorted(d for d, s in first.items() if s["state"] == "sent")

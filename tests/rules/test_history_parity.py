"""Issue #15: the case history is the unit the rules take, and the same history gives the same
obligations through the pipeline (stored case), the CLI (``safety rules evaluate HISTORY.json``)
and the API (``POST /api/v1/rules/evaluate``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from factories.cases import case_in_session
from factories.forms import sae_form
from factories.products import load_demo_registry
from factories.sponsors import DEFAULT_ID
from sqlalchemy import select

from safety.cases.store import versions, working_data
from safety.cli import main
from safety.db.session import session_scope
from safety.products.store import load_registry, load_rsi
from safety.rules.causality import Relatedness
from safety.rules.day0 import Receipt, ReceiverRole
from safety.rules.evaluation import case_history, evaluate_stage
from safety.rules.history import SponsorAssessment, history_to_json
from safety.rules.store import (
    ObligationRow,
    obligation_submitted,
    record_assessment,
    record_receipts,
)
from safety.rules.whatif import context_to_json
from safety.sponsors.service import profile


def _key(o: dict[str, object]) -> tuple[object, ...]:
    return (o["regime"], o["rule"], str(o["day0"]), str(o["due"]), o["status"])


def test_same_history_same_obligations_in_pipeline_cli_and_api(client, sites, settings,
                                                               tmp_path):
    safety = sites.headers(sites.token("Safety team", role="safety"))
    load_demo_registry(client, safety)
    url = settings.effective_database_url
    form = sae_form()
    form["study"]["ind_number"] = "145678"
    with session_scope(url) as s:
        case_id = uuid.UUID(case_in_session(s, settings, form, stages=False))
        (cv1,) = versions(s, case_id)
        # A licence partner in Tokyo held it first: day 0 is its receipt (GVP VI.B.7).
        partner = cv1.received_at - timedelta(days=3)
        record_receipts(s, cv1.id, DEFAULT_ID, (
            Receipt("Kumo Pharma", ReceiverRole.LICENCE_PARTNER, instant=partner),
            Receipt("DEFAULT", ReceiverRole.SPONSOR, instant=cv1.received_at)),
            actor="test", case_id=case_id)
        evaluate_stage(s, cv1, settings)
    with session_scope(url) as s:
        first = list(s.scalars(select(ObligationRow).where(ObligationRow.case_id == case_id)))
        assert first and {r.day0 for r in first if r.grp == "initial"} == {partner.date()}
        filed = next(r for r in first if r.regime == "eu-ctr")
        obligation_submitted(s, filed.id, cv1.received_at.date(), actor="test",
                             reason="sent", complete=False)
    follow = sae_form(report_type="followup", narrative="Subject died of sepsis.")
    follow["study"]["ind_number"] = "145678"
    follow["events"][0] |= {"seriousness": ["death"], "outcome": "fatal"}
    with session_scope(url) as s:
        case_in_session(s, settings, follow, stages=False)
        cv2 = versions(s, case_id)[-1]
        drug = next(d for d in _case(s, cv2).drugs if d.role == "1")
        record_assessment(s, case_id, DEFAULT_ID, SponsorAssessment(
            _case(s, cv2).reactions[0].id, drug.id, datetime.now(UTC),
            causality=Relatedness.RELATED, method="WHO-UMC", result="Probable", by="Dr Vale"),
            actor="test")
        evaluate_stage(s, cv2, settings)
    with session_scope(url) as s:
        cv2 = versions(s, case_id)[-1]
        stored = {(r.regime, r.rule_id, r.day0.isoformat(), r.due.isoformat(), r.status.value)
                  for r in s.scalars(select(ObligationRow).where(
                      ObligationRow.case_id == case_id, ObligationRow.version == 2))}
        history, _ctx, _notes = case_history(s, cv2)
        sponsor = profile(s, DEFAULT_ID)
        data = history_to_json(history) | context_to_json(
            load_registry(s, DEFAULT_ID), load_rsi(s, DEFAULT_ID)) | {
            "rules_options": sponsor.rules.to_json(),
            "reporting": [r.to_json() for r in sponsor.reporting]}
    # The filed 15-day EU report made the fatal upgrade a follow-up on the 7-day clock.
    assert any(o[:2] == ("eu-ctr", "eu-ctr-susar-7") and o[4] == "open" for o in stored)
    assert [e["type"] for e in data["history"]] == [
        "received", "filing", "received", "assessment"]

    path = tmp_path / "history.json"
    path.write_text(json.dumps(data))
    out = CliRunner().invoke(main, ["rules", "evaluate", str(path), "--json"])
    assert out.exit_code == 0, out.output
    cli = {_key(o) for o in json.loads(out.output)["obligations"]}

    r = client.post("/api/v1/rules/evaluate", json=data, headers=safety)
    assert r.status_code == 200, r.json
    api = {_key(o) for o in r.json["obligations"]}
    assert cli == api == stored


def _case(s, cv):  # type: ignore[no-untyped-def]
    return working_data(s, cv)


def test_api_names_the_entry_and_field_of_a_bad_history(client, sites):
    headers = sites.headers(sites.token("Site 101"))
    r = client.post("/api/v1/rules/evaluate", json={"history": [{"type": "recieved"}]},
                    headers=headers)
    assert r.status_code == 422
    assert "history[0].type" in r.json["errors"]["json"]["history"][0]
    assert client.post("/api/v1/rules/evaluate", json={"history": []}).status_code == 401

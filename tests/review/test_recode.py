"""A new MedDRA release retires an LLT an open case uses: the recode job reports it and,
applied, recodes from the verbatim with an audit event."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from factories.coding import MEDASCII, later_release
from factories.env import use_settings_env
from factories.forms import sae_form
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.cases.store import CodedView
from safety.coding import store
from safety.coding.meddra_ascii import load_meddra_ascii
from safety.db.session import session_scope


def _release_retiring_head_hurting(tmp_path: Path) -> Path:
    return later_release(tmp_path, "99.1", retire=("95000001",))  # LLT "Head hurting"


def test_recode_reports_then_applies(client, sites, worker, settings, monkeypatch, tmp_path):
    url = settings.effective_database_url
    with session_scope(url) as s:
        store.save(s, load_meddra_ascii(MEDASCII))  # MedDRA (fixture) becomes active
    form = sae_form()
    form["events"][0]["verbatim"] = "head hurting"
    site = sites.token()
    client.post("/api/v1/reports", json=form, headers=sites.headers(site))
    worker()
    with session_scope(url) as s:
        coding = s.scalars(select(CodedView)).one().data["reactions"][0]["coding"]
    assert coding["code"] == "95000001" and coding["family"] == "MedDRA"

    with session_scope(url) as s:
        store.save(s, load_meddra_ascii(_release_retiring_head_hurting(tmp_path)))
    use_settings_env(monkeypatch, settings)
    from safety.cli import main

    report = CliRunner().invoke(main, ["dictionary", "recode"])
    assert report.exit_code == 0, report.output
    rows = [json.loads(x) for x in report.output.splitlines() if x.startswith("{")]
    assert [(r["verbatim"], r["old_code"], r["reason"]) for r in rows] == [
        ("head hurting", "95000001", "retired")]
    with session_scope(url) as s:
        assert len(s.scalars(select(CodedView)).all()) == 1  # reporting changes nothing

    applied = CliRunner().invoke(main, ["dictionary", "recode", "--apply"])
    assert applied.exit_code == 0, applied.output
    with session_scope(url) as s:
        views = s.scalars(select(CodedView).order_by(CodedView.revision)).all()
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "coding.recoded")).one()
    new = views[-1].data["reactions"][0]["coding"]
    assert new.get("code") != "95000001" and new["verbatim"] == "head hurting"
    if not (new.get("auto") and new.get("code")):
        assert "reactions[0]" in views[-1].review  # left for the physician, with candidates
    assert ev.changes[0]["from"].startswith("95000001")
    again = CliRunner().invoke(main, ["dictionary", "recode"])
    assert [x for x in again.output.splitlines() if x.startswith("{")] == []

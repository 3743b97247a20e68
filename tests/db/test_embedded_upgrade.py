"""An embedded (SQLite) wave-1 installation upgrades itself: its next ``safety`` command
migrates the file to the sponsors (``ensure_embedded_database``), the data landing in the
DEFAULT sponsor with the installation's settings; a sender file left behind afterwards is
never read again."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories.env import use_settings_env
from factories.wave1 import ORG_CODE, SENDER_FILE, populate
from sqlalchemy import text

from safety.app import create_app
from safety.cli import main
from safety.config import Settings
from safety.db.base import Base
from safety.db.migrate import upgrade
from safety.db.session import get_engine, import_all_models
from safety.dedup.blocking import KEYS_VERSION


def test_an_embedded_installation_moves_into_the_default_sponsor(
        base_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "instance"
    home.mkdir()
    settings = replace(base_settings, home=home, database_url=None, org_code=ORG_CODE,
                       timezone="Europe/London")
    url = settings.effective_database_url
    assert url.startswith("sqlite")
    upgrade(url, "0003")
    with get_engine(url).begin() as conn:
        wave = populate(conn)
    (home / "sender.json").write_text(json.dumps(SENDER_FILE))
    use_settings_env(monkeypatch, settings)

    res = CliRunner().invoke(main, ["sponsor", "show", "DEFAULT"])  # migrates first
    assert res.exit_code == 0, res.output
    shown = json.loads(res.output)
    assert shown["org_code"] == ORG_CODE and shown["timezone"] == "Europe/London"
    assert {k: v for k, v in shown["sender"].items() if v is not None} == SENDER_FILE

    import_all_models()
    owned = [t.name for t in Base.metadata.sorted_tables if "sponsor_id" in t.c
             and t.name not in ("api_client_sponsors", "user_sponsor_roles")]
    with get_engine(url).connect() as conn:
        for table in owned:
            total, owners, lowest = conn.execute(text(
                f"SELECT count(*), count(DISTINCT sponsor_id), min(sponsor_id) FROM {table}")
            ).one()
            if table != "terminology_synonyms" and total:
                assert (owners, lowest) == (1, shown["id"]), table
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() \
            == len(wave.case_ids)
        # the dedup profiles wave 1 stored were re-indexed with this release's key scheme
        assert conn.execute(text("SELECT DISTINCT keys_version FROM dedup_profiles")
                            ).scalars().all() == [KEYS_VERSION]

    api = create_app(settings=settings).test_client()
    case = wave.case_ids["SD-2026-000001"]
    r = api.get(f"/api/v1/cases/{case}",
                headers={"Authorization": f"Bearer {wave.safety_token}"})
    assert r.status_code == 200 and r.json["case_number"] == "SD-2026-000001", r.json

    # The file is the installation's past: broken now, it stops nothing.
    (home / "sender.json").write_text('{"organization": "typo"}')
    res = CliRunner().invoke(main, ["sponsor", "list"])
    assert res.exit_code == 0, res.output

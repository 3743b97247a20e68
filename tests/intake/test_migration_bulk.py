"""Issue 21: a 120-report migration from the generator, sized for CI (a 500-report run took
16 minutes on a loaded machine; the 500 and 10,000-report runs are ``bench/migration.py``): E2B
files from partners and site forms, follow-ups, partner copies of site cases, multi-message
batches and historical cases, imported with ``--manifest`` by two ``safety worker``
processes. Every report keeps its original dates and the reconciliation closes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from factories.env import use_settings_env
from factories.migration import verify, write_migration
from factories.products import load_demo_registry
from factories.servers import SafetyProcess, wait_for
from factories.sponsors import DEFAULT_ID

from safety.db.session import session_scope
from safety.sponsors.service import profile

REPORTS = 120  # every kind of report the generator makes, partner copies included


@pytest.mark.slow
def test_a_bulk_migration_keeps_every_date_and_reconciles_to_zero(
        settings: Any, monkeypatch: Any, tmp_path: Any, client: Any, sites: Any) -> None:
    from safety.cli import main
    from safety.pipeline.worker import listening_workers

    load_demo_registry(client, sites.headers(sites.token("Safety team", role="safety")))
    m = write_migration(tmp_path / "export", REPORTS, seed=2121)
    counts = m.counts()
    assert counts["reports"] == REPORTS and counts["e2b"] and counts["forms"]
    assert counts["followup"] and counts["partner_copy"] and counts["historical"]
    use_settings_env(monkeypatch, settings)
    workers = [SafetyProcess(settings, ["worker"], tmp_path / f"worker{n}.log")
               for n in range(2)]
    try:
        wait_for(lambda: (listening_workers(settings) or 0) >= 2, timeout=120)
        res = CliRunner().invoke(main, ["import", "--manifest", str(m.manifest),
                                        "--timeout", "900"])
    finally:
        for w in workers:
            w.stop()
    assert res.exit_code == 0, res.output[-3000:]
    rec = next(json.loads(x)["reconciliation"] for x in res.stdout.splitlines()
               if x.startswith('{"reconciliation"'))
    assert rec["reconciled"] and rec["unaccounted"] == 0 and rec["dates_changed"] == 0, rec
    assert rec["reports_in"] == rec["accounted"] == REPORTS and rec["files"] == counts["files"]
    out = rec["cases_out"]
    assert out["follow_up"] == counts["followup"]
    assert out["new_case"] == counts["initial"] + counts["partner_copy"]
    assert out["rejected"] == out["failed"] == out["held"] == 0
    assert rec["duplicates_flagged"] >= 1
    assert rec["historical_obligations_submitted"] >= 1
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith('{"report_id"')]
    with session_scope(settings.effective_database_url) as s:
        zone = profile(s, DEFAULT_ID).zone
        checked = verify(s, lines, m, zone)
    assert checked["mismatch_count"] == 0, checked
    assert checked["checked"]["reports"] == REPORTS and checked["checked"]["c14"] > 0

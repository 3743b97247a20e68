"""A worker process on its own (``safety worker``, ``worker.py``) imports only what its jobs
need, yet every table a flush reaches must be known to the ORM."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from factories.cases import post_report
from factories.forms import sae_form


@pytest.mark.slow
def test_a_fresh_worker_process_processes_a_site_report(settings, client, sites):
    """Regression: in a process that had not imported ``safety.accounts.store``, flushing a
    new case failed with ``NoReferencedTableError`` (``cases.site_id`` → ``sites``), so a
    ``safety worker`` against PostgreSQL never processed a site's report."""
    token = sites.token()
    report_id = post_report(client, sites.headers(token), sae_form())["report_id"]
    code = ("from safety.pipeline.jobs import process_report; "
            f"print(process_report({report_id!r})['status'])")
    done = subprocess.run([sys.executable, "-c", code], env=os.environ, capture_output=True,
                          text=True, timeout=180)
    assert done.stdout.split()[-1:] == ["processed"], done.stderr[-2000:]

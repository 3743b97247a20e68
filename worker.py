"""Worker entry point: ``python worker.py [--burst]`` runs what ``safety worker`` runs, with the
settings of the environment (``SAFETY_*``, see README), for a supervisor that starts workers
by path (``docs/architecture.md``)."""

import sys

from safety.config import load_settings
from safety.db.migrate import ensure_embedded_database
from safety.pipeline.worker import restart_process, run_worker
from safety.sponsors.service import migration_defaults

if __name__ == "__main__":
    settings = load_settings()
    ensure_embedded_database(settings, migration_defaults(
        settings.org_code, settings.timezone, settings.sender_profile_path))
    if run_worker(settings, burst="--burst" in sys.argv[1:]):
        restart_process()

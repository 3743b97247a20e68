"""Worker entry point: ``python worker.py`` runs what ``safety worker`` runs, with the
settings of the environment (``SAFETY_*``, see README)."""

from safety.config import load_settings
from safety.db.migrate import ensure_embedded_database
from safety.pipeline.worker import run_worker

if __name__ == "__main__":
    settings = load_settings()
    ensure_embedded_database(settings)
    run_worker(settings)

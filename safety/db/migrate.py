"""Run Alembic migrations programmatically (``safety db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from safety.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(url))


def ensure_embedded_database(settings: Settings) -> None:
    """The embedded SQLite database migrates itself; PostgreSQL is migrated explicitly
    (``safety db upgrade``, by the owner role)."""
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
        upgrade(settings.effective_database_url)

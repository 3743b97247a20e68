"""Run Alembic migrations programmatically (``safety db upgrade``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config

from safety.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, attributes: Mapping[str, object] | None = None) -> Config:
    """``attributes`` reach the migrations (``context.config.attributes``): what they cannot
    know from the database alone, e.g. the settings a sponsor is migrated with (0004)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes.update(attributes or {})
    return cfg


def upgrade(url: str, revision: str = "head",
            attributes: Mapping[str, object] | None = None) -> None:
    command.upgrade(alembic_config(url, attributes), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(url))


def ensure_embedded_database(settings: Settings,
                             attributes: Mapping[str, object] | None = None) -> bool:
    """The embedded SQLite database migrates itself; PostgreSQL is migrated explicitly
    (``safety db upgrade``, by the owner role). Whether it was the embedded one."""
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
        upgrade(settings.effective_database_url, attributes=attributes)
        return True
    return False

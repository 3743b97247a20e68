"""The settings a job runs with. Jobs receive ids only; everything else comes from here."""

from __future__ import annotations

from safety.config import Settings, load_settings

_settings: Settings | None = None


def set_settings(settings: Settings) -> None:
    global _settings
    _settings = settings


def current_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings

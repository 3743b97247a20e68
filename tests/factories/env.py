"""Point the ``safety`` command (run in-process) at the test's database and Redis."""

from __future__ import annotations

from typing import Any

from safety.config import Settings


def use_settings_env(monkeypatch: Any, settings: Settings) -> None:
    for var, val in (("SAFETY_HOME", str(settings.home)),
                     ("SAFETY_DATABASE_URL", settings.database_url),
                     ("SAFETY_REDIS_URL", settings.redis_url),
                     ("SAFETY_QUEUE_NAME", settings.queue_name)):
        if val:
            monkeypatch.setenv(var, val)

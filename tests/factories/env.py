"""Point code that loads its settings from the environment (the ``safety`` command run
in-process, the rq jobs) at the test's database and Redis."""

from __future__ import annotations

import os
from typing import Any

from safety.config import ENV_PREFIX, Settings, settings_env


def use_settings_env(monkeypatch: Any, settings: Settings) -> None:
    wanted = settings_env(settings)
    for var in list(os.environ):
        if var.startswith(ENV_PREFIX) and var not in wanted:
            monkeypatch.delenv(var)
    for var, value in wanted.items():
        monkeypatch.setenv(var, value)

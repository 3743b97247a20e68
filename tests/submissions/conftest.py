"""The safety team's desk (tests/factories/submissions.py), its outbox in the test's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories.submissions import Desk

from safety.config import Settings


@pytest.fixture()
def desk(client: Any, sites: Any, worker: Any, settings: Settings,
         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Desk:
    return Desk(client, sites, worker, settings, monkeypatch, tmp_path / "outbox")

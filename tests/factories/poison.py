"""Poison: reports and stages whose processing fails until cured, to exercise dead letters.

Jobs run in the test's process (``factories.worker``), so patching what they call reaches
them."""

from __future__ import annotations

import json
from typing import Any

import pytest

import safety.intake.processing as processing
from safety.cases.workflow import Stage
from safety.pipeline.stages import STAGE_FUNCTIONS

MARK = "POISON"


class Poison:
    """While active, a report whose payload holds :data:`MARK` fails to process, and the
    stages given with :meth:`stage` fail with the error given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.active = True
        self._mp = monkeypatch
        real = processing.payload_to_case

        def payload_to_case(channel: str, payload: Any) -> Any:
            if self.active and MARK in json.dumps(payload):
                raise RuntimeError("poisoned payload")
            return real(channel, payload)

        monkeypatch.setattr(processing, "payload_to_case", payload_to_case)

    def stage(self, stage: Stage, error: Exception) -> None:
        real = STAGE_FUNCTIONS[stage]

        def failing(*args: Any) -> Any:
            if self.active:
                raise error
            return real(*args)

        self._mp.setitem(STAGE_FUNCTIONS, stage, failing)

    def cure(self) -> None:
        self.active = False

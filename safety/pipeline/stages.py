"""The stage chain a case version goes through after intake, in order.

Each stage is a function ``(session, case_version, settings) -> dict | None`` living in its
feature's ``jobs`` module; it writes its results to its own tables and returns a short summary
that is kept in ``case_versions.stages``. Adding a stage is one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

StageFn = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class Stage:
    name: str
    target: str  # "module:function"

    def load(self) -> StageFn:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


STAGES: tuple[Stage, ...] = (
    Stage("coding", "safety.coding.service:code_stage"),
    Stage("dedup", "safety.dedup.service:screen_stage"),
    Stage("rules", "safety.rules.evaluation:evaluate_stage"),
    Stage("submissions", "safety.submissions.store:draft_stage"),
)


def first_stage() -> Stage | None:
    return STAGES[0] if STAGES else None


def stage_named(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(f"no pipeline stage named {name!r}")


def next_stage(name: str) -> Stage | None:
    names = [s.name for s in STAGES]
    i = names.index(name)
    return STAGES[i + 1] if i + 1 < len(STAGES) else None

"""mypy is strict on the domain: the configuration may relax a strict check only for a shell,
a store, a use-case service or the platform, which is what the "infrastructure" contract of
import-linter allows to import the web, database and queue libraries. Every other module is
domain code, and a relaxation meant for a library-facing shell must not reach it."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# mypy --strict, flag by flag (mypy 2.4)
STRICT = frozenset({
    "check_untyped_defs", "disallow_incomplete_defs", "disallow_untyped_defs",
    "disallow_untyped_calls", "disallow_untyped_decorators", "disallow_any_generics",
    "disallow_subclassing_any", "no_implicit_optional", "no_implicit_reexport",
    "strict_equality", "extra_checks", "warn_redundant_casts", "warn_unused_ignores",
    "warn_return_any",
})


def _tool() -> dict[str, Any]:
    tool: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]
    return tool


def _not_domain() -> list[str]:
    """Shells, stores, services and the platform, as import-linter knows them."""
    contracts = _tool()["importlinter"]["contracts"]
    infrastructure = next(c for c in contracts if c["id"] == "infrastructure")
    allowed: list[str] = infrastructure["allowed_importers"]
    return allowed


def _outside_domain(pattern: str) -> bool:
    """Whether every module a mypy section pattern names is outside the domain."""
    module = pattern.removesuffix(".*")
    return any(module == a or module.startswith(f"{a}.") or fnmatch.fnmatchcase(module, a)
               for a in _not_domain())


def test_the_classification_follows_the_import_contracts() -> None:
    for shell_store_or_service in ("safety.app", "safety.api.*", "safety.web.security",
                                   "safety.cli.rules", "safety.pipeline.jobs",
                                   "safety.cases.store", "safety.cases.service",
                                   "safety.review.case_view", "safety.db.base", "safety.audit"):
        assert _outside_domain(shell_store_or_service), shell_store_or_service
    for domain in ("safety", "safety.*", "safety.e2b.*", "safety.cases.model",
                   "safety.rules.obligations", "safety.review.diff", "safety.accounts.roles",
                   "safety.submissions.states", "safety.config", "safety.demo.generator"):
        assert not _outside_domain(domain), domain


def test_every_module_is_checked_with_the_strict_set() -> None:
    mypy = _tool()["mypy"]
    assert {flag for flag in STRICT if mypy.get(flag) is True} == STRICT
    assert mypy["packages"] == ["safety"] and mypy["warn_unused_configs"] is True


def test_strict_checks_are_relaxed_only_outside_the_domain() -> None:
    for override in _tool()["mypy"].get("overrides", []):
        relaxed = sorted(flag for flag in STRICT if override.get(flag) is False)
        if not relaxed:
            continue
        modules = override["module"]
        for pattern in [modules] if isinstance(modules, str) else modules:
            if pattern.split(".")[0] == "safety":
                assert _outside_domain(pattern), f"{pattern} is domain code: {relaxed}"

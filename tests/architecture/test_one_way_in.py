"""Exactly one function stores an incoming report (``safety.intake.store.store_report``), and
only the intake service calls it: the API, the portal, ``safety import`` and ``safety demo``
all submit through ``safety.intake.service.submit``."""

from __future__ import annotations

import ast
from pathlib import Path

import safety

ROOT = Path(safety.__file__).parent


def _calls(tree: ast.AST, name: str) -> list[int]:
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Name) and n.func.id == name)
        or (isinstance(n.func, ast.Attribute) and n.func.attr == name))]


def test_only_the_intake_store_writes_reports() -> None:
    writers = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        hits = _calls(tree, "Report") + [
            n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and "INSERT INTO reports" in n.value]
        if "insert(Report.__table__)" in source:
            hits.append(0)
        if hits:
            writers[path.relative_to(ROOT).as_posix()] = hits
    assert set(writers) == {"intake/store.py"}


def test_only_the_intake_service_calls_store_report() -> None:
    callers = {path.relative_to(ROOT).as_posix() for path in ROOT.rglob("*.py")
               if _calls(ast.parse(path.read_text(encoding="utf-8")), "store_report")}
    assert callers == {"intake/service.py"}


def test_every_entry_point_submits_through_the_service() -> None:
    for entry in ("api/reports.py", "web/portal.py", "cli/intake.py", "demo/service.py"):
        tree = ast.parse((ROOT / entry).read_text(encoding="utf-8"))
        assert _calls(tree, "submit"), f"{entry} does not submit through the intake service"

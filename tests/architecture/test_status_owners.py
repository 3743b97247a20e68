"""Each status is changed by exactly one module, its owner, which checks the move against the
status's state machine and writes the audit event (docs/architecture.md).

Read from the code itself: any assignment to a status attribute, any constructor or SQL
``values()`` given a status, and any ``setattr`` in a module that handles a status-bearing
table, outside the owner, fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import safety

ROOT = Path(safety.__file__).parent

# (table, status attribute) -> the one module that may change it
OWNER_OF_TABLE = {
    ("Report", "status"): "intake/store.py",
    ("ObligationRow", "status"): "rules/store.py",
    ("ObligationRow", "alert"): "rules/store.py",
    ("Case", "state"): "cases/store.py",
    ("CaseVersion", "pipeline"): "cases/store.py",
    ("Submission", "state"): "submissions/store.py",
    ("Question", "status"): "questions/store.py",
    ("Unblinding", "status"): "blinding/store.py",
}
TABLES = {table for table, _ in OWNER_OF_TABLE}
OWNERS = {attr for _, attr in OWNER_OF_TABLE}


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def _imported_tables(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("safety"):
            names |= {a.name for a in node.names} & TABLES
        if isinstance(node, ast.ClassDef) and node.name in TABLES:
            names.add(node.name)
    return names


def _owners(tables: set[str], attr: str) -> set[str]:
    return {owner for (table, a), owner in OWNER_OF_TABLE.items() if a == attr and table in tables}


def violations() -> list[str]:
    found = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tables = _imported_tables(tree)
        if not tables:
            continue  # e.g. an E2B address's "state": not a status
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = [t for tgt in node.targets
                           for t in (tgt.elts if isinstance(tgt, ast.Tuple) else [tgt])]
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr in OWNERS:
                    owners = _owners(tables, t.attr)
                    if owners and rel not in owners:
                        found.append(f"{rel}:{node.lineno} assigns .{t.attr}")
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else (
                    func.attr if isinstance(func, ast.Attribute) else "")
                if name == "setattr" and rel not in set(OWNER_OF_TABLE.values()):
                    found.append(f"{rel}:{node.lineno} calls setattr")
                if name in TABLES | {"values"}:
                    for kw in node.keywords:
                        owners = _owners(tables if name == "values" else {name}, kw.arg or "")
                        if kw.arg in OWNERS and owners and rel not in owners:
                            found.append(f"{rel}:{node.lineno} {name}({kw.arg}=...)")
    return found


def test_every_status_changes_only_in_its_owner() -> None:
    assert violations() == []


@pytest.mark.parametrize("owner", sorted(set(OWNER_OF_TABLE.values())))
def test_each_owner_checks_its_machine_and_audits(owner: str) -> None:
    source = (ROOT / owner).read_text(encoding="utf-8")
    assert "record(" in source
    assert ".check(" in source or "change.from_state" in source


def test_the_scan_sees_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test can fail: a module outside the owners that sets a submission's state."""
    bad = tmp_path / "rogue.py"
    bad.write_text("from safety.submissions.store import Submission\n\n"
                   "def send(sub: Submission) -> None:\n    sub.state = 'sent'\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert violations() == ["rogue.py:4 assigns .state"]

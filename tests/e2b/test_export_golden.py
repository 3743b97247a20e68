"""Golden exports: a fixed set of cases written and checked for every destination gives the
same bytes and the same conformance findings, in the same order, as when the golden file was
written (``data/export-golden.json``).

The cases are the demo generator's site forms (fixed seed and day, prepared for each
destination's region as drafting prepares them) and the official examples' imported cases
(``factories.e2b.golden_cases``), one message per batch, plus one batch of several messages
per destination. A change to the writer or the checker that is meant to change no output
(a faster path, a cache) must leave this test passing; one that is meant to change output
rewrites the file (``python tests/e2b/test_export_golden.py``) and the diff shows what
changed.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

if __name__ == "__main__":  # run as a script to rewrite the golden file
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factories.e2b import (
    EXAMPLES,
    GOLDEN_DESTINATIONS,
    GOLDEN_NOW,
    example,
    golden_cases,
    golden_export,
)
from lxml import etree

from safety.e2b.conformance import check
from safety.e2b.export import export_cases
from safety.e2b.hl7 import XSI_TYPE
from safety.e2b.rules import PROFILES

GOLDEN = Path(__file__).parent / "data" / "export-golden.json"
GOLDEN_EXAMPLES = Path(__file__).parent / "data" / "examples-findings-golden.json"
# several messages in one batch: the batch walk and each message's walk
BATCH = ("demo-01", "demo-03", "demo-07", "FAERS2022Scenario1#1")


@cache
def _cases() -> dict[str, Any]:
    return golden_cases()


def exports() -> dict[str, dict[str, Any]]:
    """Every golden export: its key, the sha256 and length of its bytes and its findings."""
    out: dict[str, dict[str, Any]] = {}
    cases = _cases()
    for destination in GOLDEN_DESTINATIONS:
        runs = [(name, [name]) for name in cases] + [("batch:" + "+".join(BATCH), list(BATCH))]
        for name, names in runs:
            prepared, header = golden_export(
                [cases[n] for n in names], destination,
                prepared=all(n.startswith("demo-") for n in names), name=name)
            # checked at the time of the export: the demo dates (2025) and the examples'
            # (2022) are past for good
            result = export_cases(prepared, header)
            out[f"{destination} {name}"] = {
                "sha256": hashlib.sha256(result.xml).hexdigest(), "bytes": len(result.xml),
                "findings": _rows(result.findings),
                "mutated": _rows(_mutated(result.xml, header.profile, name))}
    return out


def _rows(findings: list[Any]) -> list[list[str]]:
    return [[f.element, f.xpath, f.rule, f.message, f.severity] for f in findings]


def _mutated(xml: bytes, profile: str, name: str) -> list[Any]:
    """The findings of the export spoilt in a dozen places chosen by a seed (the name): a
    finding of every kind the writer's own output does not give."""
    root = etree.fromstring(xml)
    rng = random.Random(name)
    elements = [e for e in root.iter() if isinstance(e.tag, str)][1:]
    for _ in range(12):
        e = rng.choice(elements)
        if e.getparent() is None:
            continue
        how = rng.randrange(11)
        if how == 0 and len(e) > 1:
            e[:] = list(reversed(list(e)))  # order
        elif how == 1:
            etree.SubElement(e, "{urn:hl7-org:v3}unheardOf")  # structure
        elif how == 2:
            e.set(XSI_TYPE, "INT")  # datatype
        elif how == 3:
            for k in list(e.attrib):
                del e.attrib[k]
            e.text = None  # empty, required
        elif how == 4:
            e.set("nullFlavor", rng.choice(("XYZ", "NI", "MSK", "ASKU")))
        elif how == 5:
            e.set("value", rng.choice(("2099", "20991231", "20251", "2025-01-01", "19000230",
                                       "202506301230+0200", "true", "maybe")))
        elif how == 6:
            e.set("code", rng.choice(("999", "1", "C17998", "")))
        elif how == 7:
            e.text = "x" * rng.choice((3, 101, 2001, 20001))
        elif how == 8:
            e.getparent().remove(e)  # required
            elements = [x for x in root.iter() if isinstance(x.tag, str)][1:]
        elif how == 9:
            e.set("codeSystem", "1.2.3.4")
        elif how == 10:
            e.append(etree.Comment("a comment"))
    return check(etree.tostring(root), profile, now=GOLDEN_NOW + timedelta(days=1))


@cache
def _golden() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return loaded


@cache
def _now() -> dict[str, dict[str, Any]]:
    return exports()


def test_same_exports() -> None:
    assert sorted(_now()) == sorted(_golden())


@pytest.mark.parametrize("destination", sorted(GOLDEN_DESTINATIONS))
def test_same_bytes_and_findings(destination: str) -> None:
    golden, now = _golden(), _now()
    keys = [k for k in golden if k.split(" ", 1)[0] == destination]
    assert keys
    for key in keys:
        assert now[key]["bytes"] == golden[key]["bytes"], key
        assert now[key]["sha256"] == golden[key]["sha256"], key
        assert now[key]["findings"] == golden[key]["findings"], key
        assert now[key]["mutated"] == golden[key]["mutated"], key


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_same_findings(name: str) -> None:
    """The official examples as received, checked against every profile."""
    assert _examples()[name] == _golden_examples()[name]


def examples() -> dict[str, dict[str, list[list[str]]]]:
    return {name: {f"{profile} inbound={inbound}": _rows(check(
        example(name), profile, now=GOLDEN_NOW, inbound=inbound))
        for profile in PROFILES for inbound in (False, True)} for name in EXAMPLES}


@cache
def _examples() -> dict[str, dict[str, list[list[str]]]]:
    return examples()


@cache
def _golden_examples() -> dict[str, dict[str, list[list[str]]]]:
    loaded: dict[str, dict[str, list[list[str]]]] = json.loads(
        GOLDEN_EXAMPLES.read_text(encoding="utf-8"))
    return loaded


def _dump(data: dict[str, dict[str, Any]]) -> str:
    """JSON with one finding a line, so that a rewrite's diff reads finding by finding."""
    def value(v: Any) -> str:
        if not isinstance(v, list):
            return json.dumps(v)
        if not v:
            return "[]"
        return "[\n   " + ",\n   ".join(json.dumps(f, ensure_ascii=False) for f in v) + "]"

    return "{\n" + ",\n".join(
        f" {json.dumps(key)}: {{\n" + ",\n".join(f"  {json.dumps(k)}: {value(v)}"
                                                 for k, v in entry.items()) + "}"
        for key, entry in data.items()) + "\n}\n"


if __name__ == "__main__":
    GOLDEN.write_text(_dump(exports()), encoding="utf-8")
    GOLDEN_EXAMPLES.write_text(_dump(examples()), encoding="utf-8")
    print(f"wrote {GOLDEN} and {GOLDEN_EXAMPLES}")

"""Column-map driven loader for WHODrug-style drug files.

WHODrug (B3/C3) and similar licensed drug dictionaries ship as text files whose layout is
described in the licensee's format document, either delimited or fixed-width. Rather than
hard-code one layout, the licensee writes a small ``columns.json`` next to the file::

    {"family": "WHODrug", "version": "2025 Mar 1", "language": "en",
     "file": "MP.txt", "delimiter": null,
     "columns": {"code": [0, 6], "name": [29, 179], "moiety_code": [6, 12]},
     "preferred": {"column": [12, 14], "value": "01"}}

``columns`` are 0-based ``[start, end)`` character spans (fixed width) or field indexes (when
``delimiter`` is set). ``code`` and ``name`` are required; ``moiety_code`` links a name to its
preferred/base record; rows that are not ``preferred`` become synonyms of their moiety.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safety.coding.terminology import (
    SUBSTANCE,
    Concept,
    Release,
    Synonym,
    Terminology,
    TerminologyError,
    checksum_of,
)


def is_column_mapped(path: Path) -> bool:
    return (path / "columns.json").is_file()


def _cut(line: str, spec: Any, delimiter: str | None, where: str) -> str:
    if delimiter is None:
        if not (isinstance(spec, list) and len(spec) == 2):
            raise TerminologyError(f"{where}: fixed-width column must be [start, end]")
        return line[spec[0] : spec[1]].strip()
    fields = line.split(delimiter)
    if not isinstance(spec, int) or spec >= len(fields):
        raise TerminologyError(f"{where}: field index {spec!r} not in record")
    return fields[spec].strip()


def load_column_mapped(path: Path) -> Terminology:
    config = json.loads((path / "columns.json").read_text(encoding="utf-8"))
    for key in ("family", "version", "file", "columns"):
        if key not in config:
            raise TerminologyError(f"columns.json: missing {key!r}")
    columns = config["columns"]
    for key in ("code", "name"):
        if key not in columns:
            raise TerminologyError(f"columns.json: columns.{key} is required")
    data = path / config["file"]
    raw = data.read_bytes()
    terms = Terminology(
        Release(
            config["family"], str(config["version"]), config.get("language", "en"),
            checksum_of([raw, (path / "columns.json").read_bytes()]), str(path),
        )
    )
    delimiter = config.get("delimiter")
    preferred = config.get("preferred")
    pending: list[tuple[str, str, str]] = []
    for number, line in enumerate(raw.decode(config.get("encoding", "utf-8")).splitlines(), 1):
        if not line.strip() or (number == 1 and config.get("header")):
            continue
        where = f"{data.name} line {number}"
        code = _cut(line, columns["code"], delimiter, where)
        name = _cut(line, columns["name"], delimiter, where)
        if not code or not name:
            raise TerminologyError(f"{where}: empty code or name")
        moiety = _cut(line, columns["moiety_code"], delimiter, where) if (
            "moiety_code" in columns
        ) else ""
        is_preferred = preferred is None or (
            _cut(line, preferred["column"], delimiter, where) == preferred["value"]
        )
        if is_preferred:
            if terms.get(SUBSTANCE, code) is None:
                terms.add(Concept(code, name, SUBSTANCE))
            if moiety and moiety != code:
                terms.moieties[code] = moiety
        else:
            pending.append((code, name, moiety))
    for code, name, moiety in pending:
        target = code if terms.get(SUBSTANCE, code) else moiety
        if terms.get(SUBSTANCE, target) is None:
            raise TerminologyError(f"{data.name}: name {name!r} has no preferred record")
        terms.synonyms.append(Synonym(name, target, SUBSTANCE, "dictionary"))
    terms.check()
    return terms

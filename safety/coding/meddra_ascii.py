"""Loader for a licensee's MedDRA ASCII distribution (the ``MedAscii/`` folder).

Record layouts (``$``-separated, each record ends with ``$``) as published by the MSSO in the
MedDRA distribution file format document; columns used here:

- ``llt.asc``:  llt_code, llt_name, pt_code, whoart, harts, costart, icd9, icd9cm, icd10,
  llt_currency (Y/N), jart
- ``pt.asc``:   pt_code, pt_name, null_field, pt_soc_code (primary SOC), ...
- ``hlt.asc``, ``hlgt.asc``: code, name, ...
- ``soc.asc``:  soc_code, soc_name, soc_abbrev, ...
- ``mdhier.asc``: pt_code, hlt_code, hlgt_code, soc_code, pt_name, hlt_name, hlgt_name,
  soc_name, soc_abbrev, null_field, pt_soc_code, primary_soc_fg (Y/N)
- ``intl_ord.asc``: intl_ord_code, soc_code
- ``smq_list.asc``: smq_code, smq_name, smq_level, description, source, note, version,
  status, algorithm
- ``smq_content.asc``: smq_code, term_code, term_level, term_scope, term_category,
  term_weight, term_status, addition_version, last_modified_version
- ``meddra_release.asc``: version, language, ...

The hierarchy comes from ``mdhier.asc`` (one row per PT path, the primary one flagged); the
three link files are not needed once mdhier is read. No MedDRA content ships with SafetyDesk:
tests use invented fixture files in this layout.
"""

from __future__ import annotations

from pathlib import Path

from safety.coding.terminology import Concept, Release, Terminology, TerminologyError, checksum_of

FAMILY = "MedDRA"
REQUIRED = ("llt.asc", "pt.asc", "hlt.asc", "hlgt.asc", "soc.asc", "mdhier.asc")


def medascii_dir(path: Path) -> Path | None:
    """``path`` itself or its ``MedAscii`` subfolder, if it holds the required files."""
    for candidate in (path, path / "MedAscii"):
        if all((candidate / name).is_file() for name in REQUIRED):
            return candidate
    return None


def read_records(path: Path, min_fields: int) -> list[list[str]]:
    """Fields of each record; the trailing ``$`` terminator is dropped, never a field."""
    records: list[list[str]] = []
    raw = path.read_bytes()
    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if not line.endswith("$"):
            raise TerminologyError(f"{path.name} line {number}: record does not end with '$'")
        fields = line[:-1].split("$")
        if len(fields) < min_fields:
            raise TerminologyError(
                f"{path.name} line {number}: {len(fields)} fields, expected {min_fields}"
            )
        records.append(fields)
    return records


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _code(value: str, where: str) -> str:
    value = value.strip()
    if len(value) != 8 or not value.isdigit():
        raise TerminologyError(f"{where}: code {value!r} is not 8 digits")
    return value


def load_meddra_ascii(path: Path) -> Terminology:
    folder = medascii_dir(path)
    if folder is None:
        raise TerminologyError(f"{path}: no MedAscii files ({', '.join(REQUIRED)})")
    version, language = "unknown", "English"
    release_file = folder / "meddra_release.asc"
    if release_file.is_file():
        fields = read_records(release_file, 2)[0]
        version, language = fields[0].strip(), fields[1].strip()
    files = sorted(p for p in folder.iterdir() if p.suffix == ".asc")
    terms = Terminology(
        Release(FAMILY, version, language, checksum_of(p.read_bytes() for p in files), str(folder))
    )

    intl_order = {}
    if (folder / "intl_ord.asc").is_file():
        intl_order = {f[1]: f[0] for f in read_records(folder / "intl_ord.asc", 2)}
    for f in read_records(folder / "soc.asc", 3):
        terms.add(Concept(_code(f[0], "soc.asc"), f[1], "SOC", abbrev=f[2] or None))
    for name, level in (("hlgt.asc", "HLGT"), ("hlt.asc", "HLT")):
        for f in read_records(folder / name, 2):
            terms.add(Concept(_code(f[0], name), f[1], level))
    pt_primary_soc: dict[str, str] = {}
    for f in read_records(folder / "pt.asc", 4):
        code = _code(f[0], "pt.asc")
        terms.add(Concept(code, f[1], "PT"))
        pt_primary_soc[code] = f[3].strip()
    for f in read_records(folder / "llt.asc", 10):
        code = _code(f[0], "llt.asc")
        currency = f[9].strip().upper()
        if currency not in ("Y", "N"):
            raise TerminologyError(f"llt.asc {code}: llt_currency {currency!r} is not Y/N")
        terms.add(Concept(code, f[1], "LLT", current=currency == "Y"))
        terms.link(("LLT", code), ("PT", _code(f[2], f"llt.asc {code} pt_code")))

    hlt_seen: set[tuple[str, str]] = set()
    hlgt_seen: set[tuple[str, str]] = set()
    for f in read_records(folder / "mdhier.asc", 12):
        pt, hlt, hlgt, soc = (_code(x, "mdhier.asc") for x in f[:4])
        flag = f[11].strip().upper()
        if flag not in ("Y", "N"):
            raise TerminologyError(f"mdhier.asc PT {pt}: primary_soc_fg {flag!r} is not Y/N")
        if pt_primary_soc.get(pt) and (flag == "Y") != (pt_primary_soc[pt] == soc):
            raise TerminologyError(
                f"mdhier.asc PT {pt}: primary_soc_fg disagrees with pt_soc_code in pt.asc"
            )
        terms.link(("PT", pt), ("HLT", hlt), primary=flag == "Y")
        if flag == "Y":
            if pt in terms.primary_paths:
                raise TerminologyError(f"mdhier.asc PT {pt}: more than one primary SOC path")
            terms.primary_paths[pt] = (hlt, hlgt, soc)
        if (hlt, hlgt) not in hlt_seen:
            hlt_seen.add((hlt, hlgt))
            terms.link(("HLT", hlt), ("HLGT", hlgt))
        if (hlgt, soc) not in hlgt_seen:
            hlgt_seen.add((hlgt, soc))
            terms.link(("HLGT", hlgt), ("SOC", soc))

    missing = [c.code for c in terms.at_level("PT") if c.code not in terms.primary_paths]
    if missing:
        raise TerminologyError(f"mdhier.asc: no primary path for PT(s) {missing[:5]}")
    for smq in _smq_memberships(folder):
        terms.memberships.setdefault(smq[0], set()).add(smq[1])
    if intl_order:
        terms.memberships["intl_order"] = {f"{o}:{s}" for s, o in intl_order.items()}
    terms.check()
    return terms


def _smq_memberships(folder: Path) -> list[tuple[str, str]]:
    content, names = folder / "smq_content.asc", folder / "smq_list.asc"
    if not content.is_file():
        return []
    label = {}
    if names.is_file():
        label = {f[0]: f[1] for f in read_records(names, 3)}
    out = []
    for f in read_records(content, 3):
        smq = f[0].strip()
        out.append((f"SMQ {smq} {label.get(smq, '')}".strip(), f[1].strip()))
    return out

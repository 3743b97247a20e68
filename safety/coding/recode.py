"""What a new dictionary release changes: per release, and per stored coded term.

A recode never touches the verbatim. For each coded term it reports the old and the new
code/PT/SOC and why (LLT retired, LLT gone, moved to another PT, primary SOC changed,
renamed). Terms whose LLT is no longer usable are re-coded from the verbatim by the new
release's autocoder; the caller (the recode job) applies changes with an audit event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from safety.cases.model import CodedTerm
from safety.coding.autocoder import Autocoder
from safety.coding.terminology import Terminology


@dataclass(frozen=True, slots=True)
class ReleaseDiff:
    """Differences in the coding level (LLT or substance) between two releases."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # current -> non-current
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # code, old, new
    moved: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # LLT, PT
    soc_changed: list[tuple[str, str | None, str | None]] = field(default_factory=list)


def release_diff(old: Terminology, new: Terminology, level: str = "LLT") -> ReleaseDiff:
    old_codes = {c.code: c for c in old.at_level(level)}
    new_codes = {c.code: c for c in new.at_level(level)}
    diff = ReleaseDiff(
        added=sorted(set(new_codes) - set(old_codes)),
        removed=sorted(set(old_codes) - set(new_codes)),
    )
    for code in sorted(set(old_codes) & set(new_codes)):
        a, b = old_codes[code], new_codes[code]
        if a.current and not b.current:
            diff.retired.append(code)
        if a.name != b.name:
            diff.renamed.append((code, a.name, b.name))
        if level != "LLT":
            continue
        up_a, up_b = old.rollup(code), new.rollup(code)
        pt_a = up_a.pt.code if up_a.pt else None
        pt_b = up_b.pt.code if up_b.pt else None
        if pt_a != pt_b:
            diff.moved.append((code, pt_a, pt_b))
        soc_a = up_a.soc.code if up_a.soc else None
        soc_b = up_b.soc.code if up_b.soc else None
        if soc_a != soc_b:
            diff.soc_changed.append((code, soc_a, soc_b))
    return diff


@dataclass(frozen=True, slots=True)
class RecodeChange:
    verbatim: str
    reason: str  # retired, removed, moved, soc_changed, renamed
    old: CodedTerm
    new: CodedTerm

    def as_row(self) -> dict[str, object]:
        return {
            "verbatim": self.verbatim, "reason": self.reason,
            "old_code": self.old.code, "new_code": self.new.code,
            "old_pt": self.old.pt_code, "new_pt": self.new.pt_code,
            "old_soc": self.old.soc_code, "new_soc": self.new.soc_code,
            "auto": self.new.auto,
        }


def recode(coded: Iterable[CodedTerm], new: Terminology, coder: Autocoder) -> list[RecodeChange]:
    """Changes needed to bring ``coded`` terms onto release ``new`` (unchanged ones omitted)."""
    level = coder.level
    changes: list[RecodeChange] = []
    for term in coded:
        verbatim = term.verbatim if isinstance(term.verbatim, str) else ""
        concept = new.get(level, term.code) if term.code else None
        if concept is None or not concept.current:
            result = coder.code(verbatim).to_coded_term()
            reason = "removed" if concept is None else "retired"
            changes.append(RecodeChange(verbatim, reason, term, result))
            continue
        updated = _same_code(term, new, coder)
        changed = _reason(term, updated)
        if changed:
            changes.append(RecodeChange(verbatim, changed, term, updated))
    return changes


def _same_code(term: CodedTerm, new: Terminology, coder: Autocoder) -> CodedTerm:
    out = CodedTerm(
        verbatim=term.verbatim, code=term.code, level=term.level,
        family=new.release.family, version=new.release.version, method=term.method,
        score=term.score, auto=term.auto, confirmed_by=term.confirmed_by,
    )
    concept = new.get(coder.level, term.code or "")
    out.term = concept.name if concept else None
    if coder.kind == "events":
        up = new.rollup(term.code or "")
        out.pt_code, out.pt_term = (up.pt.code, up.pt.name) if up.pt else (None, None)
        out.soc_code, out.soc_term = (up.soc.code, up.soc.name) if up.soc else (None, None)
    return out


def _reason(old: CodedTerm, new: CodedTerm) -> str | None:
    if old.pt_code != new.pt_code:
        return "moved"
    if old.soc_code != new.soc_code:
        return "soc_changed"
    if old.term != new.term or old.pt_term != new.pt_term:
        return "renamed"
    return None

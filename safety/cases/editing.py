"""Corrections of a case as plain data: apply a set of field changes to a case version and say,
field by field, what changed from what to what.

A correction names each field by its path in the case's JSON form (``safety.cases.codec``):
``patient.weight_kg``, ``drugs[0].dosages[0].dose``, ``reactions[1].start``. The value is
the field's JSON form too: a partial date keeps its precision (``"2026-10"``), a null flavour
is ``{"nullFlavor": "ASKU"}``, ``null`` makes the field absent. A list item is added by naming
the next index (``tests[2]``) and removed by setting it to ``null``.

Why paths and not a whole new case: the reason a person gives covers exactly the fields named,
the audit trail lists them one by one (21 CFR 11.10(e): old value, new value, who, why), and
two people correcting different fields of the same version do not overwrite each other.

Some fields are not corrected here because another workflow owns them: identifiers that make
the case (C.1.1, C.1.8.1), nullification (its own transition), the codes of terms (coding
review), the sponsor's assessments (their own form) and the ids that link drugs to events.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Union, get_args, get_origin

from safety.cases.codec import CodecError, case_from_json, case_to_json
from safety.cases.model import CaseVersionData

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")

# Paths owned by another workflow (prefix match on the normalised path without indices).
NOT_HERE: dict[str, str] = {
    "admin.sender_safety_report_id": "C.1.1 identifies the case; it is not corrected",
    "admin.worldwide_case_id": "C.1.8.1 identifies the case; it is not corrected",
    "admin.nullification_code": "nullification is a transition of its own",
    "admin.nullification_reason": "nullification is a transition of its own",
    "sponsor_review": "the sponsor's assessments are recorded through the assessments form",
    "reactions.coding": "codes are decided in the coding review",
    "reactions.id": "an event's id links it to its drugs and is never edited",
    "drugs.coding": "codes are decided in the coding review",
    "drugs.id": "a drug's id links it to its events and is never edited",
    "drugs.reactions.reaction_id": "the drug-event link names an event's id",
}


class EditError(ValueError):
    """A correction that cannot be applied; ``field`` names the offending path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def as_audit(self) -> dict[str, Any]:
        return {"field": self.field, "from": self.old, "to": self.new}


def _steps(path: str) -> list[str | int]:
    """``drugs[0].dosages[1].dose`` -> ``["drugs", 0, "dosages", 1, "dose"]``."""
    out: list[str | int] = []
    if not path or path.strip() != path:
        raise EditError(path or "(empty)", "not a field path")
    for part in path.split("."):
        m = _STEP.fullmatch(part)
        if m is None:
            raise EditError(path, "not a field path (use e.g. drugs[0].dosages[0].dose)")
        out.append(m.group(1))
        out.extend(int(i) for i in _INDEX.findall(m.group(2)))
    return out


def _plain(steps: list[str | int]) -> str:
    return ".".join(s for s in steps if isinstance(s, str))


def _check_known(path: str, steps: list[str | int]) -> None:
    """Every name in the path is a field of the model where it is used."""
    hint: Any = CaseVersionData
    for step in steps:
        hint = _unwrap(hint)
        if isinstance(step, int):
            if get_origin(hint) is not list:
                raise EditError(path, "an index is given where the field is not a list")
            (hint,) = get_args(hint)
            continue
        if not (isinstance(hint, type) and is_dataclass(hint)):
            raise EditError(path, f"{step!r} is inside a value that has no fields")
        names = {f.name for f in fields(hint)}
        if step not in names:
            raise EditError(path, f"no field {step!r} here")
        hint = typing.get_type_hints(hint)[step]
    plain = _plain(steps)
    for prefix, why in NOT_HERE.items():
        if plain == prefix or plain.startswith(prefix + "."):
            raise EditError(path, why)


def _unwrap(hint: Any) -> Any:
    """``X | None`` / ``X | NullFlavor | None`` -> the dataclass or list option of it."""
    if get_origin(hint) in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        for opt in options:
            if get_origin(opt) is list or (isinstance(opt, type) and is_dataclass(opt)):
                return opt
        return options[0] if options else hint
    return hint


def _get(doc: Any, steps: list[str | int]) -> Any:
    cur = doc
    for step in steps:
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return None
            cur = cur[step]
        else:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(step)
    return cur


def _set(doc: dict[str, Any], path: str, steps: list[str | int], value: Any) -> None:
    cur: Any = doc
    for i, step in enumerate(steps[:-1]):
        nxt = steps[i + 1]
        if isinstance(step, int):
            if step >= len(cur):
                raise EditError(path, f"item {step} does not exist (the list has {len(cur)})")
            cur = cur[step]
            continue
        if cur.get(step) is None or (isinstance(cur.get(step), dict)
                                     and "nullFlavor" in cur[step]):
            cur[step] = [] if isinstance(nxt, int) else {}
        cur = cur[step]
    last = steps[-1]
    if isinstance(last, int):
        if last < len(cur):
            if value is None:
                del cur[last]
            else:
                cur[last] = value
        elif last == len(cur) and value is not None:
            cur.append(value)
        else:
            raise EditError(path, f"item {last} does not exist (the list has {len(cur)}; "
                                  f"add as item {len(cur)})")
    elif value is None:
        cur.pop(last, None)
    else:
        cur[last] = value


def apply_changes(data: CaseVersionData, changes: dict[str, Any]
                  ) -> tuple[CaseVersionData, list[FieldChange]]:
    """``data`` with ``changes`` applied (``data`` itself untouched) and the field changes
    that resulted; a change to the value a field already has is not a change.

    An event whose reported term changes loses its code (the coding stage codes it again, and
    a code someone confirmed for the old words would be wrong for the new ones)."""
    if not changes:
        raise EditError("changes", "name at least one field to correct")
    doc = case_to_json(data)
    before = copy.deepcopy(doc)
    out: list[FieldChange] = []
    for path in sorted(changes, key=_order):
        steps = _steps(path)
        _check_known(path, steps)
        old = _get(before, steps)
        value = changes[path]
        if old == value:
            continue
        _set(doc, path, steps, value)
        out.append(FieldChange(path, old, value))
        if (len(steps) >= 3 and steps[0] == "reactions" and isinstance(steps[1], int)
                and steps[2] in ("verbatim", "translation")):
            reaction = _get(doc, steps[:2])
            if isinstance(reaction, dict) and reaction.pop("coding", None) is not None:
                out.append(FieldChange(f"reactions[{steps[1]}].coding",
                                       _term(_get(before, [*steps[:2], "coding"])), None))
    try:
        new = case_from_json(doc)
    except CodecError as exc:
        raise EditError(exc.path.removeprefix("$.").removeprefix("$"), exc.message) from exc
    events = {r.id for r in new.reactions}
    for i, drug in enumerate(new.drugs):
        gone = [link.reaction_id for link in drug.reactions if link.reaction_id not in events]
        if gone:  # an event removed: its drug links (G.k.9.i) go with it
            drug.reactions = [link for link in drug.reactions if link.reaction_id in events]
            out.append(FieldChange(f"drugs[{i}].reactions", gone, "links to removed events"))
    if new.sponsor_review is not None:
        new.sponsor_review.pairs = [p for p in new.sponsor_review.pairs
                                    if p.reaction_id in events]
    return new, out


def _order(path: str) -> tuple[int, ...]:
    """Removals of list items last and from the highest index down, so that the indices a
    person saw still name the items they meant."""
    idx = tuple(-int(i) for i in _INDEX.findall(path))
    return (1, *idx) if path.endswith("]") else (0,)


def _term(coding: Any) -> str | None:
    if isinstance(coding, dict) and coding.get("code"):
        return f"{coding.get('code')} {coding.get('term') or ''}".strip()
    return None

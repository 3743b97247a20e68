"""Issue 20: ``copied`` (a pickle round trip) is the deep copy ``copy.deepcopy`` made: an
equal case, every mutable part new, enum members and the objects shared inside the case
shared alike in the copy."""

from __future__ import annotations

import copy
from dataclasses import fields, is_dataclass
from typing import Any

from factories.icsr import icsrs
from hypothesis import HealthCheck, given, settings

from safety.cases.codec import case_to_json
from safety.cases.model import CaseVersionData, copied
from safety.cases.values import NullFlavor
from safety.e2b.sample import sample_case


def _mutable_parts(obj: Any, out: list[Any]) -> list[Any]:
    if isinstance(obj, list):
        out.append(obj)
        for v in obj:
            _mutable_parts(v, out)
    elif is_dataclass(obj) and not isinstance(obj, type):
        if not type(obj).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            out.append(obj)
        for f in fields(obj):
            _mutable_parts(getattr(obj, f.name), out)
    return out


def _same_as_deepcopy(case: CaseVersionData) -> None:
    mine, theirs = copied(case), copy.deepcopy(case)
    assert mine == theirs == case
    assert case_to_json(mine) == case_to_json(theirs)
    assert type(mine) is CaseVersionData
    originals = {id(o) for o in _mutable_parts(case, [])}
    assert not any(id(o) in originals for o in _mutable_parts(mine, []))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=icsrs())
def test_copied_is_deepcopy_for_generated_cases(case: CaseVersionData) -> None:
    _same_as_deepcopy(case)


def test_a_change_to_the_copy_leaves_the_case_alone_and_enums_stay_members() -> None:
    case = sample_case()
    case.patient.fda_race = [NullFlavor.UNK]
    shared = case.reactions[0]
    case.reactions.append(shared)  # one object twice: shared in the copy alike, as deepcopy
    _same_as_deepcopy(case)
    out = copied(case)
    assert out.patient.fda_race[0] is NullFlavor.UNK
    assert out.reactions[-1] is out.reactions[0] and out.reactions[0] is not shared
    before = case_to_json(case)
    out.reactions[0].verbatim = "changed"
    out.drugs.clear()
    assert case_to_json(case) == before

"""Issue 20: the case codec is compiled per dataclass for speed, and must behave exactly as the
reflective codec it replaced: the same value for every input, the same JSON (key order
included: stored JSON is compared), the same ``CodecError`` path and message (the API shows
them) and the same other exceptions. That codec is kept here, frozen, as the reference."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import types
import typing
import uuid
from functools import cache
from typing import Any, Optional, Union, get_args, get_origin
from unittest import mock

import pytest
from factories.e2b import EXAMPLES, example
from factories.icsr import icsrs
from factories.icsr import partial_dates as any_partial_dates
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.cases.codec import CodecError, case_from_json, case_to_json, from_json, to_json
from safety.cases.model import CaseVersionData, Quantity, Reaction
from safety.cases.values import NullFlavor, PartialDate, PartialDateError
from safety.e2b.reader import read_batch

# --- the reference: safety/cases/codec.py as of aa6d72c, unchanged but for the names -------


class ReferenceCodecError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def ref_to_json(obj: Any) -> Any:
    if isinstance(obj, PartialDate):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None or (isinstance(v, list) and not v):
                continue
            out[f.name] = ref_to_json(v)
        return out
    if isinstance(obj, NullFlavor):
        return {"nullFlavor": obj.value}
    if isinstance(obj, list):
        return [ref_to_json(v) for v in obj]
    return obj


@cache
def _ref_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def ref_decode(hint: Any, data: Any, path: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if data is None:
            return None
        if isinstance(data, dict) and "nullFlavor" in data and NullFlavor in options:
            return _ref_null_flavor(data["nullFlavor"], path)
        errors = []
        for opt in options:
            if opt is NullFlavor:
                continue
            try:
                return ref_decode(opt, data, path)
            except ReferenceCodecError as exc:
                errors.append(exc.message)
        raise ReferenceCodecError(path, "; ".join(errors) or "unexpected value")
    if origin is list:
        (item,) = get_args(hint)
        if not isinstance(data, list):
            raise ReferenceCodecError(path, "expected a list")
        return [ref_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
    if hint is NullFlavor:
        if isinstance(data, dict) and "nullFlavor" in data:
            return _ref_null_flavor(data["nullFlavor"], path)
        raise ReferenceCodecError(path, "expected a null flavour")
    if hint is PartialDate:
        if not isinstance(data, str):
            raise ReferenceCodecError(path, "expected a date string")
        try:
            return PartialDate.parse_iso(data)
        except PartialDateError as exc:
            raise ReferenceCodecError(path, str(exc)) from exc
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise ReferenceCodecError(path, "expected an object")
        hints = _ref_hints(hint)
        kwargs = {}
        for key, value in data.items():
            if key not in hints:
                raise ReferenceCodecError(f"{path}.{key}", "unknown field")
            kwargs[key] = ref_decode(hints[key], value, f"{path}.{key}")
        return hint(**kwargs)
    if hint is bool:
        if not isinstance(data, bool):
            raise ReferenceCodecError(path, "expected true or false")
        return data
    if hint is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise ReferenceCodecError(path, "expected a number")
        return float(data)
    if hint is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ReferenceCodecError(path, "expected an integer")
        return data
    if hint is str:
        if not isinstance(data, str):
            raise ReferenceCodecError(path, "expected a string")
        return data
    if hint is Any:
        return data
    raise ReferenceCodecError(path, f"cannot decode into {hint!r}")


def _ref_null_flavor(value: Any, path: str) -> NullFlavor:
    try:
        return NullFlavor(value)
    except ValueError:
        allowed = ", ".join(n.value for n in NullFlavor)
        raise ReferenceCodecError(
            path, f"unknown null flavour {value!r} (allowed: {allowed})") from None


# --- comparing outcomes -------------------------------------------------------------------


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """What a call gave, comparable between the two codecs: the value's repr (it tells 1
    from 1.0 and True, and shows key order) or the exception's kind, path and message. New
    reactions and drugs get ids 0, 1, ... in the order they are made."""
    ids = (uuid.UUID(int=i) for i in itertools.count())
    try:
        with mock.patch("uuid.uuid4", lambda: next(ids)):
            value = fn(*args)
    except (CodecError, ReferenceCodecError) as exc:
        return "codec error", (exc.path, exc.message, str(exc))
    except Exception as exc:  # noqa: BLE001 - any other exception must be the same one too
        return type(exc).__name__, str(exc)
    return "value", (type(value).__name__, repr(value))


def assert_decodes_alike(hint: Any, data: Any, path: str = "$") -> None:
    assert _outcome(from_json, hint, data, path) == _outcome(ref_decode, hint, data, path)


def assert_encodes_alike(obj: Any) -> None:
    assert _outcome(to_json, obj) == _outcome(ref_to_json, obj)


# --- data: valid JSON built from the model's hints, then broken at random places ------------

NULL_FLAVOUR_VALUES = [n.value for n in NullFlavor]
leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
          | st.sampled_from(["UNK", "2024-03", "", "x", "nullFlavor", "true", "1"]))
junk = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=5)
odd = st.sampled_from([10**400, -(10**400), float("nan"), float("inf"), 0, 1, 0.0, True,
                       False, [], {}, {"nullFlavor": None}, {"nullFlavor": ["UNK"]},
                       {"nullFlavor": "unk"}, {"nullFlavor": "UNK", "extra": 1},
                       {"value": 1, "bogus": 2}, {1: "x"}, [None], [{}], ["x", 1]]
                      ).map(copy.deepcopy)  # broken() changes the values it put in
good_null_flavours = st.builds(lambda v: {"nullFlavor": v}, st.sampled_from(NULL_FLAVOUR_VALUES))
null_flavours = good_null_flavours | st.builds(lambda v: {"nullFlavor": v},
                                               st.sampled_from(["XX", "", 3]))
good_dates = st.builds(PartialDate.isoformat, any_partial_dates())
date_strings = (good_dates
                | st.sampled_from(["2024-02-30", "2024-13", "24", "2024/01/02", " 2024-05 ",
                                   "2024-01-02T25:00", "2024-01-02T10:00+01:00", "2024-01-02Z",
                                   "0000", "2024-1-2"]))


def _dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


@cache
def valid(hint: Any, strict: bool = False) -> st.SearchStrategy[Any]:
    """JSON data the hint accepts (but for some date strings and null flavours, unless
    ``strict``)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        parts = [valid(o, strict) for o in options if o is not NullFlavor]
        if not strict:
            parts.append(null_flavours)
        elif NullFlavor in options:
            parts.append(good_null_flavours)
        return st.one_of(st.none(), *parts)
    if origin is list and len(get_args(hint)) == 1:
        return st.lists(valid(get_args(hint)[0], strict), max_size=3)
    if hint is NullFlavor:
        return good_null_flavours if strict else null_flavours
    if hint is PartialDate:
        return good_dates if strict else date_strings
    if _dataclass_type(hint):
        return objects(hint, strict)
    return {bool: st.booleans(), float: st.integers() | st.floats(allow_nan=False),
            int: st.integers(), str: st.text(max_size=8)}.get(hint, junk)


@st.composite
def objects(draw: st.DrawFn, cls: type, strict: bool) -> dict[str, Any]:
    """Some of ``cls``'s fields, in any order (the first bad one in the data is reported)."""
    hints = typing.get_type_hints(cls)
    chosen = draw(st.permutations(list(hints)))[:draw(st.integers(0, min(len(hints), 6)))]
    return {name: draw(valid(hints[name], strict)) for name in chosen}


def _places(doc: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """(container, key) of every value inside ``doc``."""
    if isinstance(doc, dict):
        for k in doc:
            out.append((doc, k))
            _places(doc[k], out)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((doc, i))
            _places(v, out)
    return out


@st.composite
def broken(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with up to three values replaced by junk, keys added or values removed."""
    for _ in range(draw(st.integers(0, 3))):
        places = _places(doc, [])
        if not places:
            return draw(junk | odd)
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "replace", "add", "remove"]))
        if action == "replace":
            container[key] = draw(junk | odd | null_flavours | date_strings)
        elif action == "add" and isinstance(container, dict):
            container[draw(st.sampled_from(["bogus", "nullFlavor", "id", "1"]))] = draw(junk)
        elif isinstance(container, dict):
            del container[key]
    return doc


@st.composite
def documents(draw: st.DrawFn, hint: Any) -> Any:
    return draw(broken(draw(valid(hint))))


# typing's spellings on purpose: they are other objects than the | forms
OTHER_HINTS = [Reaction, list[Reaction], Quantity | None, int | str, str | int, float | int,
               int | float, bool | int | None, list[int | str] | None, NullFlavor,
               NullFlavor | None, Optional[PartialDate], PartialDate, str | NullFlavor,  # noqa: UP045
               dict[str, int], Any, Quantity | str | None, list[str | NullFlavor],
               typing.List, list, Union[Quantity, Reaction, None], float, 3]  # noqa: UP006, UP007


# --- decoding -----------------------------------------------------------------------------


@settings(max_examples=400)
@given(data=documents(CaseVersionData))
def test_case_decoding_is_the_reference_decoding(data: Any) -> None:
    assert_decodes_alike(CaseVersionData, data)


@settings(max_examples=300)
@given(hint_and_data=st.sampled_from(OTHER_HINTS).flatmap(
    lambda h: st.tuples(st.just(h), documents(h) | junk | odd)), path=st.sampled_from(["$", "x"]))
def test_any_hint_decodes_as_the_reference(hint_and_data: tuple[Any, Any], path: str) -> None:
    hint, data = hint_and_data
    assert_decodes_alike(hint, data, path)


@pytest.mark.parametrize(("data", "path", "message"), [
    ({"reactions": [{"start": 5}]}, "$.reactions[0].start", "expected a date string"),
    ({"reactions": [{"coding": {"bogus": 1}}]}, "$.reactions[0].coding", "unknown field"),
    ({"reactions": {}}, "$.reactions", "expected a list"),
    ({"bogus": 1, "patient": 1}, "$.bogus", "unknown field"),
    ({"patient": {"weight_kg": "x"}}, "$.patient.weight_kg", "expected a number"),
    ({"patient": {"age_at_onset": {"value": "1"}}}, "$.patient.age_at_onset",
     "expected a number"),
    ({"patient": {"fda_race": ["1", 1]}}, "$.patient.fda_race[1]", "expected a string"),
    # an optional object's errors are reported at the object (the union's path)
    ({"study": {"fda_cross_reported_inds": [1]}}, "$.study", "expected a string"),
    ({"reactions": [{"ctcae_grade": 1.0}]}, "$.reactions[0].ctcae_grade",
     "expected an integer"),
])
def test_errors_name_the_path_and_what_was_expected(data: Any, path: str, message: str) -> None:
    with pytest.raises(CodecError) as err:
        case_from_json(data)
    assert (err.value.path, err.value.message) == (path, message)
    assert_decodes_alike(CaseVersionData, data)


def test_a_union_joins_its_options_errors_and_overflow_is_not_a_codec_error() -> None:
    with pytest.raises(CodecError) as err:
        from_json(int | bool, "x")
    assert err.value.message == "expected an integer; expected true or false"
    assert from_json(float | int, 1) == 1.0 and type(from_json(int | float, 1)) is int
    with pytest.raises(OverflowError):
        case_from_json({"patient": {"weight_kg": 10**400}})


# --- encoding -----------------------------------------------------------------------------


class Listish(list[Any]):
    pass


odd_values = st.sampled_from([
    (), [], Listish(), Listish([1]), ("a",), "x", 0, 0.5, False, NullFlavor.UNK,
    PartialDate(2024, 2), [PartialDate(2024)], [NullFlavor.NA, "y"], {"k": [PartialDate(1999)]},
    Quantity(1.0), [Quantity(), None], Reaction(id="r"), {1, 2}, b"x", CaseVersionData, None])


@st.composite
def odd_cases(draw: st.DrawFn) -> Any:
    """A case (from JSON the reference accepts) with some fields holding what the hints do
    not allow: the encoder follows the values, not the hints."""
    case = draw(cases())
    parts = [o for o in _objects(case, []) if not isinstance(o, PartialDate)]
    for _ in range(draw(st.integers(0, 3))):
        obj = draw(st.sampled_from(parts))
        name = draw(st.sampled_from([f.name for f in dataclasses.fields(obj)]))
        setattr(obj, name, draw(odd_values))
    return case


def _objects(obj: Any, out: list[Any]) -> list[Any]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out.append(obj)
        for f in dataclasses.fields(obj):
            _objects(getattr(obj, f.name), out)
    elif isinstance(obj, list):
        for v in obj:
            _objects(v, out)
    return out


def cases() -> st.SearchStrategy[CaseVersionData]:
    return valid(CaseVersionData, strict=True).map(
        lambda doc: ref_decode(CaseVersionData, doc, "$"))


@settings(max_examples=300)
@given(case=cases())
def test_case_encoding_is_the_reference_encoding(case: CaseVersionData) -> None:
    assert_encodes_alike(case)
    assert_decodes_alike(CaseVersionData, ref_to_json(case))


@settings(max_examples=20)
@given(case=icsrs())
def test_realistic_cases_encode_as_the_reference(case: CaseVersionData) -> None:
    """Cases as the E2B tables allow them (what ``cases()`` does not aim at)."""
    assert_encodes_alike(case)
    assert_decodes_alike(CaseVersionData, ref_to_json(case))


@settings(max_examples=300)
@given(case=odd_cases())
def test_odd_values_encode_as_the_reference(case: CaseVersionData) -> None:
    assert_encodes_alike(case)


@pytest.mark.parametrize("obj", [None, 1, "x", [], [PartialDate(2024)], NullFlavor.MSK,
                                 PartialDate(2024, 1, 2, 3), Quantity(), Quantity(2.0, "mg"),
                                 Quantity, {"a": Quantity()}, (Quantity(),), math.nan])
def test_any_value_encodes_as_the_reference(obj: Any) -> None:
    assert_encodes_alike(obj)


@dataclasses.dataclass
class Derived(Quantity):
    """Not a slotted model class: the encoder goes by each object's own fields."""

    note: str | None = None


def test_a_subclass_encodes_its_own_fields() -> None:
    obj = Derived(1.0, "mg", "n")
    assert to_json(obj) == ref_to_json(obj) == {"value": 1.0, "unit": "mg", "note": "n"}


@dataclasses.dataclass
class Empty:
    pass


@dataclasses.dataclass
class One:
    x: int | None = None


@pytest.mark.parametrize("obj", [Empty(), One(), One(1), [One(2), Empty()]])
def test_classes_of_no_or_one_field_encode_as_the_reference(obj: Any) -> None:
    assert_encodes_alike(obj)
    assert_decodes_alike(type(obj), ref_to_json(obj))


# --- the official E2B examples ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_official_examples_round_trip_as_the_reference(name: str) -> None:
    for m in read_batch(example(name)):
        data = case_to_json(m.case)
        assert repr(data) == repr(ref_to_json(m.case))
        assert_decodes_alike(CaseVersionData, data)
        assert case_from_json(data) == m.case

"""JSON form of the case model: how a case version is stored and shown through the API.

The JSON keeps the absent/null-flavoured distinction: an absent field is omitted, a
null-flavoured one is ``{"nullFlavor": "ASKU"}``. Partial dates are ISO strings of their own
precision (``"2024-03"``). Decoding is driven by the dataclasses' type hints, so the model is
the single description of the structure.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from safety.cases.model import CaseVersionData
from safety.cases.values import NullFlavor, PartialDate, PartialDateError

T = TypeVar("T")


class CodecError(ValueError):
    """The stored or submitted JSON does not fit the case model; ``path`` locates it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def to_json(obj: Any) -> Any:
    """Encode a model object (or list/value) to JSON-ready data, omitting absent fields."""
    if isinstance(obj, PartialDate):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None or (isinstance(v, list) and not v):
                continue
            out[f.name] = to_json(v)
        return out
    if isinstance(obj, NullFlavor):
        return {"nullFlavor": obj.value}
    if isinstance(obj, list):
        return [to_json(v) for v in obj]
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(cls: type[T], data: Any, path: str = "$") -> T:
    """Decode JSON data into ``cls``; raises :class:`CodecError` naming the bad path."""
    decoded: T = _decode(cls, data, path)  # of type cls: decoding follows its hints
    return decoded


def _decode(hint: Any, data: Any, path: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if data is None:
            return None
        if isinstance(data, dict) and "nullFlavor" in data and NullFlavor in options:
            return _null_flavor(data["nullFlavor"], path)
        errors = []
        for opt in options:
            if opt is NullFlavor:
                continue
            try:
                return _decode(opt, data, path)
            except CodecError as exc:
                errors.append(exc.message)
        raise CodecError(path, "; ".join(errors) or "unexpected value")
    if origin is list:
        (item,) = get_args(hint)
        if not isinstance(data, list):
            raise CodecError(path, "expected a list")
        return [_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
    if hint is NullFlavor:
        if isinstance(data, dict) and "nullFlavor" in data:
            return _null_flavor(data["nullFlavor"], path)
        raise CodecError(path, "expected a null flavour")
    if hint is PartialDate:
        if not isinstance(data, str):
            raise CodecError(path, "expected a date string")
        try:
            return PartialDate.parse_iso(data)
        except PartialDateError as exc:
            raise CodecError(path, str(exc)) from exc
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise CodecError(path, "expected an object")
        hints = _hints(hint)
        kwargs = {}
        for key, value in data.items():
            if key not in hints:
                raise CodecError(f"{path}.{key}", "unknown field")
            kwargs[key] = _decode(hints[key], value, f"{path}.{key}")
        return hint(**kwargs)
    if hint is bool:
        if not isinstance(data, bool):
            raise CodecError(path, "expected true or false")
        return data
    if hint is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise CodecError(path, "expected a number")
        return float(data)
    if hint is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise CodecError(path, "expected an integer")
        return data
    if hint is str:
        if not isinstance(data, str):
            raise CodecError(path, "expected a string")
        return data
    if hint is Any:
        return data
    raise CodecError(path, f"cannot decode into {hint!r}")


def _null_flavor(value: Any, path: str) -> NullFlavor:
    try:
        return NullFlavor(value)
    except ValueError:
        allowed = ", ".join(n.value for n in NullFlavor)
        raise CodecError(path, f"unknown null flavour {value!r} (allowed: {allowed})") from None


def case_to_json(case: CaseVersionData) -> dict[str, Any]:
    encoded: dict[str, Any] = to_json(case)  # a dataclass is encoded as an object
    return encoded


def case_from_json(data: dict[str, Any]) -> CaseVersionData:
    return from_json(CaseVersionData, data)

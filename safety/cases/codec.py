"""JSON form of the case model: how a case version is stored and shown through the API.

The JSON keeps the absent/null-flavoured distinction: an absent field is omitted, a
null-flavoured one is ``{"nullFlavor": "ASKU"}``. Partial dates are ISO strings of their own
precision (``"2024-03"``). Decoding is driven by the dataclasses' type hints, so the model is
the single description of the structure.

A worker decodes and encodes each case version about twice per report (issue 20), so each
dataclass's decoder and encoder are built from its hints and fields once and kept
(``_compile``, ``_object_encoder``); ``_decode`` and ``_encode_any`` remain the definition, taken
for errors (their paths and messages) and anything unusual.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from operator import attrgetter
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
    """Encode a model object (or list/value) to JSON-ready data, omitting absent fields.

    By the value's exact type: a dataclass's encoder is made on its first instance
    (:func:`_encoder_for`); a type with no encoder of its own takes :func:`_encode_any`.
    """
    encode = _ENCODERS.get(type(obj))
    if encode is None:
        encode = _encoder_for(type(obj))
    return encode(obj)


def _encode_any(obj: Any) -> Any:
    """The encoder's definition, by isinstance: for the types with no encoder of their own
    (subclasses, proxies: whatever ``isinstance`` says of them), and what the others match."""
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


def _same(obj: Any) -> Any:
    return obj


def _encode_list(obj: list[Any]) -> list[Any]:
    return [to_json(v) for v in obj]


def _encode_null_flavor(obj: NullFlavor) -> dict[str, str]:
    return {"nullFlavor": obj.value}


def _encode_date(obj: PartialDate) -> str:
    return obj.isoformat()


# Exact types whose encoding ``_encode_any`` fixes by type alone; dataclasses join on first use.
_PLAIN = (str, int, float, bool, type(None))
_ENCODERS: dict[type, Callable[[Any], Any]] = {
    **dict.fromkeys(_PLAIN, _same), list: _encode_list, NullFlavor: _encode_null_flavor,
    PartialDate: _encode_date}


def _encoder_for(cls: type) -> Callable[[Any], Any]:
    """A compiled encoder for instances of a plain dataclass (registered), else the generic one.

    A class qualifies when ``_encode_any`` would take its instances down the dataclass branch
    whatever the instance: a dataclass, not a PartialDate, not a metaclass, a class compared by
    identity (a key of ``_ENCODERS``), and its instances' ``__class__`` is their type
    (``isinstance`` also believes ``__class__``).
    """
    if (dataclasses.is_dataclass(cls) and not issubclass(cls, PartialDate | type)
            and _by_identity(cls) and all("__class__" not in vars(k) for k in cls.__mro__[:-1])):
        encoder = _object_encoder(cls)
        _ENCODERS[cls] = encoder
        return encoder
    return _encode_any


def _object_encoder(cls: type) -> Callable[[Any], dict[str, Any]]:
    """Fields in declaration order (the JSON's key order); absent and empty-list fields left out;
    a string, number or flag kept as it is, other values through :func:`to_json`."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    values: Callable[[Any], tuple[Any, ...]]
    if len(names) > 1:
        values = attrgetter(*names)
    elif names:
        one = attrgetter(names[0])
        values = lambda obj: (one(obj),)  # noqa: E731 - attrgetter of one name gives no tuple
    else:
        values = lambda obj: ()  # noqa: E731
    plain = frozenset(_PLAIN)
    encoders = _ENCODERS

    def encode_object(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, v in zip(names, values(obj), strict=True):
            if v is None:
                continue
            t = type(v)
            if t is str or t in plain:
                out[name] = v
            elif t is list:
                if v:
                    out[name] = [to_json(x) for x in v]
            else:
                encode = encoders.get(t)
                if encode is not None:
                    out[name] = encode(v)
                elif not (isinstance(v, list) and not v):
                    out[name] = to_json(v)
        return out

    return encode_object


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(cls: type[T], data: Any, path: str = "$") -> T:
    """Decode JSON data into ``cls``; raises :class:`CodecError` naming the bad path.

    The compiled decoder (:func:`_compile`) carries no paths; when it refuses the data (or
    anything raises), :func:`_decode`, the reflective definition, decodes it again and raises
    the error with its path and message (or returns, should the compiled one be stricter).
    """
    try:
        decoded: T = _compile(cls)(data)
    except Exception:  # noqa: BLE001 - the definition decides the outcome: error or value
        decoded = _decode(cls, data, path)  # of type cls: decoding follows its hints
    return decoded


def _decode(hint: Any, data: Any, path: str) -> Any:
    """The decoder's definition: follows ``hint`` value by value, naming the path of an error.

    Only errors (and unusual hints) come here; :func:`_compile` builds the same decisions."""
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


# --- the compiled decoder -------------------------------------------------------------------
#
# ``_compile(hint)`` makes the decisions ``_decode`` makes on ``hint`` once, returning a function
# of the data alone. It must return what ``_decode`` returns, raise ``_Refused`` exactly where
# ``_decode`` raises CodecError (a union tries its next option on either) and let any other
# exception through. It builds no paths: an error is decoded again by ``_decode`` for those.

Decoder = Callable[[Any], Any]


class _Refused(Exception):
    """The compiled decoder's CodecError, without path or message."""


@cache
def _class_decoder(cls: type) -> Decoder:
    """One object decoder per dataclass, shared by every field of its type and every call of
    :func:`from_json`. Only classes are kept: two equal unions may list their options in
    different orders, so a cache keyed by any hint could hand one the other's decoder."""
    return _object_decoder(cls)


def _by_identity(cls: type) -> bool:
    """A class a cache may key on: compared and hashed by identity, as its metaclass does not
    say otherwise."""
    meta = type(cls)
    return meta.__eq__ is type.__eq__ and meta.__hash__ is type.__hash__


def _compile(hint: Any) -> Decoder:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        return _union_decoder(NullFlavor in options,
                              [_compile(opt) for opt in options if opt is not NullFlavor])
    if origin is list and len(get_args(hint)) == 1:
        return _list_decoder(_compile(get_args(hint)[0]))
    if hint is PartialDate:
        return _decode_date
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _class_decoder(hint) if _by_identity(hint) else _object_decoder(hint)
    if hint is bool:
        return _decode_bool
    if hint is float:
        return _decode_float
    if hint is int:
        return _decode_int
    if hint is str:
        return _decode_str
    if hint is Any:
        return _same
    return _reflective(hint)  # a bare NullFlavor, ``List`` with no item type, an unknown hint


def _reflective(hint: Any) -> Decoder:
    """``_decode`` itself, for hints with no compiled form."""

    def decode(data: Any) -> Any:
        try:
            return _decode(hint, data, "$")
        except CodecError:
            raise _Refused from None

    return decode


def _union_decoder(null_flavoured: bool, options: list[Decoder]) -> Decoder:
    def decode_union(data: Any) -> Any:
        if data is None:
            return None
        if null_flavoured and isinstance(data, dict) and "nullFlavor" in data:
            return _flavour(data["nullFlavor"])
        for decode in options:
            try:
                return decode(data)
            except _Refused:
                pass
        raise _Refused

    if len(options) != 1:
        return decode_union
    (only,) = options

    def decode_optional(data: Any) -> Any:  # the model's unions: one type, null-flavoured or not
        if data is None:
            return None
        if null_flavoured and isinstance(data, dict) and "nullFlavor" in data:
            return _flavour(data["nullFlavor"])
        return only(data)

    if only is _decode_str:  # Text, the most common field: a string is kept as it is
        def decode_text(data: Any) -> Any:
            if type(data) is str:
                return data
            return decode_optional(data)

        return decode_text
    return decode_optional


def _list_decoder(item: Decoder) -> Decoder:
    def decode_list(data: Any) -> list[Any]:
        if not isinstance(data, list):
            raise _Refused
        return [item(v) for v in data]

    return decode_list


def _object_decoder(cls: type) -> Decoder:
    """The fields' decoders are compiled on the first object decoded, as ``_decode`` reads the
    hints only once it has an object (a hint that cannot be resolved fails there alike)."""
    fields: dict[str, Decoder] | None = None

    def decode_object(data: Any) -> Any:
        nonlocal fields
        if not isinstance(data, dict):
            raise _Refused
        if fields is None:
            fields = {name: _compile(hint) for name, hint in _hints(cls).items()}
        kwargs = {}
        for key, value in data.items():
            decode = fields.get(key)
            if decode is None:
                raise _Refused
            kwargs[key] = decode(value)
        return cls(**kwargs)

    return decode_object


_NULL_FLAVOURS = {n.value: n for n in NullFlavor}


def _flavour(value: Any) -> NullFlavor:
    member = _NULL_FLAVOURS.get(value) if type(value) is str else None
    if member is not None:
        return member
    try:
        return NullFlavor(value)
    except ValueError:
        raise _Refused from None


def _decode_date(data: Any) -> PartialDate:
    if not isinstance(data, str):
        raise _Refused
    try:
        return PartialDate.parse_iso(data)
    except PartialDateError:
        raise _Refused from None


def _decode_bool(data: Any) -> bool:
    if not isinstance(data, bool):
        raise _Refused
    return data


def _decode_float(data: Any) -> float:
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise _Refused
    return float(data)


def _decode_int(data: Any) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise _Refused
    return data


def _decode_str(data: Any) -> str:
    if not isinstance(data, str):
        raise _Refused
    return data


def case_to_json(case: CaseVersionData) -> dict[str, Any]:
    encoded: dict[str, Any] = to_json(case)  # a dataclass is encoded as an object
    return encoded


def case_from_json(data: dict[str, Any]) -> CaseVersionData:
    return from_json(CaseVersionData, data)

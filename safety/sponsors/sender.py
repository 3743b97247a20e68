"""A sponsor's sender block (E2B(R3) C.3).

Regulators require the sender's contact details on every ICSR (C.3.1–C.3.4.8; the FDA makes
title, department, address, telephone, fax and e-mail mandatory, FDA Core and Regional Data
Elements, C.3.3/C.3.4 "Regionally required for all reports"). They are the sponsor's facts,
configured once per sponsor (``safety sponsor configure``), not typed into each case.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from safety.cases.model import Sender


class SenderProfileError(ValueError):
    pass


@dataclass(frozen=True)
class SenderProfile:
    organisation: str
    type: str = "1"  # C.3.1: 1 pharmaceutical company
    department: str | None = None
    title: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    telephone: str | None = None
    fax: str | None = None
    email: str | None = None

    def to_sender(self) -> Sender:
        return Sender(**{f.name: getattr(self, f.name) for f in fields(self)})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sender_from_json(data: object, where: str = "sender") -> SenderProfile:
    """A sender block from its JSON form; errors name the key."""
    if not isinstance(data, dict):
        raise SenderProfileError(f"{where}: expected an object")
    known = {f.name for f in fields(SenderProfile)}
    unknown = set(data) - known
    if unknown:
        raise SenderProfileError(f"{where}: unknown keys {sorted(unknown)}")
    if not data.get("organisation"):
        raise SenderProfileError(f"{where}: 'organisation' is required")
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            raise SenderProfileError(f"{where}.{key}: expected a string")
    return SenderProfile(**data)


def load_sender_profile(path: Path) -> SenderProfile | None:
    """A sender block from a JSON file (``None`` when there is none)."""
    if not path.exists():
        return None
    return sender_from_json(_read_json(path), str(path))


def load_installation_sender(path: Path) -> SenderProfile | None:
    """The sender block a single-organisation installation kept in its file
    (``SAFETY_SENDER_PROFILE``), read as that installation read it, for the sponsor it is
    migrated into. Its reader took any JSON scalar and its messages carried the value's text
    (a postcode or telephone number written without quotes), so such a value is migrated as
    that text; whatever else it refused is refused here too, naming the file and the key."""
    if not path.exists():
        return None
    data = _read_json(path)
    if isinstance(data, dict):
        data = {k: str(v) if isinstance(v, int | float) else v for k, v in data.items()}
    return sender_from_json(data, str(path))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SenderProfileError(f"{path}: not JSON ({exc})") from exc

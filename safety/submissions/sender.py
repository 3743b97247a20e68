"""The organisation's sender block (E2B(R3) C.3), kept in the instance folder.

Regulators require the sender's contact details on every ICSR (C.3.1–C.3.4.8; the FDA makes
title, department, address, telephone, fax and e-mail mandatory, FDA Core and Regional Data
Elements, C.3.3/C.3.4 "Regionally required for all reports"). They are organisation facts,
configured once in a file (``SAFETY_SENDER_PROFILE``, default ``SAFETY_HOME/sender.json``;
the callers pass ``settings.sender_profile_path``), not typed into each case.
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


def load_sender_profile(path: Path) -> SenderProfile | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SenderProfileError(f"{path}: not JSON ({exc})") from exc
    known = {f.name for f in fields(SenderProfile)}
    unknown = set(data) - known
    if unknown:
        raise SenderProfileError(f"{path}: unknown keys {sorted(unknown)}")
    if not data.get("organisation"):
        raise SenderProfileError(f"{path}: 'organisation' is required")
    return SenderProfile(**data)

"""A submission that cannot be stored as it came: refused whole, before anything is written,
with every bad field named (``errors``: ``{where: {field: [reason, ...]}}``, the shape of the
API's 422 body), never a database error halfway through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class InvalidSubmission(ValueError):
    """What was sent does not fit what the service stores; nothing of it was stored."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(_summary(errors))
        self.errors = dict(errors)


class SenderNotBound(InvalidSubmission):
    """An E2B message names a sender (N.2.r.2) its partner client is not bound to: a client
    sends as itself only, so the whole batch is refused (403) and nothing of it stored."""


def _summary(errors: Mapping[str, Any], prefix: str = "") -> str:
    parts = []
    for key, value in errors.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            parts.append(_summary(value, where))
        else:
            parts.append(f"{where}: {'; '.join(str(v) for v in value)}")
    return "; ".join(parts)


def too_long(limit: int, got: int) -> str:
    return f"At most {limit} characters ({got} given)."

"""An ``Idempotency-Key`` names one submission of one client: a retry with the same key and the
same body is answered with the first report; the same key with another body is a conflict
(HTTP 409), never a second report."""

from __future__ import annotations


class IdempotencyConflict(ValueError):
    """The same Idempotency-Key was used before with a different body."""


def check_same_body(stored_sha256: str, incoming_sha256: str) -> None:
    if stored_sha256 != incoming_sha256:
        raise IdempotencyConflict("Idempotency-Key was already used for a different submission")

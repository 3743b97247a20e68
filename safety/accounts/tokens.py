"""API tokens: random, prefixed so they are recognisable in logs, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "sdk_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching).
    return hashlib.sha256(token.encode()).hexdigest()

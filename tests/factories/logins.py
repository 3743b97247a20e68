"""Browsers at given client addresses, for the login throttle: each address is a separate
person (or a stranger's separate machine) as far as the throttle can tell."""

from __future__ import annotations

from typing import Any

from flask import Flask

from factories.accounts import PASSWORD
from factories.web import Browser

OWNER = "192.0.2.10"  # the account owner's workstation (TEST-NET-1)


def stranger(n: int) -> str:
    """The n-th address of someone else (TEST-NET-3)."""
    return f"203.0.113.{n % 250 + 1}"


def browser_at(app: Flask, address: str) -> Browser:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def login_from(app: Flask, address: str, email: str, password: str = PASSWORD) -> Any:
    """One login try from ``address`` in a fresh browser; the response."""
    return browser_at(app, address).login(email, password)

"""Web workspace fixtures: a browser-like test client, and cases made through the real API and
worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories.cases import Cases
from factories.web import Browser
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture()
def browser(app: Flask) -> Callable[[], Browser]:
    return lambda: Browser(app.test_client())


@pytest.fixture()
def make_case(client: FlaskClient, sites: Any, worker: Any) -> Callable[..., str]:
    """Submit forms through the API as a site and process them; return the case id."""
    return Cases(client, sites, worker).make

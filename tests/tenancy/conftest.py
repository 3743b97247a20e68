"""Two sponsors' worlds (tests/factories/tenancy.py) and a browser for their users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories.tenancy import TwoSponsors
from factories.web import Browser
from flask import Flask
from flask.testing import FlaskClient

from safety.config import Settings


@pytest.fixture()
def world(client: FlaskClient, sites: Any, users: Any, worker: Callable[[], int],
          settings: Settings) -> TwoSponsors:
    return TwoSponsors(client, sites, users, worker, settings)


@pytest.fixture()
def browser(app: Flask) -> Callable[[], Browser]:
    return lambda: Browser(app.test_client())

"""Web workspace fixtures: the app with the web blueprints, users of each role, a logged-in
test client, and cases made through the real API and worker.

The core migrations do not create the feature areas' tables yet (the lead autogenerates
them), so the test database gets every table of ``Base.metadata`` created here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from factories.forms import sae_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from safety.accounts.clients import get_or_create_site
from safety.accounts.store import Site
from safety.accounts.users import create_user
from safety.cases.store import Case
from safety.config import Settings
from safety.db.base import Base
from safety.db.session import get_engine, import_all_models, session_scope
from safety.web import register_web

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def base_settings(base_settings: Settings) -> Settings:
    import_all_models()
    Base.metadata.create_all(get_engine(base_settings.effective_database_url))
    return base_settings


@pytest.fixture()
def app(settings: Settings) -> Flask:
    from safety.app import create_app

    app = create_app(settings=settings)
    register_web(app)  # a second call keeps what create_app plugged in
    return app


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Users:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.effective_database_url

    def add(self, email: str, role: str, site: str | None = None,
            name: str | None = None) -> int:
        with session_scope(self.url) as session:
            site_id = get_or_create_site(session, site, "GB")[0].id if site else None
            return create_user(session, email=email, role=role, password=PASSWORD,
                               printed_name=name or email.split("@")[0].title(),
                               site_id=site_id, actor="test").id


@pytest.fixture()
def users(settings: Settings) -> Users:
    return Users(settings)


class Browser:
    """A Flask test client that logs in through the form and posts with the CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def login(self, email: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login")
        return self.client.post("/login", data={
            "email": email, "password": password, "csrf_token": csrf_token(page.text)})

    def get(self, url: str, **kw: Any) -> Any:
        response = self.client.get(url, **kw)
        if response.status_code == 200 and "csrf_token" in response.text:
            self.token = csrf_token(response.text)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        if self.token is None:
            self.get("/")
            self.token = csrf_token(self.client.get("/login").text)
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)


@pytest.fixture()
def browser(app: Flask) -> Callable[[], Browser]:
    return lambda: Browser(app.test_client())


@pytest.fixture()
def make_case(client: FlaskClient, sites: Any, worker: Any, settings: Settings) -> Any:
    """Submit forms through the API as a site and process them; return the case id."""
    def make(site_name: str = "Site 101", form: dict[str, Any] | None = None,
             **overrides: Any) -> str:
        token = sites.token(site_name, "GB")
        response = client.post("/api/v1/reports", json=form or sae_form(**overrides),
                               headers=sites.headers(token))
        assert response.status_code == 202, response.json
        worker()
        report = client.get(response.json["status_url"], headers=sites.headers(token)).json
        assert report["status"] == "processed", report
        return str(report["case_id"])
    return make


def site_id(settings: Settings, name: str) -> int:
    with session_scope(settings.effective_database_url) as session:
        return session.execute(select(Site.id).where(Site.name == name)).scalar_one()


def case_state(settings: Settings, case_id: str) -> str:
    import uuid

    with session_scope(settings.effective_database_url) as session:
        return session.get(Case, uuid.UUID(case_id)).state

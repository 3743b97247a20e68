"""Unexpected errors: the full error goes to the log, the caller gets JSON on /api/ paths with
nothing of the internals, and a handler for a specific exception still wins."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from safety.web.errors import PAGE_ERROR_PAGE


@pytest.fixture()
def failing_app(app: Flask) -> Flask:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production (tests propagate)

    @app.get("/api/v1/_boom")
    def _api_boom() -> str:
        raise RuntimeError("SELECT name FROM patients WHERE id = 'Jane Doe'")

    @app.get("/_boom")
    def _page_boom() -> str:
        raise RuntimeError("SELECT name FROM patients WHERE id = 'Jane Doe'")

    @app.get("/api/v1/_db_down")
    def _db_down() -> str:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    return app


def test_an_unexpected_error_on_an_api_path_is_json_without_internals(failing_app, caplog):
    with caplog.at_level(logging.ERROR):
        r = failing_app.test_client().get("/api/v1/_boom")
    assert r.status_code == 500
    assert r.json == {"code": 500, "status": "Internal Server Error",
                      "message": "An unexpected error occurred; it has been logged."}
    assert "Jane Doe" in caplog.text  # the full error is in the log, not in the answer


def test_a_handler_for_a_specific_exception_wins_over_the_500(failing_app):
    """Composable: e.g. the database restarting answers 503 with Retry-After."""
    failing_app.register_error_handler(
        OperationalError, lambda e: ({"code": 503, "status": "Service Unavailable"}, 503,
                                     {"Retry-After": "5"}))
    r = failing_app.test_client().get("/api/v1/_db_down")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"


def test_pages_get_what_the_web_part_registers(failing_app):
    client = failing_app.test_client()
    failing_app.extensions[PAGE_ERROR_PAGE] = lambda e: ("<h1>Something went wrong</h1>", 500)
    r = client.get("/_boom")
    assert r.status_code == 500
    assert r.get_data(as_text=True) == "<h1>Something went wrong</h1>"
    assert client.get("/api/v1/_boom").json["code"] == 500  # the API stays JSON

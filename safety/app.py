"""The Flask application factory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import psycopg
import structlog
from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from safety.config import Settings, load_settings, secret_key_for
from safety.db.session import get_sessionmaker, is_database_unavailable
from safety.logging import configure_logging
from safety.web.errors import PAGE_ERROR_PAGE


def create_app(overrides: dict[str, Any] | None = None,
               settings: Settings | None = None) -> Flask:
    """Build the app from ``SAFETY_*`` settings; ``overrides`` replace individual settings
    (tests use it to point at their database and Redis)."""
    settings = (settings or load_settings()).with_overrides(overrides)
    settings.home.mkdir(parents=True, exist_ok=True)
    configure_logging(settings.log_level)
    if settings.web_switch_interval_us:
        # The web server's threads share one interpreter: a request back from the database
        # gets it sooner (Settings.web_switch_interval_us).
        sys.setswitchinterval(settings.web_switch_interval_us / 1_000_000)

    app = Flask(__name__, instance_path=str(settings.home))
    app.config.update(
        SAFETY=settings,
        SECRET_KEY=secret_key_for(settings),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TESTING=settings.testing,
        API_TITLE="SafetyDesk API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        # The docs page (/api/v1/docs) is safety.web.api_docs: Swagger UI from a package,
        # not flask-smorest's page, which loads it from a CDN.
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    maker = get_sessionmaker(settings.effective_database_url, settings.unblinded_database_url)

    @app.before_request
    def _open_session() -> None:
        g.db = maker()

    @app.teardown_request
    def _close_session(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            if exc is None:
                db.commit()
            else:
                db.rollback()
            db.close()

    from safety.api import body, cases, health, reports
    from safety.api import coding as coding_review_api
    from safety.api import duplicates as dedup_api
    from safety.api import migrations as migrations_api
    from safety.api import obligations as rules_api
    from safety.api import outputs as outputs_api
    from safety.api import products as products_api
    from safety.api import questions as questions_api
    from safety.api import sponsors as sponsors_api
    from safety.api import submissions as submissions_api
    from safety.api import terminology as coding_api
    from safety.intake.schemas import SAEFormSchema

    body.init_app(app)  # JSON parsed strictly; NUL characters and lone surrogates refused
    api = Api(app)  # flask-smorest answers every HTTPException in JSON (its error handler)
    app.register_error_handler(InternalServerError, _unexpected_error)
    for database_error in (DBAPIError, PoolTimeout, psycopg.Error):
        app.register_error_handler(database_error, _database_error)
    api.spec.components.schema("SAEForm", schema=SAEFormSchema)
    api.register_blueprint(reports.blp)
    api.register_blueprint(cases.blp)
    api.register_blueprint(rules_api.blp)
    api.register_blueprint(submissions_api.blp)
    api.register_blueprint(coding_api.blp)
    api.register_blueprint(coding_review_api.blp)
    api.register_blueprint(dedup_api.blp)
    api.register_blueprint(products_api.blp)
    api.register_blueprint(sponsors_api.blp)
    api.register_blueprint(questions_api.blp)
    api.register_blueprint(outputs_api.blp)
    api.register_blueprint(migrations_api.blp)
    app.register_blueprint(health.bp)

    from safety.web import register_web

    register_web(app)
    return app


# Seconds a client is asked to wait when the database is away: a PostgreSQL restart takes a
# few, and the pool's pre-ping replaces the dropped connections on the next request.
DATABASE_RETRY_AFTER = 5


def _database_error(exc: Exception) -> ResponseReturnValue:
    """The database could not be reached (restarting, stopped, the connection dropped): 503
    with Retry-After, a page for people and JSON for the API, instead of a 500. Any other
    database error is re-raised, so that Flask logs it and answers its 500."""
    if not is_database_unavailable(exc):
        raise exc
    # The request's session holds a broken connection: discard it here, because the teardown
    # commits whatever a handler answered.
    db = g.pop("db", None)
    if db is not None:
        with suppress(SQLAlchemyError):
            db.rollback()
        with suppress(SQLAlchemyError):
            db.close()
    structlog.get_logger("safety.web").warning(
        "database.unavailable", path=request.path, error=type(exc).__name__)
    error = ServiceUnavailable(
        description="The database is unavailable for a moment; try again shortly.",
        retry_after=DATABASE_RETRY_AFTER)
    if not request.path.startswith("/api/"):
        page: Callable[[HTTPException], ResponseReturnValue] | None = (
            current_app.extensions.get(PAGE_ERROR_PAGE))
        if page is not None:
            return page(error)
    return ({"code": 503, "status": "Service Unavailable", "message": error.description},
            503, {"Retry-After": str(DATABASE_RETRY_AFTER)})


def _unexpected_error(exc: InternalServerError) -> ResponseReturnValue:
    """An exception no handler claimed, which Flask turns into a 500 after logging it in full
    (``Flask.log_exception``). A handler registered for a more specific exception (say, a
    503 with Retry-After for the database's OperationalError) is found before this one, so
    this never swallows it. The caller gets no internals: no exception text, no traceback.
    A page (any path but /api/) gets the web part's error page (``PAGE_ERROR_PAGE``)."""
    if not request.path.startswith("/api/"):
        page: Callable[[HTTPException], ResponseReturnValue] | None = (
            current_app.extensions.get(PAGE_ERROR_PAGE))
        if page is not None:
            return page(exc)
    return {"code": 500, "status": "Internal Server Error",
            "message": "An unexpected error occurred; it has been logged."}, 500

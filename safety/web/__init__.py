"""The browser workspace: the safety team's queue, case pages, workflow and signatures, the
site portal, a dashboard and account administration. Server-rendered Jinja with htmx as a
progressive enhancement; every page works without JavaScript.

Call :func:`register_web` from ``create_app`` after the per-request database session hook.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from safety.accounts.roles import LABELS, Role
from safety.cases.workflow import STATE_LABELS, CaseState


def register_web(app: Flask) -> None:
    """Add the web pages to ``app``. Idempotent."""
    from safety.web import (
        admin,
        api_docs,
        cases,
        dashboard,
        login,
        medical,
        metrics,
        operations,
        outputs,
        portal,
        questions,
        review_actions,
        sponsors,
    )
    from safety.web.errors import register_error_pages
    from safety.web.security import init_security

    if "web_login" in app.blueprints:
        return
    init_security(app)
    register_error_pages(app)
    for module in (login, cases, portal, dashboard, admin, review_actions, sponsors,
                   operations, outputs, questions, metrics, medical, api_docs):
        app.register_blueprint(module.bp)
    app.jinja_env.filters["state_label"] = _state_label
    app.jinja_env.filters["local"] = _local
    app.jinja_env.filters["role_label"] = lambda r: LABELS.get(Role(r), r)
    app.jinja_env.globals["HTMX"] = "htmx-2.0.11.min.js"


def _state_label(state: str) -> str:
    try:
        return STATE_LABELS[CaseState(state)]
    except ValueError:
        return state


def _local(value: datetime | None) -> str:
    """A UTC instant as the organisation's local time, with the zone named."""
    if value is None:
        return ""
    zone = current_app.config["SAFETY"].zone
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


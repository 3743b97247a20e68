"""Log in and out. The home page sends each role to where its work is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from safety.accounts.roles import Role
from safety.accounts.users import authenticate, logged_out
from safety.queue.connection import get_redis
from safety.web.security import SessionUser, client_address

bp = Blueprint("web_login", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")


@bp.get("/favicon.ico")
def favicon() -> Any:
    """The site's icon where every browser asks for it first (it was a 404 on every page)."""
    return send_from_directory(Path(__file__).parent / "static", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=86400)


def home_for(role: str) -> str:
    if role == Role.SITE_SUBMITTER:
        return url_for("web_portal.index")
    if role == Role.ADMIN:
        return url_for("web_admin.users")
    return url_for("web_cases.queue")


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so a crafted link cannot bounce a user elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(home_for(current_user.row.role))
    return redirect(url_for("web_login.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        result = authenticate(g.db, email, request.form.get("password", ""),
                              now=datetime.now(UTC), address=client_address(),
                              redis=get_redis(current_app.config["SAFETY"]))
        if result.user is not None:
            session.clear()  # a fresh session id on login: no fixation
            login_user(SessionUser(result.user))
            session["last_seen"] = session["login_at"] = datetime.now(UTC).timestamp()
            target = _safe_next(request.args.get("next"))
            # A site submitter's "next" must stay in the portal.
            if target and result.user.role == Role.SITE_SUBMITTER \
                    and not target.startswith("/portal"):
                target = None
            return redirect(target or home_for(result.user.role))
        error = result.error
        if result.retry_after:
            page = make_response(render_template("web/login.html", error=error), 429)
            page.headers["Retry-After"] = str(result.retry_after)
            return page
    return render_template("web/login.html", error=error), 200 if error is None else 401


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        row = current_user.row
        logged_out(g.db, row)
    logout_user()
    session.clear()
    flash("Logged out.")
    return redirect(url_for("web_login.login"))

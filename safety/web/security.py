"""Sessions, CSRF and permissions for the HTML pages.

- Flask-Login keeps the user id in the signed session cookie; the user row is read on every
  request, so a lock or role change takes effect at once.
- Idle timeout: a session unused for ``SAFETY_WEB_IDLE_MINUTES`` (default 15) ends, and no
  session outlives ``SAFETY_WEB_MAX_SESSION_HOURS`` (default 8) from its login. Both are
  settings (``Settings.web_idle_minutes``, ``web_max_session_hours``), read from the app's
  ``SAFETY`` config like every other setting.
- CSRF: Flask-WTF checks a token on every state-changing request to the web blueprints. The
  bearer-token JSON API is exempt: it has no ambient credential a browser could replay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFProtect

from safety.accounts.grants import role_for, sponsors_with
from safety.accounts.roles import Permission, Role, can
from safety.accounts.scope import Scope
from safety.accounts.users import get_user
from safety.config import Settings
from safety.db.tenancy import restrict_to_sponsors

if TYPE_CHECKING:
    from safety.accounts.store import User

login_manager = LoginManager()
csrf = CSRFProtect()

P = ParamSpec("P")
View: TypeAlias = Callable[P, ResponseReturnValue]  # a view function taking P

WEB_BLUEPRINTS = frozenset({"web_login", "web_cases", "web_portal", "web_dashboard",
                            "web_admin"})


def init_security(app: Flask) -> None:
    settings: Settings = app.config["SAFETY"]
    app.config.setdefault("PERMANENT_SESSION_LIFETIME",
                          timedelta(hours=settings.web_max_session_hours))
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # Checked per request for the web blueprints only (see _csrf_and_idle below).
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session bounds the token's life
    login_manager.init_app(app)
    login_manager.login_view = "web_login.login"
    login_manager.login_message = "Please log in."
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.before_request(_csrf_and_idle)


@login_manager.user_loader
def _load_user(user_id: str) -> Any:
    from safety.web.login import SessionUser

    user = get_user(g.db, int(user_id))
    if user is None or user.locked or not user.active:
        return None
    return SessionUser(user)


def _csrf_and_idle() -> Any:
    if request.blueprint not in WEB_BLUEPRINTS:
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if "_user_id" in session:
        now = datetime.now(UTC).timestamp()
        last = session.get("last_seen")
        started = session.get("login_at")
        settings: Settings = current_app.config["SAFETY"]
        idle = settings.web_idle_minutes * 60
        longest = settings.web_max_session_hours * 3600
        expired = None
        if last is None or now - float(last) > idle:
            expired = "Your session timed out after inactivity."
        elif started is None or now - float(started) > longest:
            expired = "Your session reached its maximum length."
        if expired:
            logout_user()
            session.clear()
            flash(f"{expired} Please log in again.")
            return redirect(url_for("web_login.login", next=request.full_path))
        session["last_seen"] = now
        session.permanent = True
    return None


def user() -> User:
    """The logged-in user's row (call only behind :func:`require`)."""
    row: User = current_user.row  # Flask-Login is untyped: current_user is a SessionUser
    return row


def require(permission: Permission) -> Callable[[View[P]], View[P]]:
    """Log in first; then 403 for a role without ``permission``. Site submitters get 404 for
    everything outside their portal, so a guessed URL reveals nothing."""
    def decorate(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                to_login: ResponseReturnValue = login_manager.unauthorized()  # untyped library
                return to_login
            row = current_user.row
            role = Role(row.role)
            if permission is Permission.MANAGE_USERS:
                allowed = can(role, permission)  # accounts are the CRO's, not a sponsor's
            else:
                allowed = bool(sponsors_with(g.db, row, permission))
            if not allowed:
                abort(404 if role is Role.SITE_SUBMITTER else 403)
            if permission is not Permission.MANAGE_USERS:
                restrict_to_sponsors(g.db, current_scope().sponsor_ids)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def current_scope() -> Scope:
    """Whose data the logged-in user may see: the sponsors it may view cases of (its site's
    sponsor, and only that site, for site staff)."""
    row = user()
    if row.role == Role.SITE_SUBMITTER:
        return Scope(sponsor_ids=sponsors_with(g.db, row, Permission.SUBMIT_REPORTS),
                     site_id=row.site_id)
    return Scope(sponsor_ids=sponsors_with(g.db, row, Permission.VIEW_CASES))


def role_for_case(sponsor_id: int) -> Role | None:
    """The user's role for the sponsor of the case in hand (None: not its sponsor)."""
    return role_for(g.db, user(), sponsor_id)

"""Sessions, CSRF, permissions and the security headers of the HTML pages.

- Flask-Login keeps the user id in the signed session cookie; the user row is read on every
  request, so a lock or role change takes effect at once.
- Cookies: HttpOnly, SameSite=Lax, Secure unless ``Settings.cookies_secure`` says the pages
  are plain http (tests, ``safety serve`` on a loopback address), and no longer-lived than the
  longest session (``SAFETY_WEB_MAX_SESSION_HOURS``).
- Idle timeout: a session unused for ``SAFETY_WEB_IDLE_MINUTES`` (default 15) ends, and no
  session outlives ``SAFETY_WEB_MAX_SESSION_HOURS`` (default 8) from its login. Both are
  settings (``Settings.web_idle_minutes``, ``web_max_session_hours``), read from the app's
  ``SAFETY`` config like every other setting.
- CSRF and the idle timeout apply to every request outside ``/api/``: what is protected does
  not depend on a list of blueprints that a new one could be missing from. The bearer-token
  JSON API is exempt: it has no ambient credential a browser could replay.
- Text a database or an E2B(R3) message cannot carry (NUL, other control characters, lone
  surrogates, U+FFFE/U+FFFF: ``safety.intake.schemas.BAD_CHARACTERS``) is refused in every
  page's form and query string with a 400 naming the field, before any view runs: PostgreSQL
  would refuse a NUL mid-transaction (a 500), and other such characters would reach the audit
  trail or a case and later stop its E2B message from being written.
- Headers on every response: a Content-Security-Policy that allows the pages' own scripts and
  styles only (no inline script, no other origin), no framing, no sniffing, HSTS when the
  cookies are Secure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from safety.accounts.grants import role_for, sponsors_with
from safety.accounts.roles import GLOBAL_PERMISSIONS, Permission, Role, can
from safety.accounts.scope import Scope
from safety.accounts.users import get_user
from safety.config import Settings
from safety.db.tenancy import restrict_to_sponsors
from safety.intake.schemas import NOT_TEXT, bad_fields

if TYPE_CHECKING:
    from safety.accounts.store import User

login_manager = LoginManager()
csrf = CSRFProtect()

P = ParamSpec("P")
View: TypeAlias = Callable[P, ResponseReturnValue]  # a view function taking P

API_PREFIX = "/api/"

# Endpoints whose POST, arriving after the session ended, is kept for the user before they are
# sent to log in (the portal's forms keep it as a draft, restored after login): a form
# submitted after a timeout must not be lost. Each keeper gets the user id of the ended session.
EXPIRED_POST_KEEPERS: dict[str, Callable[[int], None]] = {}

# The pages load htmx and their own scripts and styles from /static/web; nothing inline.
PAGE_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
    "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"))
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone",
    "payment", "usb"))
HSTS = "max-age=31536000"


def is_api(path: str) -> bool:
    """Whether ``path`` belongs to the bearer-token JSON API (no session, no CSRF, JSON
    errors) rather than to the pages."""
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def init_security(app: Flask) -> None:
    settings: Settings = app.config["SAFETY"]
    secure = settings.cookies_secure
    lifetime = timedelta(hours=settings.web_max_session_hours)
    # Set, not setdefault: Flask defines every one of these (SameSite None, Secure off,
    # 31 days), so a default given with setdefault would never apply.
    app.config.update(
        SESSION_COOKIE_SECURE=secure, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=lifetime,
        # Flask-Login's "remember me" cookie: never set by the login page, bounded all the same.
        REMEMBER_COOKIE_SECURE=secure, REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_DURATION=lifetime,
        # Checked per request for everything outside /api/ (see _csrf_and_idle below).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the session bounds the token's life
    )
    login_manager.init_app(app)
    login_manager.login_view = "web_login.login"
    login_manager.login_message = "Please log in."
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.before_request(_csrf_and_idle)
    app.after_request(_security_headers)
    if settings.forwarded_hops:
        # Behind the TLS proxy the README asks for, the scheme the browser used is the one
        # the proxies report in X-Forwarded-Proto: with it the request is https, so
        # Flask-WTF's strict Referer check runs and external URLs say https. Only the
        # scheme is taken (client_address reads X-Forwarded-For itself), and only with
        # SAFETY_FORWARDED_HOPS proxies trusted: without a proxy the header is the client's.
        proxied = ProxyFix(app.wsgi_app, x_for=0, x_proto=settings.forwarded_hops,
                           x_host=0, x_port=0, x_prefix=0)
        app.wsgi_app = proxied  # type: ignore[method-assign]


def client_address() -> str:
    """The address the request came from: the peer's, or with ``SAFETY_FORWARDED_HOPS`` proxies
    in front, the one the outermost of them saw (what each proxy appended to
    X-Forwarded-For; anything further left was sent by the client and is not trusted)."""
    hops: int = current_app.config["SAFETY"].forwarded_hops
    if hops:
        forwarded = [v.strip() for v in ",".join(request.headers.getlist("X-Forwarded-For"))
                     .split(",") if v.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy_for(request.path))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["SAFETY"].cookies_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype == "text/html" and not is_api(request.path):
        headers.setdefault("Cache-Control", "no-store")  # case data stays off shared disks
    return response


# The API docs page (``safety.web.api_docs``): scripts and styles from this app only, like
# every page; Swagger UI's components set inline styles and its stylesheet draws icons as
# data: images, so those two are allowed there and nowhere else.
DOCS_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:", "connect-src 'self'", "form-action 'self'",
    "frame-ancestors 'none'", "base-uri 'none'"))


def _policy_for(path: str) -> str:
    from safety.web.api_docs import DOCS_PATH

    return DOCS_POLICY if path.rstrip("/") == DOCS_PATH else PAGE_POLICY


class SessionUser(UserMixin):
    """Flask-Login's view of a user row."""

    def __init__(self, row: User) -> None:
        self.row = row

    def get_id(self) -> str:
        return str(self.row.id)


@login_manager.user_loader
def _load_user(user_id: str) -> Any:
    user = get_user(g.db, int(user_id))
    if user is None or user.locked or not user.active:
        return None
    return SessionUser(user)


def _csrf_and_idle() -> Any:
    if is_api(request.path) or request.url_rule is None:
        # No route matched: routing answers 404 or 405; a CSRF 400 would hide that.
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    _refuse_unstorable_text()
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
            keeper = EXPIRED_POST_KEEPERS.get(request.endpoint or "")
            if request.method == "POST" and keeper is not None:
                keeper(int(session["_user_id"]))
            logout_user()
            session.clear()
            flash(f"{expired} Please log in again.")
            back = request.full_path
            if request.headers.get("HX-Request"):
                # htmx would swap the login page into a fragment: send the whole page there,
                # and back to the page the user was on, not to the fragment's URL.
                current = urlsplit(request.headers.get("HX-Current-URL", ""))
                back = current.path + (f"?{current.query}" if current.query else "")
                answer = Response(status=204)
                answer.headers["HX-Redirect"] = url_for("web_login.login", next=back)
                return answer
            return redirect(url_for("web_login.login", next=back))
        session["last_seen"] = now
        session.permanent = True
    return None


def _refuse_unstorable_text() -> None:
    """400 naming the first form or query field (or field name), or text part of the path,
    holding a character the database or an E2B(R3) message cannot carry; the API refuses its
    query strings and path parameters with the same test (``safety.api.body``), and checks
    its JSON bodies itself."""
    for where, given in (("form", request.form.items(multi=True)),
                         ("query", request.args.items(multi=True)),
                         ("path", (request.view_args or {}).items())):
        for bad in bad_fields(given):
            if bad.in_name:
                abort(400, f"A {where} field's name is not valid text. {NOT_TEXT}")
            if where == "path":
                abort(400, f"The path part '{bad.name}' is not valid text. {NOT_TEXT}")
            abort(400, f"The {where} field '{bad.name}' is not valid text. {NOT_TEXT}")


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
            if permission in GLOBAL_PERMISSIONS:
                allowed = can(role, permission)  # accounts are the CRO's, not a sponsor's
            else:
                allowed = bool(sponsors_with(g.db, row, permission))
            if not allowed:
                abort(404 if role is Role.SITE_SUBMITTER else 403)
            if permission not in GLOBAL_PERMISSIONS:
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

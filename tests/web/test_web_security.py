"""What protects the pages as a whole: CSRF and the idle timeout on every state-changing web
route (found from the app's routes, not from a list), the cookies, the security headers and
the error pages."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from factories.web import csrf_token
from sqlalchemy import select

from safety.app import create_app
from safety.audit.store import AuditEvent
from safety.cases.store import Case
from safety.db.session import session_scope

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
TEMPLATES = Path(__file__).resolve().parents[2] / "safety" / "web" / "templates"


def web_routes_that_change_state(app):
    """(endpoint, url) of every route outside /api/ that takes a state-changing method, its
    arguments filled in: uuids with ``case_id``, numbers with 1, the rest with "x"."""
    return sorted((rule.endpoint, rule.rule, rule) for rule in app.url_map.iter_rules()
                  if rule.methods & UNSAFE and not rule.rule.startswith("/api/"))


def fill(rule: str, case_id: str) -> str:
    def value(m: re.Match[str]) -> str:
        return {"uuid": case_id, "int": "1"}.get(m.group(1) or "", "x")
    return ARGUMENT.sub(value, rule)


@pytest.fixture()
def physician(users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    assert b.login("doc@example.org").status_code == 302
    b.get(f"/cases/{case_id}")
    return b, case_id


def test_every_web_post_route_needs_the_csrf_token(app, physician):
    b, case_id = physician
    routes = web_routes_that_change_state(app)
    endpoints = {endpoint for endpoint, _, _ in routes}
    # The two that were missing from the hand-kept list, and the rest.
    assert {"web_review.decide", "web_review.code_event", "web_cases.sign_case",
            "web_login.logout", "web_admin.lock"} <= endpoints
    for endpoint, rule, _ in routes:
        url = fill(rule, case_id)
        for data in ({}, {"csrf_token": "forged"}):
            r = b.client.post(url, data={"decision": "confirm", "reason": "r", **data})
            assert r.status_code == 400, (endpoint, url, r.status_code)
            assert "CSRF token" in r.text, endpoint
    with session_scope(b.client.application.config["SAFETY"].effective_database_url) as s:
        assert s.execute(select(AuditEvent).where(
            AuditEvent.action.like("duplicate.%") | AuditEvent.action.like("coding.%")
            | AuditEvent.action.like("case.%") & (AuditEvent.action != "case.created"))
        ).first() is None


@pytest.mark.slow
def test_every_web_post_route_ends_an_idle_session(app, physician):
    b, case_id = physician
    idle = app.config["SAFETY"].web_idle_minutes * 60 + 1
    for endpoint, rule, _ in web_routes_that_change_state(app):
        url = fill(rule, case_id)
        b.login("doc@example.org")
        token = csrf_token(b.client.get(f"/cases/{case_id}").text)
        with b.client.session_transaction() as sess:
            sess["last_seen"] -= idle
        r = b.client.post(url, data={"csrf_token": token, "decision": "confirm",
                                     "reason": "r"})
        assert r.status_code == 302, (endpoint, r.status_code)
        assert r.headers["Location"].startswith("/login"), endpoint
        assert b.client.get("/queue").status_code == 302, endpoint  # logged out for good
    with session_scope(app.config["SAFETY"].effective_database_url) as s:
        assert s.execute(select(AuditEvent).where(AuditEvent.action.like("duplicate.%"))
                         ).first() is None


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\ufffe", "\uffff"])
def test_every_web_post_route_refuses_text_no_database_or_message_can_carry(app, physician,
                                                                           bad):
    """A NUL in a form made PostgreSQL refuse the statement mid-transaction (a 500); the
    other characters would reach a case or the audit trail and stop its E2B message from
    being written. Every state-changing page refuses them with a 400 naming the field."""
    b, case_id = physician
    token = csrf_token(b.client.get(f"/cases/{case_id}").text)
    for endpoint, rule, _ in web_routes_that_change_state(app):
        if endpoint == "web_login.logout":
            continue
        url = fill(rule, case_id)
        r = b.client.post(url, data={"csrf_token": token, "decision": "confirm",
                                     "reason": f"checked{bad}"})
        assert r.status_code == 400, (endpoint, url, r.status_code)
        assert "field &#39;reason&#39; is not valid text" in r.text, endpoint
    r = b.client.get("/queue", query_string={"q": f"x{bad}"})
    assert r.status_code == 400
    assert "query field &#39;q&#39;" in r.text
    with session_scope(app.config["SAFETY"].effective_database_url) as s:
        assert s.execute(select(AuditEvent).where(
            AuditEvent.action.like("duplicate.%") | AuditEvent.action.like("coding.%")
            | AuditEvent.action.like("case.%") & (AuditEvent.action != "case.created"))
        ).first() is None
    assert b.client.get(f"/cases/{case_id}").status_code == 200  # still logged in, unharmed


def web_text_path_parameters(app):
    """(method, rule, name) of every page route's path parameter taken as free text (a UUID
    or a number routing refuses itself)."""
    from werkzeug.routing import UnicodeConverter

    return sorted((method, rule.rule, name) for rule in app.url_map.iter_rules()
                  if not rule.rule.startswith("/api/")
                  for name, converter in rule._converters.items()
                  if type(converter) is UnicodeConverter
                  for method in (rule.methods or set()) - {"HEAD", "OPTIONS"})


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\ufffe", "\uffff"])
def test_every_text_path_part_of_a_page_refuses_text_no_database_or_message_can_carry(
        app, physician, bad):
    """What a page's path carries reaches the view as its query fields do (a reaction id
    looked up in the case, a status filter, a file name): refused alike, naming the part."""
    from urllib.parse import quote

    b, case_id = physician
    token = csrf_token(b.client.get(f"/cases/{case_id}").text)
    found = web_text_path_parameters(app)
    assert ("POST", "/cases/<uuid:case_id>/events/<reaction_id>/coding", "reaction_id") in found
    assert ("GET", "/queue/reports/<status>", "status") in found
    for method, rule, name in found:
        def value(m: re.Match[str], name: str = name) -> str:
            if m.group(2) == name:
                return quote(f"x{bad}", safe="")
            return {"uuid": case_id, "int": "1"}.get(m.group(1) or "", "x")

        url = ARGUMENT.sub(value, rule)
        r = b.client.open(url, method=method, data={"csrf_token": token, "reason": "r"}
                          if method != "GET" else None)
        assert r.status_code == 400, (method, url, r.status_code)
        assert f"path part &#39;{name}&#39; is not valid text" in r.text, (method, url)
    assert b.client.get(f"/cases/{case_id}").status_code == 200


def test_a_cross_site_form_cannot_confirm_a_duplicate(settings, physician, make_case):
    """A page elsewhere posting to the case while the physician is logged in: confirming a
    duplicate would nullify a case."""
    b, case_id = physician
    other = make_case(sae_id="ANOTHER-1")
    r = b.client.post(f"/cases/{case_id}/duplicates/{other}",
                      data={"decision": "confirm", "reason": "forged"},
                      headers={"Origin": "https://evil.example",
                               "Referer": "https://evil.example/x"})
    assert r.status_code == 400
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(AuditEvent).where(
            AuditEvent.action == "duplicate.confirmed")).first() is None
        assert {c.state for c in s.execute(select(Case)).scalars()} == {"triage"}


def test_a_cross_site_form_cannot_change_an_events_coding(settings, physician):
    b, case_id = physician
    page = b.client.get(f"/cases/{case_id}").text
    action = re.search(r'action="(/cases/[^"]+/events/[^"]+/coding)"', page)
    code = re.search(r'name="code" [^>]*value="(\d+)"', page) or \
        re.search(r'<option value="(\d+)"', page)
    assert action and code, "no coding form with a code on the case page"
    r = b.client.post(action.group(1), data={"code": code.group(1), "reason": "forged"})
    assert r.status_code == 400
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(AuditEvent).where(
            AuditEvent.action == "coding.decided")).first() is None
    # the same form from the case page itself is taken
    r = b.client.post(action.group(1), data={"code": code.group(1), "reason": "checked",
                                             "csrf_token": csrf_token(page)})
    assert r.status_code == 303


# --- cookies -----------------------------------------------------------------------------------


def _session_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_the_session_cookie_is_secure_samesite_and_lasts_a_work_day(settings, users):
    users.add("doc@example.org", "safety_physician")
    app = create_app(settings=settings.with_overrides({"secure_cookies": True}))
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"email": "doc@example.org", "password": "correct horse "
                                    "battery", "csrf_token": csrf_token(page.text)})
    assert r.status_code == 302
    r = client.get("/queue")
    cookie = _session_cookie(r)
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "secure" in attributes and "httponly" in attributes
    assert attributes["samesite"] == "SameSite=Lax"
    expires = parsedate_to_datetime(attributes["expires"].split("=", 1)[1])
    hours = settings.web_max_session_hours
    assert expires - datetime.now(expires.tzinfo) <= timedelta(hours=hours, minutes=1)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=hours)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(hours=hours)
    assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_HTTPONLY"]


def test_cookies_are_secure_unless_the_settings_say_plain_http(settings):
    assert create_app(settings=settings.with_overrides(
        {"testing": False})).config["SESSION_COOKIE_SECURE"] is True
    assert create_app(settings=settings).config["SESSION_COOKIE_SECURE"] is False  # testing
    assert create_app(settings=settings.with_overrides(
        {"testing": False, "secure_cookies": False})).config["SESSION_COOKIE_SECURE"] is False


def test_serve_turns_secure_cookies_off_only_on_a_loopback_address():
    from safety.cli.processes import is_loopback

    assert all(map(is_loopback, ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2")))
    assert not any(map(is_loopback, ("0.0.0.0", "192.0.2.1", "safety.example.org", "::")))


# --- security headers --------------------------------------------------------------------------


def _headers_of(client, url):
    r = client.get(url)
    r.close()  # a static file's answer holds the file open
    return r.status_code, r.headers


def test_every_response_carries_the_security_headers(app, client, physician):
    b, case_id = physician
    for who, url in ((b.client, f"/cases/{case_id}"), (client, "/login"),
                     (client, "/static/web/web.css"), (client, "/healthz"),
                     (client, "/api/v1/cases"), (client, "/nowhere"),
                     (client, "/api/v1/openapi.json")):
        _, h = _headers_of(who, url)
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, url
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, url
        assert h["X-Frame-Options"] == "DENY", url
        assert h["X-Content-Type-Options"] == "nosniff", url
        assert h["Referrer-Policy"] == "same-origin", url
        assert "camera=()" in h["Permissions-Policy"], url
        assert "Strict-Transport-Security" not in h, url  # plain http in the tests
    _, page = _headers_of(b.client, f"/cases/{case_id}")
    assert page["Cache-Control"] == "no-store"


def test_hsts_only_with_secure_cookies(settings):
    secure = create_app(settings=settings.with_overrides({"secure_cookies": True}))
    assert secure.test_client().get("/login").headers["Strict-Transport-Security"] \
        == "max-age=31536000"
    assert "Strict-Transport-Security" not in create_app(
        settings=settings).test_client().get("/login").headers


def test_the_api_docs_page_loads_swagger_ui_from_this_app_only(client):
    """Swagger UI comes from the swagger-ui-bundle package, served here: no other origin, no
    inline script (tests/web/test_browser.py renders it with the network off)."""
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "text/html" in page.content_type
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "http" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert loaded and all(u.startswith("/") and not u.startswith("//") for u in loaded), loaded
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as bundle:
        assert bundle.status_code == 200 and len(bundle.data) > 100_000
    for name in ("swagger-ui-bundle.js.map", "index.j2", "..%2F__init__.py"):
        assert client.get(f"/api/v1/docs/assets/{name}").status_code == 404, name
    assert client.get("/api/v1/openapi.json").json["info"]["title"] == "SafetyDesk API"


def test_favicon_and_error_pages_are_served(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # ICO
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "text/html" in missing.content_type
    assert 'data-code="404"' in missing.text and 'rel="icon"' in missing.text
    api_missing = client.get("/api/v1/no-such-thing")
    assert api_missing.status_code == 404 and api_missing.is_json


def test_no_template_has_inline_script_style_or_event_handlers():
    """The CSP forbids them, so a browser would silently ignore them."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text("utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\sstyle=", text), path
        assert not re.search(r"<style", text), path
        assert not re.search(r"\son[a-z]+=", text), path
        assert "javascript:" not in text, path


# --- error pages -------------------------------------------------------------------------------


def test_browsers_get_html_error_pages_and_the_api_gets_json(settings, users, browser):
    app = create_app(settings=settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500, not a traceback

    def boom():
        raise RuntimeError("broken on purpose")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    client = app.test_client()
    users.add("proc@example.org", "case_processor")
    for url, code, name in (("/nowhere", 404, "Not Found"), (f"/cases/{uuid.uuid4()}x", 404,
                            "Not Found"), ("/logout", 405, "Method Not Allowed"),
                            ("/boom", 500, "Internal Server Error")):
        r = client.get(url)
        assert r.status_code == code and r.mimetype == "text/html", url
        assert f"{code} {name}" in r.text and "broken on purpose" not in r.text
        assert "Content-Security-Policy" in r.headers
    assert client.get("/logout").headers["Allow"]  # what a 405 must say
    r = client.post("/login", data={})
    assert r.status_code == 400 and r.mimetype == "text/html" and "CSRF" in r.text
    from factories.web import Browser

    proc = Browser(app.test_client())
    proc.login("proc@example.org")
    r = proc.get("/admin/users")
    assert r.status_code == 403 and r.mimetype == "text/html" and "403 Forbidden" in r.text
    for url, code in (("/api/v1/nowhere", 404), ("/api/v1/boom", 500)):
        r = client.get(url)
        assert r.status_code == code and r.mimetype == "application/json", url
        assert r.json["code"] == code
    r = client.delete("/api/v1/reports")
    assert r.status_code == 405 and r.mimetype == "application/json"


def test_a_post_to_an_unknown_page_is_a_404_not_a_csrf_refusal(client):
    """Routing answers first: a CSRF 400 for a URL that does not exist would hide the 404."""
    r = client.post("/nowhere", data={})
    assert r.status_code == 404 and "404 Not Found" in r.text
    r = client.post(f"/cases/{uuid.uuid4()}x/sign", data={})
    assert r.status_code == 404
    assert client.put("/login", data={}).status_code == 405


@pytest.mark.parametrize("hops", [0, 1])
def test_behind_the_tls_proxy_the_strict_referer_check_runs(settings, hops):
    """With SAFETY_FORWARDED_HOPS the scheme the proxy reports is the request's: a form posted
    over https without a Referer is refused (Flask-WTF's strict check); without trusted
    proxies the header is the client's word and changes nothing."""
    app = create_app(settings=settings.with_overrides({"forwarded_hops": hops}))
    client = app.test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    token = csrf_token(client.get("/login", headers=https).text)
    r = client.post("/login", headers=https,
                    data={"csrf_token": token, "email": "nobody@example.org", "password": "x"})
    if hops:
        assert r.status_code == 400 and "referrer" in r.text.lower()
        r = client.post("/login", headers={**https, "Referer": "https://localhost/login"},
                        data={"csrf_token": token, "email": "nobody@example.org",
                              "password": "x"})
    assert r.status_code != 400, r.text[:300]
    assert "CSRF" not in r.text

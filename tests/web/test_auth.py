"""Login, lockout, session timeout, CSRF and the open-redirect guard."""

from __future__ import annotations

from factories.accounts import PASSWORD, user_by_email
from factories.logins import OWNER, login_from, stranger
from factories.web import Browser, csrf_token
from sqlalchemy import select

from safety.accounts.policy import FREE_ATTEMPTS
from safety.app import create_app
from safety.audit.store import AuditEvent
from safety.db.session import session_scope


def test_login_sends_each_role_home(users, browser):
    users.add("doc@example.org", "safety_physician")
    users.add("site@example.org", "site_submitter", site="Site 101")
    users.add("admin@example.org", "admin")
    assert browser().login("doc@example.org").headers["Location"] == "/queue"
    assert browser().login("site@example.org").headers["Location"] == "/portal"
    assert browser().login("admin@example.org").headers["Location"] == "/admin/users"
    assert browser().login("DOC@Example.org ").status_code == 302  # case and space tolerant


def test_wrong_password_and_unknown_user_look_the_same(users, browser):
    users.add("doc@example.org", "safety_physician")
    a = browser().login("doc@example.org", "not the password")
    b = browser().login("nobody@example.org", "not the password")
    assert a.status_code == b.status_code == 401
    assert "Unknown email or wrong password." in a.text and "Unknown email or wrong" in b.text


def test_an_administrator_locks_and_unlocks_an_account(settings, users, browser):
    users.add("doc@example.org", "safety_physician")
    users.add("admin@example.org", "admin")
    admin = browser()
    admin.login("admin@example.org")
    admin.get("/admin/users")
    uid = user_by_email(settings.effective_database_url, "doc@example.org").id
    admin.post(f"/admin/users/{uid}/lock", data={"locked": "1", "reason": "left the company"})
    assert user_by_email(settings.effective_database_url, "doc@example.org").locked
    r = browser().login("doc@example.org", PASSWORD)
    assert r.status_code == 401 and "locked" in r.text
    admin.post(f"/admin/users/{uid}/lock", data={"locked": "0", "reason": "verified by phone"})
    assert not user_by_email(settings.effective_database_url, "doc@example.org").locked
    assert browser().login("doc@example.org").status_code == 302
    with session_scope(settings.effective_database_url) as s:
        actions = [e.action for e in s.execute(select(AuditEvent).where(
            AuditEvent.entity_type == "users")).scalars()]
    assert {"user.locked", "user.login_refused", "user.unlocked"} <= set(actions)


def test_a_good_login_resets_the_failure_count(settings, app, users):
    users.add("doc@example.org", "safety_physician")
    for n in range(2 * FREE_ATTEMPTS):  # someone else's tries, spread over addresses
        assert login_from(app, stranger(n), "doc@example.org", "wrong wrong wrong"
                          ).status_code == 401
    assert user_by_email(settings.effective_database_url, "doc@example.org"
                         ).failed_logins == 2 * FREE_ATTEMPTS
    assert login_from(app, OWNER, "doc@example.org").status_code == 302
    assert user_by_email(settings.effective_database_url, "doc@example.org").failed_logins == 0


def test_idle_session_times_out(app, users, browser):
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    assert b.get("/queue").status_code == 200
    with b.client.session_transaction() as sess:
        sess["last_seen"] = sess["last_seen"] - app.config["SAFETY"].web_idle_minutes * 60 - 1
    r = b.get("/queue")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert b.get("/queue").status_code == 302  # logged out for good


def test_the_session_limits_are_the_configured_ones(settings, users):
    users.add("doc@example.org", "safety_physician")
    app = create_app(settings=settings.with_overrides(
        {"web_idle_minutes": 1, "web_max_session_hours": 1}))
    b = Browser(app.test_client())
    b.login("doc@example.org")
    with b.client.session_transaction() as sess:
        sess["last_seen"] -= 50
        sess["login_at"] -= 3500
    assert b.get("/queue").status_code == 200
    with b.client.session_transaction() as sess:
        sess["last_seen"] -= 61
    assert b.get("/queue").status_code == 302
    b.login("doc@example.org")
    with b.client.session_transaction() as sess:
        sess["login_at"] -= 3601
    r = b.get("/queue")
    assert r.status_code == 302 and "maximum length" in b.get(r.headers["Location"]).text


def test_no_session_outlives_its_maximum_length(app, users, browser):
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    with b.client.session_transaction() as sess:
        sess["login_at"] = (sess["login_at"]
                            - app.config["SAFETY"].web_max_session_hours * 3600 - 1)
    r = b.get("/queue")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert "maximum length" in b.get(r.headers["Location"]).text


def test_every_form_post_needs_the_csrf_token(users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    page = b.client.get("/login")
    assert b.client.post("/login", data={"email": "doc@example.org",
                                         "password": PASSWORD}).status_code == 400
    b.client.post("/login", data={"email": "doc@example.org", "password": PASSWORD,
                                  "csrf_token": csrf_token(page.text)})
    for url, data in ((f"/cases/{case_id}/assign", {}),
                      (f"/cases/{case_id}/transition", {"transition": "start_data_entry"}),
                      (f"/cases/{case_id}/sign", {"password": PASSWORD}),
                      ("/logout", {})):
        assert b.client.post(url, data=data).status_code == 400, url
        assert b.client.post(url, data={**data, "csrf_token": "forged"}).status_code == 400


def test_the_json_api_is_not_subject_to_csrf(client, sites):
    from factories.forms import sae_form

    token = sites.token()
    r = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token))
    assert r.status_code == 202


def test_login_never_redirects_off_site(users, browser):
    users.add("doc@example.org", "safety_physician")
    b = browser()
    page = b.client.get("/login")
    for target, expected in (("https://evil.example/x", "/queue"), ("//evil.example", "/queue"),
                             ("/dashboard", "/dashboard")):
        r = b.client.post(f"/login?next={target}", data={
            "email": "doc@example.org", "password": PASSWORD,
            "csrf_token": csrf_token(page.text)})
        assert r.headers["Location"] == expected
        page = b.client.get("/login")


def test_logout_ends_the_session(users, browser):
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    assert b.post("/logout").status_code == 302
    assert b.client.get("/queue").status_code == 302

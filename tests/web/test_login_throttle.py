"""Logging in under attack: failed logins are throttled per address and per account (in
Redis), a stranger cannot lock anyone out, an unknown address costs as much as a wrong
password, and every outcome for an account is audited."""

from __future__ import annotations

import time

import pytest
from factories.accounts import PASSWORD, REAL_DUMMY_HASH, user_by_email
from factories.logins import OWNER, browser_at, login_from, stranger
from sqlalchemy import select, update

from safety.accounts import users as users_module
from safety.accounts.policy import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    FREE_ATTEMPTS,
    LOCK_AFTER_FAILED_LOGINS,
    MAX_DELAY_SECONDS,
    PASSWORD_METHOD,
    Counters,
    Throttle,
    delay_after,
    throttle,
)
from safety.accounts.store import User
from safety.app import create_app
from safety.audit.store import AuditEvent
from safety.db.session import session_scope

WRONG = "not the password at all"
DOC = "doc@example.org"


def audit_of(settings, email):
    with session_scope(settings.effective_database_url) as s:
        uid = s.execute(select(User.id).where(User.email == email)).scalar_one()
        return [(e.action, e.reason, e.changes) for e in s.execute(
            select(AuditEvent).where(AuditEvent.entity_type == "users",
                                     AuditEvent.entity_id == str(uid))
            .order_by(AuditEvent.id)).scalars()]


# --- the rules ---------------------------------------------------------------------------------


def test_the_wait_doubles_after_the_free_attempts_up_to_its_maximum():
    waits = [delay_after(n) for n in range(1, 15)]
    assert waits[:FREE_ATTEMPTS - 1] == [0] * (FREE_ATTEMPTS - 1)
    assert waits[FREE_ATTEMPTS - 1:FREE_ATTEMPTS + 3] == [2, 4, 8, 16]
    assert max(waits) == waits[-1] == MAX_DELAY_SECONDS


def test_the_longest_applicable_rule_refuses_and_a_familiar_address_escapes_the_account_rule():
    assert throttle(Counters()) is None
    assert throttle(Counters(pair_wait=4)) == Throttle("account+address", 4)
    full_account = Counters(account_failures=ACCOUNT_LIMIT.failures, account_window_left=600)
    assert throttle(full_account) == Throttle("account", 600)
    assert throttle(Counters(account_failures=ACCOUNT_LIMIT.failures, account_window_left=600,
                             familiar=True)) is None
    assert throttle(Counters(pair_wait=4, address_failures=ADDRESS_LIMIT.failures,
                             address_window_left=300)) == Throttle("address", 300)


# --- the throttle at work ----------------------------------------------------------------------


def test_failed_logins_are_rate_limited_per_address(app, users):
    """30 failed logins in 0.6 s went through before; now one address gets ADDRESS_LIMIT."""
    users.add(DOC, "safety_physician")
    b = browser_at(app, stranger(1))
    for n in range(ADDRESS_LIMIT.failures):  # spraying: a new account name each time
        assert b.login(f"guess{n}@example.org", WRONG).status_code == 401
    r = b.login(DOC, PASSWORD)  # refused before the password is even looked at
    assert r.status_code == 429 and "Too many failed logins" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= ADDRESS_LIMIT.window_seconds
    assert login_from(app, OWNER, DOC).status_code == 302  # other addresses go on


def test_failed_logins_slow_down_per_account_and_address(app, users):
    users.add(DOC, "safety_physician")
    b = browser_at(app, stranger(1))
    for _ in range(FREE_ATTEMPTS):
        assert b.login(DOC, WRONG).status_code == 401
    r = b.login(DOC, PASSWORD)
    assert r.status_code == 429 and r.headers["Retry-After"] == str(delay_after(FREE_ATTEMPTS))
    assert login_from(app, OWNER, DOC).status_code == 302  # the owner is not slowed down
    time.sleep(delay_after(FREE_ATTEMPTS) + 0.2)
    assert b.login(DOC, PASSWORD).status_code == 302  # the wait over, the right password works


def test_unknown_accounts_are_throttled_exactly_like_known_ones(app, users):
    users.add(DOC, "safety_physician")
    answers = {}
    for email in (DOC, "nobody@example.org"):
        b = browser_at(app, stranger(len(answers) + 1))
        answers[email] = [(r.status_code, r.headers.get("Retry-After"), "Too many" in r.text)
                          for r in (b.login(email, WRONG) for _ in range(FREE_ATTEMPTS + 1))]
    assert answers[DOC] == answers["nobody@example.org"]
    assert answers[DOC][-1] == (429, str(delay_after(FREE_ATTEMPTS)), True)


def test_a_stranger_cannot_lock_an_account(settings, app, users):
    """Five wrong passwords from anyone used to lock the account until an administrator came."""
    users.add(DOC, "safety_physician")
    assert login_from(app, OWNER, DOC).status_code == 302  # the owner's usual workstation
    answers = [login_from(app, stranger(n), DOC, WRONG).status_code
               for n in range(ACCOUNT_LIMIT.failures + 10)]
    assert set(answers) == {401, 429}  # throttled once past the account's limit
    assert answers[:ACCOUNT_LIMIT.failures] == [401] * ACCOUNT_LIMIT.failures
    assert not user_by_email(settings.effective_database_url, DOC).locked
    assert login_from(app, OWNER, DOC).status_code == 302  # the owner still gets in


def test_the_account_limit_stops_a_guess_spread_over_many_addresses(app, users):
    users.add(DOC, "safety_physician")
    for n in range(ACCOUNT_LIMIT.failures):
        assert login_from(app, stranger(n), DOC, WRONG).status_code == 401
    r = login_from(app, stranger(99), DOC, PASSWORD)  # even the right password, from there
    assert r.status_code == 429


def test_a_hundred_failures_in_a_row_lock_the_account_audited(settings, app, users):
    """The lock kept for real abuse: hours of guessing past the throttle."""
    users.add(DOC, "safety_physician")
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(User).where(User.email == DOC)
                  .values(failed_logins=LOCK_AFTER_FAILED_LOGINS - 1))
    assert login_from(app, stranger(1), DOC, WRONG).status_code == 401
    row = user_by_email(settings.effective_database_url, DOC)
    assert row.locked and row.lock_reason == f"{LOCK_AFTER_FAILED_LOGINS} failed logins in a row"
    action, reason, changes = audit_of(settings, DOC)[-1]
    assert action == "user.login_failed" and stranger(1) in reason
    assert changes[-1]["field"] == "locked_at" and changes[-1]["to"]


def test_a_locked_account_is_only_revealed_to_whoever_knows_its_password(settings, app, users):
    users.add(DOC, "safety_physician")
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(User).where(User.email == DOC).values(
            locked_at=User.created_at, lock_reason="test"))
    wrong = login_from(app, stranger(1), DOC, WRONG)
    unknown = login_from(app, stranger(2), "nobody@example.org", WRONG)
    assert wrong.status_code == unknown.status_code == 401
    assert "Unknown email or wrong password." in wrong.text and "locked" not in wrong.text
    right = login_from(app, OWNER, DOC)
    assert right.status_code == 401 and "locked" in right.text
    assert [a for a, _, _ in audit_of(settings, DOC)][-2:] == ["user.login_failed",
                                                               "user.login_refused"]


# --- no account enumeration by timing ----------------------------------------------------------


def test_an_unknown_account_costs_the_same_password_check(app, users, monkeypatch):
    checked = []
    real = users_module.check_password_hash

    def counting(pwhash, password):
        checked.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(users_module, "check_password_hash", counting)
    users.add(DOC, "safety_physician")
    login_from(app, stranger(1), DOC, WRONG)
    login_from(app, stranger(2), "nobody@example.org", WRONG)
    login_from(app, stranger(3), "not an address", WRONG)
    assert len(checked) == 3 and len(set(checked)) == 1 and checked[0].startswith("scrypt")


def test_outside_the_tests_passwords_and_the_dummy_are_hashed_at_the_full_scrypt_cost(
        monkeypatch):
    """The suite hashes at a lower cost (``factories.accounts.cheap_password_hashes``); the
    code as it runs hashes stored passwords and the unknown-address dummy alike at werkzeug's
    scrypt with n = 2**15."""
    monkeypatch.setattr(users_module, "PASSWORD_METHOD", PASSWORD_METHOD)
    stored = users_module.hash_password(PASSWORD).split("$")[0]
    assert stored == "scrypt:32768:8:1"
    assert REAL_DUMMY_HASH.split("$")[0] == stored


# --- audit -------------------------------------------------------------------------------------


def test_every_login_outcome_is_audited_with_the_address(settings, app, users):
    users.add(DOC, "safety_physician")
    attacker = browser_at(app, stranger(7))
    for _ in range(FREE_ATTEMPTS):
        attacker.login(DOC, WRONG)
    for _ in range(3):  # refused three times: audited once
        assert attacker.login(DOC, WRONG).status_code == 429
    assert login_from(app, OWNER, DOC).status_code == 302
    events = audit_of(settings, DOC)
    actions = [a for a, _, _ in events]
    assert actions == ["user.created", "user.granted", *["user.login_failed"] * FREE_ATTEMPTS,
                       "user.login_throttled", "user.login"]
    assert all(stranger(7) in r for a, r, _ in events if a.startswith("user.login_"))
    assert "account+address limit" in events[-2][1]
    assert OWNER in events[-1][1]
    assert events[-1][2] == [{"field": "failed_logins", "from": FREE_ATTEMPTS, "to": 0}]


def test_a_window_counter_left_without_expiry_does_not_block_for_ever(redis):
    from safety.accounts.users import LoginCounters

    counters = LoginCounters(redis, DOC, stranger(1))
    redis.set(counters.by_address, 1000)  # its process died between INCR and EXPIRE
    assert throttle(counters.read()) is None
    counters.failed(counters.read())
    assert 0 < redis.ttl(counters.by_address) <= ADDRESS_LIMIT.window_seconds
    assert counters.read().address_failures == 1001


def test_logins_go_on_when_the_throttle_cannot_reach_redis(settings, users):
    users.add(DOC, "safety_physician")
    app = create_app(settings=settings.with_overrides({"redis_url": "redis://127.0.0.1:1/0"}))
    assert login_from(app, OWNER, DOC, WRONG).status_code == 401
    assert login_from(app, OWNER, DOC).status_code == 302


# --- the client address behind proxies ---------------------------------------------------------


@pytest.mark.parametrize(("hops", "forwarded", "expected"), [
    (0, "198.51.100.7", OWNER),  # no proxy trusted: the header is the client's own words
    (1, "198.51.100.7", "198.51.100.7"),
    (1, "10.9.9.9, 198.51.100.7", "198.51.100.7"),  # the left part was sent by the client
    (2, "10.9.9.9, 198.51.100.7, 192.0.2.200", "198.51.100.7"),
    (2, "198.51.100.7", OWNER),  # fewer entries than proxies: not to be trusted
])
def test_the_client_address_is_the_one_the_trusted_proxies_saw(settings, hops, forwarded,
                                                                expected):
    from safety.web.security import client_address

    app = create_app(settings=settings.with_overrides({"forwarded_hops": hops}))
    with app.test_request_context("/login", environ_base={"REMOTE_ADDR": OWNER},
                                  headers={"X-Forwarded-For": forwarded}):
        assert client_address() == expected


# --- wrong passwords at signing ----------------------------------------------------------------


def test_wrong_signing_passwords_lock_the_account_within_a_session(settings, app, users,
                                                                   make_case):
    from factories.web import advance, sign

    from safety.accounts.policy import MAX_FAILED_SIGNATURES

    case_id = make_case()
    users.add(DOC, "safety_physician")
    # someone else's failed logins since the owner logged in do not count toward this lock
    doc = browser_at(app, OWNER)
    assert doc.login(DOC).status_code == 302
    for n in range(MAX_FAILED_SIGNATURES):
        login_from(app, stranger(n), DOC, WRONG)
    doc.get("/queue")
    advance(doc, case_id)
    for n in range(1, MAX_FAILED_SIGNATURES):
        page = doc.get(sign(doc, case_id, password=WRONG).headers["Location"]).text
        assert "the password is wrong" in page and "now locked" not in page, n
        assert not user_by_email(settings.effective_database_url, DOC).locked
    page = doc.get(sign(doc, case_id, password=WRONG).headers["Location"])
    assert user_by_email(settings.effective_database_url, DOC).locked
    assert page.status_code == 302  # the session ends with the lock
    events = audit_of(settings, DOC)
    assert [a for a, _, _ in events].count("signature.password_failed") == MAX_FAILED_SIGNATURES
    assert events[-1][2][-1]["field"] == "locked_at"

"""Sites, API tokens and web users.

The functions take the session they write in (a store test's rolled-back session); the
``Sites`` and ``Users`` factories commit each one in a transaction of its own, for tests that
then drive the app, the worker or the CLI.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from factories.sponsors import DEFAULT_ID
from safety.accounts import users as users_module
from safety.accounts.clients import get_or_create_site, issue_token
from safety.accounts.store import User
from safety.accounts.users import create_user
from safety.db.session import session_scope
from safety.sponsors.store import sponsor_by_code

PASSWORD = "correct horse battery"

# The tests' password hashes: werkzeug's scrypt with n = 2**10 instead of the 2**15 of
# ``PASSWORD_METHOD``. A hash or a check at full cost takes ~0.2 s of CPU, and the suite makes
# and checks thousands (every web user added, every login): about a tenth of its run. Only
# the work factor differs; the same function hashes and checks, and
# tests/web/test_login_throttle.py holds the real cost to n = 2**15.
TEST_PASSWORD_METHOD = "scrypt:1024:8:1"
# What the accounts module hashed at import, at the real cost (the unknown-address check).
REAL_DUMMY_HASH = users_module._DUMMY_HASH


@contextmanager
def cheap_password_hashes() -> Iterator[None]:
    """Passwords hashed at ``TEST_PASSWORD_METHOD`` (and the unknown-address dummy with it,
    so that both checks still cost the same)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users_module, "PASSWORD_METHOD", TEST_PASSWORD_METHOD)
        patch.setattr(users_module, "_DUMMY_HASH",
                      users_module.hash_password(secrets.token_urlsafe(24)))
        yield


def site_token(session: Session, name: str = "Site 101", country: str = "GB",
               role: str = "site", sponsor: int = DEFAULT_ID) -> str:
    """A bearer token: a site's client (the site made if new), or a safety team's, for the
    sponsor given (the DEFAULT sponsor unless said)."""
    site = None
    if role == "site":
        site, _ = get_or_create_site(session, name, country, sponsor)
    return issue_token(session, f"{name} {role} token", role, site=site,
                       sponsor_ids=[sponsor])


def partner_token(session: Session, name: str, senders: tuple[str, ...],
                  sponsor: int = DEFAULT_ID) -> str:
    """A partner's client, bound to the E2B sender ids (N.2.r.2) given."""
    return issue_token(session, f"{name} partner token", "partner", sponsor_ids=[sponsor],
                       senders=senders)


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def add_user(session: Session, email: str, role: str, site: str | None = None,
             name: str | None = None, password: str = PASSWORD,
             sponsors: tuple[int, ...] = (DEFAULT_ID,)) -> int:
    """A web user (its site made if new, at the first sponsor); staff get ``role`` for each
    of ``sponsors``. Returns the user's id."""
    site_id = get_or_create_site(session, site, "GB", sponsors[0])[0].id if site else None
    return create_user(session, email=email, role=role, password=password,
                       printed_name=name or email.split("@")[0].title(),
                       site_id=site_id, actor="test",
                       sponsor_ids=() if role == "site_submitter" else sponsors).id


def user_by_email(url: str, email: str) -> User:
    with session_scope(url) as session:
        return session.execute(select(User).where(User.email == email)).scalar_one()


class Sites:
    """Sites and their bearer tokens, committed."""

    def __init__(self, url: str) -> None:
        self.url = url

    def token(self, name: str = "Site 101", country: str = "GB", role: str = "site",
              sponsor: int = DEFAULT_ID) -> str:
        with session_scope(self.url) as session:
            return site_token(session, name, country, role, sponsor)

    def partner(self, name: str, *senders: str, sponsor: int = DEFAULT_ID) -> str:
        with session_scope(self.url) as session:
            return partner_token(session, name, senders, sponsor)

    def headers(self, token: str, **extra: str) -> dict[str, str]:
        return bearer(token, **extra)


class Users:
    """Web users of each role, committed."""

    def __init__(self, url: str) -> None:
        self.url = url

    def add(self, email: str, role: str, site: str | None = None,
            name: str | None = None, sponsors: tuple[str, ...] = ("DEFAULT",)) -> int:
        """``sponsors`` are codes (the demo's are ONCO and NORDIA)."""
        with session_scope(self.url) as session:
            ids = tuple(found.id for code in sponsors
                        if (found := sponsor_by_code(session, code)) is not None)
            assert len(ids) == len(sponsors), f"unknown sponsor among {sponsors}"
            return add_user(session, email, role, site, name, sponsors=ids)

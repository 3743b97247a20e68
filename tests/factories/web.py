"""The web workspace as a person uses it: a test client that logs in through the form and
posts with the CSRF token, and the review steps a case goes through on its page."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from factories.accounts import PASSWORD
from safety.review.signing import APPROVAL_MEANING

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# From triage to approval, each with the state it leads to.
STEPS = [("start_data_entry", "data_entry"), ("send_to_medical_review", "medical_review"),
         ("medical_review_done", "approval")]


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """A Flask test client that logs in through the form and posts with the CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def login(self, email: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login")
        return self.client.post("/login", data={
            "email": email, "password": password, "csrf_token": csrf_token(page.text)})

    def get(self, url: str, **kw: Any) -> Any:
        response = self.client.get(url, **kw)
        if (response.status_code == 200 and response.mimetype == "text/html"
                and "csrf_token" in response.text):  # a download (PDF, XLSX) is no page
            self.token = csrf_token(response.text)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        if self.token is None:
            self.get("/")
            self.token = csrf_token(self.client.get("/login").text)
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)


def advance(b: Browser, case_id: str) -> None:
    """Work a case from triage to approval on its page, a reason given at each step."""
    for name, _state in STEPS:
        r = b.post(f"/cases/{case_id}/transition", data={"transition": name,
                                                          "reason": f"step {name}"})
        assert r.status_code == 303, r.text


def sign(b: Browser, case_id: str, version: int = 1, password: str = PASSWORD,
         **extra: Any) -> Any:
    """Post the approval signature form."""
    data = {"version": str(version), "meaning": APPROVAL_MEANING, "password": password,
            "tz": "Europe/Berlin", **extra}
    return b.post(f"/cases/{case_id}/sign", data=data)

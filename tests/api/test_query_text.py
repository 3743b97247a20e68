"""Every API query parameter and text path parameter refuses text the database or an E2B(R3)
message cannot carry (``safety.intake.schemas.BAD_CHARACTERS``: NUL, other control characters,
U+FFFE, U+FFFF) with a 422 naming it, before any view runs: a NUL reached PostgreSQL (a 500:
"A string literal cannot contain NUL (0x00) characters"), and the other characters reached
filters, exports and the audit trail. The operations are read from the API's own OpenAPI
document and URL map, so a new endpoint or parameter is covered without being listed here."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest
from factories.cases import post_report
from factories.database import row_counts
from factories.forms import sae_form
from werkzeug.routing import UnicodeConverter

from safety.intake.schemas import NOT_TEXT

BAD = ["\x00", "\x1b", "\ufffe", "\uffff"]
# A value each parameter accepts, so that only the bad character is wrong in it.
GOOD = {"integer": "1", "boolean": "true", "date": "2026-01-01"}


def _good(param: dict[str, Any]) -> str:
    schema = param.get("schema", {})
    schema = schema.get("items", schema)
    if "enum" in schema:
        return str(schema["enum"][0])
    return GOOD.get(schema.get("format") or schema.get("type"), "a")


@pytest.fixture()
def known(client, sites, worker) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A processed case (its id, its report's and first event's) and both kinds of client."""
    site = sites.headers(sites.token())
    safety = sites.headers(sites.token("Safety team", role="safety"))
    report = post_report(client, site, sae_form())
    worker()
    report = client.get(report["status_url"], headers=site).json
    case_id = report["case_id"]
    data = client.get(f"/api/v1/cases/{case_id}", headers=safety).json["data"]
    return {"case_id": case_id, "report_id": report["report_id"],
            "reaction_id": data["reactions"][0]["id"], "code": "DEFAULT",
            "site": site, "safety": safety}


def _query_operations(client) -> list[tuple[str, str, list[dict[str, Any]]]]:  # type: ignore[no-untyped-def]
    """(method, path template, query parameters) of every operation the document declares
    with query parameters."""
    spec = client.get("/api/v1/openapi.json").json
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            query = [p for p in op.get("parameters", []) + item.get("parameters", [])
                     if p["in"] == "query"]
            if query:
                found.append((method.upper(), path, query))
    return found


def _text_path_parameters(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(method, rule, name) of every /api/ route's path parameter taken as free text (not a
    UUID or a number, which routing refuses itself)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for name, converter in rule._converters.items():
            if type(converter) is UnicodeConverter:
                methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
                found += [(method, rule.rule, name) for method in methods]
    return found


def _fill(template: str, known: dict[str, Any], **given: str) -> str:
    """``template`` (``{name}`` or ``<conv:name>``) with its parameters: ``given``, else the
    known ids, else a new UUID."""
    for name in [*known, *given, "run_id", "submission_id", "question_id", "other_id",
                 "filename"]:
        value = given.get(name, known.get(name, str(uuid.uuid4())))
        for form in (f"{{{name}}}", f"<{name}>", f"<uuid:{name}>"):
            template = template.replace(form, quote(str(value), safe=""))
    assert "{" not in template and "<" not in template, template
    return template


def test_the_operations_are_found(app, client):
    """The enumeration below is not empty: the filters that reach a query are among them."""
    queries = {(m, p) for m, p, _ in _query_operations(client)}
    assert {("GET", "/api/v1/cases"), ("GET", "/api/v1/terminology/events"),
            ("GET", "/api/v1/line-listing"), ("GET", "/api/v1/questions"),
            ("GET", "/api/v1/obligations")} <= queries
    paths = {(m, r, n) for m, r, n in _text_path_parameters(app)}
    assert ("GET", "/api/v1/sponsors/<code>", "code") in paths
    assert ("PUT", "/api/v1/cases/<uuid:case_id>/events/<reaction_id>/coding",
            "reaction_id") in paths


@pytest.mark.parametrize("bad", BAD, ids=["NUL", "ESC", "U+FFFE", "U+FFFF"])
def test_every_query_parameter_refuses_text_no_database_or_message_can_carry(
        app, client, settings, known, bad):
    before = row_counts(settings.effective_database_url)
    failures = []
    for method, path, params in _query_operations(client):
        url = _fill(path, known)
        for param in params:
            for who in ("site", "safety"):
                r = client.open(url, method=method, headers=known[who],
                                query_string={param["name"]: _good(param) + bad})
                if r.status_code != 422 or (r.json or {}).get("errors") != {
                        "query": {param["name"]: [NOT_TEXT]}}:
                    failures.append(f"{method} {url}?{param['name']} ({who}): "
                                    f"{r.status_code} {r.get_data(as_text=True)[:200]}")
    assert not failures, "\n".join(failures)
    assert row_counts(settings.effective_database_url) == before  # no audit event, no row


@pytest.mark.parametrize("bad", BAD, ids=["NUL", "ESC", "U+FFFE", "U+FFFF"])
def test_every_text_path_parameter_refuses_text_no_database_or_message_can_carry(
        app, client, settings, known, bad):
    before = row_counts(settings.effective_database_url)
    failures = []
    for method, rule, name in _text_path_parameters(app):
        url = _fill(rule, known, **{name: str(known.get(name, "a")) + bad})
        body = {"code": "10016288", "reason": "checked"} if method != "GET" else None
        r = client.open(url, method=method, headers=known["safety"], json=body)
        if r.status_code != 422 or (r.json or {}).get("errors") != {"path": {name: [NOT_TEXT]}}:
            failures.append(f"{method} {url}: {r.status_code} "
                            f"{r.get_data(as_text=True)[:200]}")
    assert not failures, "\n".join(failures)
    assert row_counts(settings.effective_database_url) == before


@pytest.mark.parametrize("bad", BAD, ids=["NUL", "ESC", "U+FFFE", "U+FFFF"])
def test_a_query_parameter_whose_name_holds_such_text_is_refused(client, known, bad):
    """Even one no operation reads (unknown parameters are otherwise ignored): the name would
    reach the logs and the access log's reader as it stands."""
    r = client.get("/api/v1/cases", headers=known["safety"], query_string={f"s{bad}": "x"})
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.json["errors"] == {"query": {"s?": ["Field name: " + NOT_TEXT]}}

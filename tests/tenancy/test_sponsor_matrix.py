"""The sponsor permission matrix (issue #12): for every API route, page and command that reads
or writes case data, a caller of sponsor ALDER gets "not found" for sponsor BIRCH's objects —
404, never 403, and an answer that names none of BIRCH's identifiers — its lists never hold
them, and nothing it does changes a row of BIRCH.

The completeness guards fail when a route or a command appears without a row here: add it to
the matrix, or to the exemptions with the reason.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from factories.accounts import bearer
from factories.tenancy import Side, TwoSponsors, form_of
from factories.web import Browser
from flask import Flask
from sqlalchemy import select, update

from safety.accounts.clients import issue_token
from safety.cli import COMMANDS, main
from safety.db.session import session_scope
from safety.e2b.ack import write_ack
from safety.e2b.reader import read_batch

# --- the API ---------------------------------------------------------------------------------

# (method, url pattern, endpoint, JSON body): each names an object of BIRCH ({b_*}) or pairs
# ALDER's case with one of BIRCH's; a caller of ALDER must get 404 from every one.
API_OBJECT_ROUTES: list[tuple[str, str, str, Any]] = [
    ("GET", "/api/v1/cases/{b_case}", "cases.CaseItem", None),
    ("PATCH", "/api/v1/cases/{b_case}", "cases.CaseItem",
     {"reason": "weight checked", "changes": {"patient.weight_kg": 70}}),
    ("PUT", "/api/v1/cases/{b_case}/assessments", "cases.assessments",
     {"reason": "sponsor's view", "seriousness": [{"reaction_id": "{b_reaction}",
                                                   "criteria": ["death"], "reason": "x"}]}),
    ("GET", "/api/v1/cases/{b_case}/duplicates", "duplicates.Duplicates", None),
    ("POST", "/api/v1/cases/{b_case}/duplicates/{b_case2}", "duplicates.DuplicateDecision",
     {"decision": "confirm", "reason": "same patient"}),
    ("POST", "/api/v1/cases/{a_case}/duplicates/{b_case}", "duplicates.DuplicateDecision",
     {"decision": "confirm", "reason": "same patient"}),
    ("PUT", "/api/v1/cases/{b_case}/events/{b_reaction}/coding", "coding_review.EventCoding",
     {"code": "{code}", "reason": "recoded", "add_synonym": True}),
    ("POST", "/api/v1/cases/{b_case}/nullification", "submissions.CaseNullification",
     {"reason": "entered in error"}),
    ("GET", "/api/v1/cases/{b_case}/obligations", "obligations.CaseObligations", None),
    ("GET", "/api/v1/cases/{b_case}/submissions", "submissions.CaseSubmissions", None),
    ("GET", "/api/v1/cases/{b_case}/approval", "outputs.CaseApproval", None),
    ("GET", "/api/v1/cases/{b_case}/cioms1.pdf", "outputs.CaseCioms1", None),
    ("GET", "/api/v1/reports/{b_report}", "reports.ReportItem", None),
    ("GET", "/api/v1/reports/{b_report}/ack", "reports.ReportAck", None),
    ("GET", "/api/v1/sponsors/{b_code}", "sponsors.SponsorDetail", None),
    ("GET", "/api/v1/submissions/{b_sub}", "submissions.SubmissionItem", None),
    ("GET", "/api/v1/submissions/{b_sub}/xml", "submissions.SubmissionXml", None),
    ("POST", "/api/v1/submissions/{b_sub}/amendment", "submissions.SubmissionAmendment",
     {"reason": "corrected dose"}),
    ("GET", "/api/v1/questions/{b_question}", "questions.QuestionItem", None),
    ("GET", "/api/v1/cases/{b_case}/questions", "questions.CaseQuestions", None),
    ("POST", "/api/v1/cases/{b_case}/questions", "questions.CaseQuestions",
     {"text": "What was the onset date?"}),
    ("POST", "/api/v1/questions/{b_question}/close", "questions.QuestionClose",
     {"reason": "not needed"}),
    ("POST", "/api/v1/questions/{b_question}/reopen", "questions.QuestionReopen",
     {"reason": "still missing"}),
]
# Routes whose answer is a list, or that create or act without naming one object: each has a
# test of its own below (named in the comment).
API_OTHER_ROUTES = {
    "cases.CaseList": "test_api_lists_hold_only_the_callers_sponsor",
    "obligations.Obligations": "test_api_lists_hold_only_the_callers_sponsor",
    "sponsors.SponsorList": "test_api_lists_hold_only_the_callers_sponsor",
    "products.Registry": "test_api_lists_hold_only_the_callers_sponsor, "
                         "test_api_writes_land_in_the_callers_sponsor",
    "products.Rsi": "test_rsi_for_another_sponsors_product_is_an_unknown_product",
    "reports.Reports": "test_api_writes_land_in_the_callers_sponsor, "
                       "test_another_sponsors_dead_letters_are_not_found",
    "submissions.Acks": "test_an_ack_for_another_sponsors_batch_is_not_found",
    "outputs.LineListing": "test_line_listings_hold_only_the_callers_sponsor",
    "terminology.EventSearch": "test_another_sponsors_team_synonym_never_codes_for_the_caller",
    "terminology.DrugSearch": "test_another_sponsors_team_synonym_never_codes_for_the_caller",
    # a site answers (a safety-team client may not): the matrix's "site refused" does not fit
    "questions.QuestionAnswer": "test_another_sponsors_questions_are_not_found",
    "questions.Questions": "test_another_sponsors_questions_are_not_found",
    # a migration client only (the matrix's clients are refused 403 before any lookup): its
    # own test puts ALDER's migration client before BIRCH's run
    "migrations.Migrations": "tests/api/test_migrations_api.py::"
                             "test_another_sponsors_run_is_not_found",
    "migrations.MigrationReports": "tests/api/test_migrations_api.py::"
                                   "test_another_sponsors_run_is_not_found",
    "migrations.MigrationReconciliation": "tests/api/test_migrations_api.py::"
                                          "test_another_sponsors_run_is_not_found",
}
API_EXEMPT = {  # endpoint: why it has no matrix row
    "health.healthz": "liveness of the database and Redis; no case data",
    "health.ping": "liveness; no case data",
    "obligations.RulesEvaluate": "what-if evaluation of the posted case history: reads and "
                                 "stores nothing",
    "api-docs.openapi_json": "the API description; no case data",
    "web_api_docs.page": "the API description's page; no case data",
    "web_api_docs.asset": "Swagger UI's files; no case data",
}

# --- the pages -------------------------------------------------------------------------------

# (method, url pattern, endpoint, who): who is the ALDER user that tries it.
WEB_OBJECT_ROUTES: list[tuple[str, str, str, str]] = [
    ("GET", "/cases/{b_case}", "web_cases.case_page", "processor"),
    ("GET", "/cases/{b_case}/versions/1/source", "web_cases.source", "processor"),
    ("POST", "/cases/{b_case}/assign", "web_cases.assign_to_me", "processor"),
    ("POST", "/cases/{b_case}/transition", "web_cases.transition", "processor"),
    ("POST", "/cases/{b_case}/sign", "web_cases.sign_case", "physician"),
    ("POST", "/cases/{b_case}/unblind", "web_cases.unblind", "unblinder"),
    ("POST", "/cases/{b_case}/events/{b_reaction}/coding", "web_review.code_event",
     "processor"),
    ("POST", "/cases/{b_case}/duplicates/{b_case2}", "web_review.decide", "physician"),
    ("POST", "/cases/{a_case}/duplicates/{b_case}", "web_review.decide", "physician"),
    ("GET", "/cases/{b_case}/submissions/{b_sub}.xml", "web_review.message_xml", "processor"),
    ("GET", "/cases/{a_case}/submissions/{b_sub}.xml", "web_review.message_xml", "processor"),
    ("GET", "/cases/{b_case}/cioms1.pdf", "web_outputs.cioms1", "processor"),
    ("POST", "/cases/{b_case}/messages/redraft", "web_review.redraft", "processor"),
    ("GET", "/cases/{b_case}/submissions/{b_sub}", "web_outputs.message", "processor"),
    ("GET", "/cases/{a_case}/submissions/{b_sub}", "web_outputs.message", "processor"),
    ("GET", "/cases/{b_case}/submissions/{b_sub}/download", "web_outputs.message_download",
     "processor"),
    ("GET", "/cases/{a_case}/submissions/{b_sub}/download", "web_outputs.message_download",
     "processor"),
    ("POST", "/cases/{b_case}/edit", "web_medical.edit", "processor"),
    ("POST", "/cases/{b_case}/assessments", "web_medical.assessments", "physician"),
    ("POST", "/cases/{b_case}/narrative", "web_medical.narrative", "processor"),
    ("GET", "/cases/{b_case}/narrative/draft", "web_medical.narrative_template", "processor"),
    ("GET", "/cases/{b_case}/terminology?q=fever", "web_medical.terminology", "processor"),
    ("GET", "/portal/reports/{b_report}", "web_portal.report", "site_user"),
    ("GET", "/portal/reports/{b_report}/follow-up", "web_portal.follow_up", "site_user"),
    ("POST", "/portal/reports/{b_report}/follow-up", "web_portal.follow_up", "site_user"),
    ("GET", "/portal/questions/{b_question}", "web_portal.question", "site_user"),
    ("POST", "/portal/questions/{b_question}", "web_portal.question", "site_user"),
    ("POST", "/cases/{b_case}/questions", "web_questions.ask_site", "processor"),
    ("POST", "/questions/{b_question}/close", "web_questions.close_question", "processor"),
    ("POST", "/questions/{b_question}/reopen", "web_questions.reopen_question", "physician"),
]
WEB_OTHER_ROUTES = {
    "web_cases.queue": "test_pages_list_only_the_callers_sponsor",
    "web_outputs.line_listing": "test_line_listings_hold_only_the_callers_sponsor",
    "web_dashboard.dashboard": "test_pages_list_only_the_callers_sponsor",
    "web_portal.index": "test_pages_list_only_the_callers_sponsor",
    "web_portal.new_report": "test_a_portal_report_lands_in_the_sites_sponsor",
    "web_operations.index": "test_another_sponsors_dead_letters_are_not_found",
    "web_cases.reports": "test_another_sponsors_dead_letters_are_not_found",
    "web_operations.retry_failed_report": "test_another_sponsors_dead_letters_are_not_found",
    "web_operations.discard_failed_report": "test_another_sponsors_dead_letters_are_not_found",
    "web_operations.retry_failed_stage": "test_another_sponsors_dead_letters_are_not_found",
    "web_questions.overview": "test_another_sponsors_questions_are_not_found",
    "web_portal.autosave": "test_another_sponsors_questions_are_not_found",
    "web_portal.discard": "test_another_sponsors_questions_are_not_found",
    "web_portal.study": "test_another_sponsors_questions_are_not_found",
}
WEB_EXEMPT = {
    "web_login.index": "the login redirect; no case data",
    "web_login.login": "login; no case data",
    "web_login.logout": "logout; no case data",
    "web_login.static": "static files",
    "web_login.favicon": "the site's icon",
    "static": "static files",
    # Administration is global (docs/decisions.md): accounts and sponsors are the CRO's, and
    # only administrators reach these (tests/web/test_permissions.py).
    "web_admin.users": "global administration of accounts",
    "web_admin.add_user": "global administration of accounts",
    "web_admin.lock": "global administration of accounts",
    "web_admin.change_grant": "global administration of accounts",
    "web_sponsors.index": "global administration of sponsors",
    "web_sponsors.add": "global administration of sponsors",
    "web_sponsors.detail": "global administration of sponsors",
    "web_sponsors.update": "global administration of sponsors",
    # The queue's figures across sponsors, naming none; administrators and the metrics token
    # only (tests/web/test_permissions.py, tests/pipeline/test_metrics.py).
    "web_metrics.metrics": "queue-wide figures, no sponsor's data; administrators only",
}

# --- the commands ----------------------------------------------------------------------------

# Commands run as ``safety --sponsor ALDER ...`` that name one of BIRCH's objects: each must
# answer "not found" (nonzero exit) and print nothing of BIRCH but what it was given.
CLI_OBJECT_COMMANDS: list[tuple[str, list[str]]] = [
    ("obligations", ["obligations", "{b_number}"]),
    ("obligations", ["obligations", "{b_worldwide}", "--json"]),
    ("obligations", ["obligations", "{b_case}"]),
    ("export e2b", ["export", "e2b", "{b_number}", "--destination", "ema"]),
    ("submissions amend", ["submissions", "amend", "{b_sub}", "--reason", "corrected dose"]),
    ("submissions nullify", ["submissions", "nullify", "{b_number}", "--reason", "error"]),
    ("dedup candidates", ["dedup", "candidates", "{b_report}", "--json"]),
    ("sponsor show", ["sponsor", "show", "{b_code}"]),
    ("sponsor configure", ["sponsor", "configure", "{b_code}", "--name", "Renamed"]),
]
CLI_OTHER_COMMANDS = {
    "submissions list": "test_commands_list_only_the_chosen_sponsor",
    "submissions export": "test_outbox_export_for_one_sponsor_leaves_the_other_ready",
    "dedup scan": "test_commands_list_only_the_chosen_sponsor",
    "dedup reindex": "test_dedup_reindex_for_one_sponsor_leaves_the_other_as_it_was",
    "products list": "test_commands_list_only_the_chosen_sponsor",
    "sponsor list": "test_commands_list_only_the_chosen_sponsor",
    "dictionary recode": "test_commands_list_only_the_chosen_sponsor",
    "ack import": "test_an_ack_for_another_sponsors_batch_is_not_found",
    "import": "test_commands_create_in_the_chosen_sponsor",
    "products import": "test_commands_create_in_the_chosen_sponsor",
    "products import-rsi": "test_rsi_for_another_sponsors_product_is_an_unknown_product",
    "site add": "test_commands_create_in_the_chosen_sponsor",
    "client add": "test_commands_create_in_the_chosen_sponsor",
    "reports failed": "test_another_sponsors_dead_letters_are_not_found",
    "reports retry": "test_another_sponsors_dead_letters_are_not_found",
    "reports discard": "test_another_sponsors_dead_letters_are_not_found",
    "partner-acks": "test_partner_acks_for_one_sponsor_write_only_its_own",
    "blinding import-list": "tests/blinding/test_blinding_cli.py::"
                            "test_the_list_lands_in_the_chosen_sponsor_and_only_for_unblinders",
    "blinding unblind-study": "tests/blinding/test_blinding_cli.py::"
                              "test_the_list_lands_in_the_chosen_sponsor_and_only_for_unblinders",
}
CLI_EXEMPT = {
    "db": "migrations: the operator's, every sponsor",
    "serve": "runs the processes; no data of its own",
    "worker": "the system: works unrestricted and keys on each version's sponsor",
    "scheduler": "the system: works unrestricted and keys on each version's sponsor",
    "demo": "makes its own two demo sponsors (an operator's command)",
    "e2b": "file-level tools: no database",
    "code": "file-level tools: no database",
    "rules": "what-if evaluation of a file: no database",
    "dictionary load": "dictionaries are shared by every sponsor (team synonyms are not, see "
                       "test_another_sponsors_team_synonym_never_codes_for_the_caller)",
    "dictionary list": "dictionaries are shared by every sponsor",
    "sponsor add": "global administration of sponsors (docs/decisions.md)",
    "user": "global administration of accounts (docs/decisions.md)",
    "client list": "global administration of accounts (docs/decisions.md)",
    "client revoke": "global administration of accounts (docs/decisions.md)",
    "audit verify": "the operator's integrity check; with --sponsor it reads that sponsor's "
                    "chain only (tests/audit)",
    "audit seal": "the system's sealing of every chain; it reads or changes no case data",
}


def _api_endpoints(app: Flask) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules()
            if r.rule.startswith("/api/") or r.endpoint.startswith(("health.", "api-docs."))}


def test_every_api_endpoint_is_in_the_matrix(app):
    covered = {e for _, _, e, _ in API_OBJECT_ROUTES} | set(API_OTHER_ROUTES) | set(API_EXEMPT)
    assert _api_endpoints(app) == covered


def test_every_web_endpoint_is_in_the_matrix(app):
    pages = {r.endpoint for r in app.url_map.iter_rules()} - _api_endpoints(app)
    covered = {e for _, _, e, _ in WEB_OBJECT_ROUTES} | set(WEB_OTHER_ROUTES) | set(WEB_EXEMPT)
    assert pages == covered


def _command_paths() -> set[str]:
    """Every command of ``safety``, as ``group sub`` (a group's exemption covers its
    subcommands)."""
    ctx = click.Context(main)
    out = set()
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        if isinstance(command, click.Group) and name not in CLI_EXEMPT:
            out |= {f"{name} {sub}" for sub in command.list_commands(ctx)}
        else:
            out.add(name)
    return out


def test_every_command_is_in_the_matrix():
    covered = {c for c, _ in CLI_OBJECT_COMMANDS} | set(CLI_OTHER_COMMANDS) | set(CLI_EXEMPT)
    assert _command_paths() == covered


# --- the world -------------------------------------------------------------------------------


@pytest.fixture()
def refs(world: TwoSponsors) -> dict[str, Any]:
    """BIRCH's objects as URL parts (and ALDER's first case, for the pairs across)."""
    a, b = world.a, world.b
    case = world.client.get(f"/api/v1/cases/{b.cases[0]}", headers=b.headers()).json
    subs = [s for s in world.submissions(b) if s.xml]
    code = world.client.get("/api/v1/terminology/events?q=palpitations",
                            headers=b.headers()).json
    asked = world.client.post(f"/api/v1/cases/{b.cases[0]}/questions", headers=b.headers(),
                              json={"text": "BIRCH asks its site for the onset date"})
    assert asked.status_code == 201, asked.json
    return {"a_case": a.cases[0], "b_case": b.cases[0], "b_case2": b.cases[1],
            "b_question": asked.json["id"],
            "b_number": case["case_number"], "b_worldwide": case["worldwide_case_id"],
            "b_reaction": case["data"]["reactions"][0]["id"], "b_report": world.reports(b)[0],
            "b_sub": str(subs[0].id), "b_code": b.code,
            "code": code["code"] or code["candidates"][0]["code"]}


def _fill(value: Any, refs: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**refs)
    if isinstance(value, dict):
        return {k: _fill(v, refs) for k, v in value.items()}
    return value


def _no_leak(world: TwoSponsors, body: str | bytes, *given: str) -> None:
    """``body`` names nothing of BIRCH but what the caller itself gave."""
    text_ = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    for value in sorted(given, key=len, reverse=True):
        text_ = text_.replace(value, "<given>") if value else text_
    assert world.leaked(world.b, text_) == set(), text_


# --- API -------------------------------------------------------------------------------------


def _nowhere(refs: dict[str, Any]) -> dict[str, Any]:
    """The same references, each of BIRCH's replaced by one that exists nowhere."""
    fresh = {k: str(uuid.uuid4()) for k in refs if k.startswith("b_")}
    fresh |= {"b_code": "NOSUCH", "b_number": "NOS-2026-000001",
              "b_worldwide": "GB-NOSUCHORG-2026000001", "b_reaction": "R99"}
    return {**refs, **fresh}


def _masked(text_: str, refs: dict[str, Any]) -> str:
    for key, value in refs.items():
        if key.startswith("b_"):
            text_ = text_.replace(str(value), f"<{key}>")
    return text_


@pytest.mark.parametrize("site", [False, True], ids=["safety-client", "site-client"])
def test_api_routes_answer_404_for_another_sponsors_objects(world, refs, site):
    """404 for each of BIRCH's objects, the same answer (but for the id given) as for an
    object that does not exist, and not a row of BIRCH changed."""
    before = world.snapshot(world.b)
    for method, pattern, endpoint, body in API_OBJECT_ROUTES:
        answers = []
        for given in (refs, _nowhere(refs)):
            url = pattern.format(**given)
            r = world.client.open(url, method=method, json=_fill(body, given),
                                  headers=world.a.headers(site=site))
            answers.append((r.status_code, _masked(r.text, given)))
            _no_leak(world, r.data, *url.split("/"))
        assert answers[0] == answers[1], (endpoint, answers)
        if site and method != "GET":
            # a site client may not decide, code, amend or nullify at all: refused before any
            # object is looked up, so the answer is the same for every object
            assert answers[0][0] == 403, (endpoint, answers)
        else:
            assert answers[0][0] == 404, (endpoint, answers)
    assert world.snapshot(world.b) == before


def test_the_callers_own_objects_name_nothing_of_the_other(world, browser):
    """Where two sponsors' cases describe the same patient, ALDER's own case, its suspected
    duplicates, obligations, messages and pages name only ALDER's: nothing was matched,
    counted or drafted across the boundary."""
    a = world.a
    case = a.cases[1]  # the re-keyed report: its duplicate is ALDER's first case only
    dups = world.client.get(f"/api/v1/cases/{case}/duplicates", headers=a.headers()).json
    assert [d["candidate_case_id"] for d in dups] == [a.cases[0]]
    subs = [s for s in world.submissions(a) if s.xml]
    urls = [f"/api/v1/cases/{case}", f"/api/v1/cases/{case}/obligations",
            f"/api/v1/cases/{case}/submissions", f"/api/v1/cases/{case}/duplicates",
            f"/api/v1/submissions/{subs[0].id}", f"/api/v1/submissions/{subs[0].id}/xml",
            f"/api/v1/reports/{world.reports(a)[0]}"]
    for url in urls:
        r = world.client.get(url, headers=a.headers())
        assert r.status_code == 200, url
        _no_leak(world, r.data)
    proc = _login(browser, a.processor)
    for url in (f"/cases/{case}", f"/cases/{case}/versions/1/source",
                f"/cases/{subs[0].case_id}/submissions/{subs[0].id}.xml"):
        r = proc.get(url)
        assert r.status_code == 200, url
        _no_leak(world, r.data)
    number = world.client.get(f"/api/v1/cases/{case}", headers=a.headers()).json["case_number"]
    for args in (["obligations", number, "--json"], ["export", "e2b", number, "--destination",
                                                     "ema"]):
        res = _cli(a, *args)
        assert res.exit_code == 0, res.output
        _no_leak(world, res.output)


def test_api_lists_hold_only_the_callers_sponsor(world):
    a, b = world.a, world.b
    headers = a.headers()
    cases = world.client.get("/api/v1/cases?per_page=500", headers=headers).json
    assert {c["case_id"] for c in cases["items"]} == set(a.cases) and cases["total"] == 2
    obligations = world.client.get("/api/v1/obligations", headers=headers).json
    assert obligations and {o["case_id"] for o in obligations} == set(a.cases)
    assert [s["code"] for s in world.client.get("/api/v1/sponsors", headers=headers).json] \
        == [a.code]
    registry = world.client.get("/api/v1/products", headers=headers)
    assert a.product in registry.text and a.study in registry.text
    site_cases = world.client.get("/api/v1/cases", headers=a.headers(site=True)).json
    assert {c["case_id"] for c in site_cases["items"]} == set(a.cases)
    for r in (json.dumps(cases), json.dumps(obligations), registry.text, json.dumps(site_cases)):
        _no_leak(world, r)
    # naming the other sponsor changes nothing for a client bound to one
    also = world.client.get("/api/v1/products", headers=a.headers(**{"X-Sponsor": b.code}))
    assert also.status_code == 200 and also.json == registry.json


def test_api_writes_land_in_the_callers_sponsor(world):
    a, b = world.a, world.b
    before = world.snapshot(b)
    r = world.client.post("/api/v1/reports", json=form_of(a.code, 90),
                          headers=a.headers(site=True, **{"X-Sponsor": b.code}))
    assert r.status_code == 202
    world.worker()
    status = world.client.get(r.json["status_url"], headers=a.headers()).json
    assert status["status"] == "processed"
    assert world.client.get(f"/api/v1/cases/{status['case_id']}",
                            headers=b.headers()).status_code == 404
    r = world.client.post("/api/v1/products", headers=a.headers(**{"X-Sponsor": b.code}),
                          json={"products": [{"id": "NEW-PRD", "name": "newmab",
                                              "substances": [], "statuses": []}],
                                "studies": []})
    assert r.status_code == 200
    assert "NEW-PRD" in world.client.get("/api/v1/products", headers=a.headers()).text
    assert "NEW-PRD" not in world.client.get("/api/v1/products", headers=b.headers()).text
    assert world.snapshot(b) == before


def test_a_client_of_several_sponsors_cannot_name_another(world, settings):
    """``X-Sponsor`` naming a sponsor the client does not work for is refused exactly as an
    unknown code is: the answer does not tell that BIRCH exists."""
    a, b = world.a, world.b
    from factories.sponsors import sponsor_id

    third = sponsor_id(world.url, "CEDAR")
    with session_scope(world.url) as s:
        token = issue_token(s, "ALDER+CEDAR team", "safety", sponsor_ids=[a.id, third])
    answers = {}
    for code in (b.code, "NOSUCH"):
        r = world.client.post("/api/v1/products", headers=bearer(token, **{"X-Sponsor": code}),
                              json={"products": [], "studies": []})
        assert r.status_code == 422
        answers[code] = r.text.replace(code, "<code>")
    assert answers[b.code] == answers["NOSUCH"]
    ok = world.client.get("/api/v1/products", headers=bearer(token, **{"X-Sponsor": a.code}))
    assert ok.status_code == 200 and a.product in ok.text
    _no_leak(world, ok.data)


def test_rsi_for_another_sponsors_product_is_an_unknown_product(world, tmp_path):
    a, b = world.a, world.b
    before = world.snapshot(b)
    answers = {}
    for product in (b.product, "NOSUCH-PRD"):
        r = world.client.post("/api/v1/products/rsi", headers=a.headers(), json={
            "product_id": product, "reference": "IB", "version": "2",
            "effective_from": "2026-02-01", "expected_pts": []})
        answers[product] = (r.status_code, r.text.replace(product, "<id>"))
    # Regression: an RSI version for a product the caller's registry does not hold was a 500
    # (the database's foreign key); it is a 422 naming product_id, nothing written.
    assert answers[b.product] == answers["NOSUCH-PRD"] and answers[b.product][0] == 422
    assert "product_id" in answers[b.product][1]
    outputs = {}
    for product in (b.product, "NOSUCH-PRD"):
        path = tmp_path / f"{product}.json"
        path.write_text(json.dumps({"product_id": product, "reference": "IB", "version": "2",
                                    "effective_from": "2026-02-01", "expected_pts": []}))
        res = _cli(a, "products", "import-rsi", str(path))
        outputs[product] = (res.exit_code, res.output.replace(product, "<id>")
                            .replace(str(path), "<path>"))
    assert outputs[b.product] == outputs["NOSUCH-PRD"] and outputs[b.product][0] != 0
    assert world.snapshot(b) == before


def _ack_for(world: TwoSponsors, side: Side) -> bytes:
    """A regulator's rejection of the first sent message of ``side``."""
    sent = world.submissions(side, "sent")
    assert sent, "no message sent"
    received = read_batch(sent[0].xml)
    mid = sent[0].message_id
    return write_ack(received, our_id="ZZFDA", verdicts={mid: "CR"},
                     reasons={mid: "R0010: invalid code"})


def _send(world: TwoSponsors, side: Side, outbox: Path) -> list[str]:
    world.approve(side, side.cases[0])
    res = _cli(side, "submissions", "export", "--outbox", str(outbox))
    assert res.exit_code == 0, res.output
    return [json.loads(line)["file"] for line in res.output.splitlines()]


def test_an_ack_for_another_sponsors_batch_is_not_found(world, tmp_path):
    a, b = world.a, world.b
    _send(world, b, tmp_path / "outbox")
    ack = _ack_for(world, b)
    batch = read_batch(world.submissions(b, "sent")[0].xml)[0].header.batch_id or ""
    before = world.snapshot(b)
    r = world.client.post("/api/v1/acks", data=ack,
                          headers=a.headers(**{"Content-Type": "application/xml"}))
    assert r.status_code == 404
    _no_leak(world, r.data, batch)
    path = tmp_path / "ack.xml"
    path.write_bytes(ack)
    res = _cli(a, "ack", "import", str(path))
    assert res.exit_code != 0 and "no submission" in res.output
    _no_leak(world, res.output, batch)
    assert world.snapshot(b) == before
    # the ACK is good: BIRCH's own client applies it
    r = world.client.post("/api/v1/acks", data=ack,
                          headers=b.headers(**{"Content-Type": "application/xml"}))
    assert r.status_code == 200 and r.json[0]["state"] == "rejected"


def test_another_sponsors_team_synonym_never_codes_for_the_caller(world, refs):
    """BIRCH teaches its autocoder that its sites' "febrile neutropenia" means a head pain;
    ALDER's suggestions (whatever sponsor it names) and ALDER's next case never use it."""
    a, b = world.a, world.b
    world.load_dictionary()
    head_hurting = "95000001"  # an LLT of the test release
    url = f"/api/v1/cases/{b.cases[0]}/events/{refs['b_reaction']}/coding"
    r = world.client.put(url, headers=b.headers(), json={
        "code": head_hurting, "reason": "the team's reading", "add_synonym": True})
    assert r.status_code == 200, r.json
    q = "/api/v1/terminology/events?q=febrile%20neutropenia"
    assert world.client.get(q, headers=b.headers()).json["code"] == head_hurting
    for headers in (a.headers(), a.headers(**{"X-Sponsor": b.code}), a.headers(site=True)):
        ours = world.client.get(q, headers=headers)
        assert ours.status_code == 200 and ours.json["code"] != head_hurting
        assert head_hurting not in ours.text
    case_id = world.submit(a)
    coded = world.client.get(f"/api/v1/cases/{case_id}", headers=a.headers()).json
    assert (coded["data"]["reactions"][0].get("coding") or {}).get("code") != head_hurting


# --- pages -----------------------------------------------------------------------------------


def _login(browser: Any, email: str) -> Browser:
    b = browser()
    assert b.login(email).status_code == 302
    b.get("/login")  # a CSRF token for the posts
    return b


def test_pages_answer_404_for_another_sponsors_objects(world, refs, browser):
    a = world.a
    who = {"processor": _login(browser, a.processor), "physician": _login(browser, a.physician),
           "site_user": _login(browser, a.site_user), "unblinder": _login(browser, a.unblinder)}
    before = world.snapshot(world.b)
    form = {"transition": "start_data_entry", "reason": "x", "decision": "confirm",
            "code": refs["code"], "version": "1", "password": "correct horse battery",
            "meaning": "approval"}
    for method, pattern, endpoint, user in WEB_OBJECT_ROUTES:
        url = pattern.format(**refs)
        b = who[user]
        r = b.get(url) if method == "GET" else b.post(url, data=form)
        assert r.status_code == 404, (endpoint, user, url, r.status_code)
        _no_leak(world, r.data)
    assert world.snapshot(world.b) == before


def test_pages_list_only_the_callers_sponsor(world, browser):
    a, b = world.a, world.b
    proc = _login(browser, a.processor)
    numbers = {c: world.client.get(f"/api/v1/cases/{c}", headers=a.headers()).json[
        "case_number"] for c in a.cases}
    pages = {}
    for url in ("/queue", "/queue?all=1", f"/queue?sponsor={b.code}", "/dashboard"):
        r = proc.get(url)
        assert r.status_code == 200
        _no_leak(world, r.data, *(["sponsor=" + b.code] if "sponsor=" in url else []))
        pages[url] = r.text
    assert all(n in pages["/queue"] for n in numbers.values())
    assert not any(n in pages[f"/queue?sponsor={b.code}"] for n in numbers.values())
    portal = _login(browser, a.site_user).get("/portal")
    assert portal.status_code == 200 and f"{a.code}-SAE001" in portal.text
    _no_leak(world, portal.data)
    # what BIRCH receives does not move ALDER's counts or queue
    world.submit(b)
    again = {url: proc.get(url).text for url in ("/queue", "/dashboard")}
    assert _without_tokens(again["/queue"]) == _without_tokens(pages["/queue"])
    assert _without_tokens(again["/dashboard"]) == _without_tokens(pages["/dashboard"])


def test_line_listings_hold_only_the_callers_sponsor(world, browser):
    """The line listing of the queue (page and API) lists ALDER's cases only, whatever
    filter names BIRCH."""
    a, b = world.a, world.b
    numbers = {world.client.get(f"/api/v1/cases/{c}", headers=a.headers()).json["case_number"]
               for c in a.cases}
    proc = _login(browser, a.processor)
    listed = proc.get("/queue/line-listing.csv?all=1")
    assert listed.status_code == 200
    lines = listed.data.decode("utf-8-sig").splitlines()[1:]
    assert {line.split(",")[0] for line in lines} == numbers
    _no_leak(world, listed.data)
    other = proc.get(f"/queue/line-listing.csv?all=1&sponsor={b.code}")
    assert other.data.decode("utf-8-sig").splitlines()[1:] == []
    api = world.client.get("/api/v1/line-listing?all=true", headers=a.headers())
    assert api.status_code == 200
    assert {line.split(",")[0] for line in api.data.decode("utf-8-sig").splitlines()[1:]
            } == numbers
    _no_leak(world, api.data)
    assert world.client.get("/api/v1/line-listing", headers=a.headers(site=True)
                            ).status_code == 403


def _without_tokens(html: str) -> str:
    import re

    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_a_portal_report_lands_in_the_sites_sponsor(world, browser):
    a, b = world.a, world.b
    before = world.snapshot(b)
    site = _login(browser, a.site_user)
    page = site.get("/portal/new")
    assert page.status_code == 200
    _no_leak(world, page.data)
    form = form_of(a.code, 91)
    r = site.post("/portal/new", data={
        "sae_id": form["sae_id"], "report_type": "initial", "awareness_date": "2026-11-02",
        "study.protocol_number": "ONC-301", "site.number": "101", "site.country": "GB",
        "subject.id": "101-004", "subject.sex": "female",
        "events.0.verbatim": "febrile neutropenia", "events.0.onset_date": "2026-10-30",
        "events.0.serious": "true", "events.0.seriousness": "hospitalisation",
        "events.0.outcome": "recovering", "drugs.0.name": "pembrolizumab",
        "drugs.0.role": "suspect", "reporter.given_name": "Ruth",
        "reporter.family_name": "Okafor", "reporter.qualification": "physician"})
    assert r.status_code == 303, r.text
    world.worker()
    assert world.snapshot(b) == before
    listed = world.client.get("/api/v1/cases", headers=a.headers()).json["items"]
    assert form["sae_id"] in {c["sender_case_id"] for c in listed}


# --- commands --------------------------------------------------------------------------------


def _cli(side: Side, *args: str) -> Any:
    return CliRunner().invoke(main, ["--sponsor", side.code, *args])


def test_commands_answer_not_found_for_another_sponsors_objects(world, refs):
    """Each command fails for BIRCH's object exactly as for one that does not exist (but for
    the reference given), and changes nothing of BIRCH."""
    a = world.a
    before = world.snapshot(world.b)
    for name, pattern in CLI_OBJECT_COMMANDS:
        outputs = []
        for given in (refs, _nowhere(refs)):
            args = [p.format(**given) for p in pattern]
            res = _cli(a, *args)
            assert res.exit_code != 0, (name, args, res.output)
            assert "Traceback" not in res.output
            _no_leak(world, res.output, *args)
            outputs.append((res.exit_code, _masked(res.output, given)))
        assert outputs[0] == outputs[1], (name, outputs)
    assert world.snapshot(world.b) == before


def test_commands_list_only_the_chosen_sponsor(world):
    a, b = world.a, world.b
    before = world.snapshot(b)
    listed = _cli(a, "submissions", "list")
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert rows and {r["case_id"] for r in rows} == set(a.cases)
    scan = _cli(a, "dedup", "scan", "--json")
    assert scan.exit_code == 0 and scan.output.strip()
    products = _cli(a, "products", "list")
    assert products.exit_code == 0 and a.product in products.output
    sponsors = _cli(a, "sponsor", "list")
    assert sponsors.exit_code == 0 and a.code in sponsors.output
    recode = _cli(a, "dictionary", "recode")
    assert recode.exit_code == 0
    for res in (listed, scan, products, sponsors, recode):
        _no_leak(world, res.output)
    assert world.snapshot(b) == before


def test_account_lists_narrow_to_the_chosen_sponsor(world):
    """Accounts are administered globally, but ``--sponsor`` narrows the lists to the users
    and clients who work for that sponsor, and to their roles there."""
    a, b = world.a, world.b
    everyone = [json.loads(line) for line in CliRunner().invoke(
        main, ["user", "list"]).output.splitlines()]
    assert any(b.code in row["sponsors"] for row in everyone)
    for command in ("user", "client"):
        listed = _cli(a, command, "list")
        assert listed.exit_code == 0, listed.output
        rows = [json.loads(line) for line in listed.output.splitlines()]
        assert rows, command
        for row in rows:
            held = set(row["sponsors"])
            assert held == {a.code}, (command, row)
        assert b.code not in listed.output


def test_dedup_reindex_for_one_sponsor_leaves_the_other_as_it_was(world):
    """Profiles stored with an older key scheme are re-indexed from their case versions, the
    chosen sponsor's only; a second run has nothing to do."""
    from safety.dedup.blocking import KEYS_VERSION
    from safety.dedup.store import DedupProfile

    if world.settings.database_url is None:
        pytest.skip("the embedded database migrates itself before every command, and that "
                    "re-indexes every sponsor (safety.cli.common.ready_settings)")
    a, b = world.a, world.b

    def versions() -> dict[int, set[int | None]]:
        with session_scope(world.url) as s:
            out: dict[int, set[int | None]] = {}
            for sponsor, version in s.execute(select(DedupProfile.sponsor_id,
                                                     DedupProfile.keys_version)):
                out.setdefault(sponsor, set()).add(version)
            return out

    with session_scope(world.url) as s:
        s.execute(update(DedupProfile).values(keys_version=None))
    res = _cli(a, "dedup", "reindex")
    assert res.exit_code == 0, res.output
    assert f"{a.code}: {len(set(a.cases))} profile(s) re-indexed" in res.output
    _no_leak(world, res.output)
    assert versions() == {a.id: {KEYS_VERSION}, b.id: {None}}
    again = _cli(a, "dedup", "reindex")
    assert again.exit_code == 0 and f"{a.code}: dedup index up to date" in again.output
    assert _cli(b, "dedup", "reindex").exit_code == 0
    assert versions() == {a.id: {KEYS_VERSION}, b.id: {KEYS_VERSION}}


def test_outbox_export_for_one_sponsor_leaves_the_other_ready(world, tmp_path):
    a, b = world.a, world.b
    world.approve(b, b.cases[0])
    ready = {s.id for s in world.submissions(b, "ready")}
    assert ready
    before = world.snapshot(b)
    files = _send(world, a, tmp_path / "outbox")
    assert files and all(f"/{a.code}/" in f for f in files)
    assert not (tmp_path / "outbox" / b.code).exists()
    for f in files:
        _no_leak(world, Path(f).read_bytes())
    assert world.snapshot(b) == before


def test_commands_create_in_the_chosen_sponsor(world, tmp_path):
    a, b = world.a, world.b
    before = world.snapshot(b)
    path = tmp_path / "form.json"
    path.write_text(json.dumps(form_of(a.code, 92)))
    res = _cli(a, "import", str(path))
    assert res.exit_code == 0, res.output
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"products": [{"id": "CLI-PRD", "name": "climab",
                                                  "substances": [], "statuses": []}]}))
    assert _cli(a, "products", "import", str(registry)).exit_code == 0
    assert _cli(a, "site", "add", "ALDER Site 8", "--country", "GB").exit_code == 0
    client = _cli(a, "client", "add", "ALDER gateway")
    assert client.exit_code == 0, client.output
    for out in (res.output, client.output):
        _no_leak(world, out)
    assert world.snapshot(b) == before
    assert "CLI-PRD" in world.client.get("/api/v1/products", headers=a.headers()).text


# --- dead letters and partner ACKs -----------------------------------------------------------


def _dead_letters_of(world: TwoSponsors, side: Side) -> tuple[str, str]:
    """A failed report and a version whose coding stage failed, both of ``side``: what the
    operations page and ``safety reports`` would offer to retry."""
    from safety.cases.progress import stage_failed
    from safety.cases.store import CaseVersion
    from safety.cases.workflow import Stage
    from safety.intake.processing import processing_failed
    from safety.intake.store import Report

    side.submitted += 1
    r = world.client.post("/api/v1/reports", json=form_of(side.code, side.submitted),
                          headers=side.headers(site=True))
    assert r.status_code == 202, r.json
    report_id = uuid.UUID(r.json["report_id"])
    with session_scope(world.url) as s:
        processing_failed(s, report_id, "RuntimeError: poison", final=True)
        cv_id = s.scalars(select(CaseVersion.id).where(
            CaseVersion.case_id == uuid.UUID(side.cases[0]))).first()
        assert cv_id is not None
        stage_failed(s, cv_id, Stage.CODING, "RuntimeError: coding gave up")
        assert s.get_one(Report, report_id).status == "failed"
    return str(report_id), str(cv_id)


def test_another_sponsors_dead_letters_are_not_found(world, browser):
    """BIRCH's failed report and failed stage: ALDER's team never sees them (operations page,
    ``safety reports failed``, the API's report list) and cannot retry or discard them — the
    same answer as for ids that exist nowhere — and nothing of BIRCH changes."""
    a, b = world.a, world.b
    b_report, b_cv = _dead_letters_of(world, b)
    before = world.snapshot(b)
    proc = _login(browser, a.processor)
    page = proc.get("/operations")
    assert page.status_code == 200
    _no_leak(world, page.data)
    assert b_report not in page.text and b_cv not in page.text
    for status in ("failed", "held", "rejected"):  # the queue's tabs of reports
        listing = proc.get(f"/queue/reports/{status}")
        assert listing.status_code == 200
        _no_leak(world, listing.data)
        assert b_report not in listing.text and "data-report=" not in listing.text
    for given_report, given_cv in ((b_report, b_cv), (str(uuid.uuid4()), str(uuid.uuid4()))):
        for url, form in ((f"/operations/reports/{given_report}/retry", {}),
                          (f"/operations/reports/{given_report}/discard", {"reason": "spam"}),
                          (f"/operations/versions/{given_cv}/retry", {})):
            r = proc.post(url, data=form)
            assert r.status_code == 404, (url, r.status_code)
            _no_leak(world, r.data)
    listed = world.client.get("/api/v1/reports?status=failed", headers=a.headers())
    assert listed.status_code == 200
    _no_leak(world, listed.data)
    assert b_report not in listed.text
    failed = _cli(a, "reports", "failed")
    assert failed.exit_code == 0
    _no_leak(world, failed.output)
    answers = []
    for given in (b_report, str(uuid.uuid4())):
        outputs = []
        for args in (["reports", "retry", given], ["reports", "discard", given,
                                                   "--reason", "spam"]):
            res = _cli(a, *args)
            assert res.exit_code != 0 and "Traceback" not in res.output, (args, res.output)
            _no_leak(world, res.output, given)
            outputs.append(res.output.replace(given, "<given>"))
        answers.append(outputs)
    assert answers[0] == answers[1]
    retried_all = _cli(a, "reports", "retry", "--all")
    _no_leak(world, retried_all.output)
    assert world.snapshot(b) == before


def test_partner_acks_for_one_sponsor_write_only_its_own(world, tmp_path):
    """``safety --sponsor ALDER partner-acks`` writes the ACKs of ALDER's inbound batches
    only; BIRCH's partner hears nothing from ALDER's run."""
    a, b = world.a, world.b
    example = (Path(__file__).parents[1] / "e2b" / "data" / "FAERS2022Scenario1.xml")
    for side in (a, b):
        r = world.client.post("/api/v1/reports", data=example.read_bytes(),
                              headers={**side.headers(), "Content-Type": "application/xml",
                                       "Idempotency-Key": f"acks-{side.code}"})
        assert r.status_code == 202, r.json
    res = _cli(a, "partner-acks", "--outbox", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    _no_leak(world, res.output)
    written = {p.relative_to(tmp_path / "out").parts[0]
               for p in (tmp_path / "out").rglob("*.xml")}
    assert written == {a.code}


def test_another_sponsors_questions_are_not_found(world, refs, browser):
    """Questions: BIRCH's are in no list of ALDER's and cannot be answered by ALDER's site;
    ALDER's site user's drafts and registry look-ups stay in ALDER."""
    a, b = world.a, world.b
    mine = world.client.post(f"/api/v1/cases/{a.cases[0]}/questions", headers=a.headers(),
                             json={"text": "ALDER asks for the weight",
                                   "fields": ["subject.weight_kg"]})
    assert mine.status_code == 201, mine.json
    before = world.snapshot(b)
    for headers in (a.headers(), a.headers(site=True)):
        listed = world.client.get("/api/v1/questions", headers=headers)
        assert [q["id"] for q in listed.json] == [mine.json["id"]]
        _no_leak(world, listed.data)
    url = f"/api/v1/questions/{refs['b_question']}/answer"
    r = world.client.post(url, json={"text": "x"}, headers=a.headers(site=True))
    assert r.status_code == 404 and "BIRCH" not in r.text
    assert world.client.post(url, json={"text": "x"}, headers=a.headers()).status_code == 403
    proc = _login(browser, a.processor)
    page = proc.get("/questions")
    assert page.status_code == 200 and "ALDER asks for the weight" in page.text
    _no_leak(world, page.data)
    assert "BIRCH asks" not in page.text
    site = _login(browser, a.site_user)
    portal = site.get("/portal")
    assert "ALDER asks for the weight" in portal.text and "BIRCH asks" not in portal.text
    saved = site.post("/portal/draft", data={"draft_key": "new", "sae_id": "typed"})
    assert saved.status_code == 200 and "Draft saved" in saved.text
    assert site.post("/portal/draft/discard", data={"draft_key": "new"}).status_code == 303
    own = site.get(f"/portal/study?study.protocol_number={a.study}")
    assert f"{a.code} first-in-human" in own.text
    other = site.get(f"/portal/study?study.protocol_number={b.study}")
    assert "not in the sponsor's study registry" in other.text
    assert f"{b.code} first-in-human" not in other.text
    assert world.snapshot(b) == before

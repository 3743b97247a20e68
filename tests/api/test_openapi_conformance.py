"""schemathesis against the API's own OpenAPI document (``/api/v1/openapi.json``), in process
(WSGI), with a site's token and a safety-team client's token, schema-valid and schema-violating
requests alike: no answer may be a 5xx (in tests an unhandled exception is raised, not turned
into a 500, so it fails here with its traceback), and every answer must match what the
document declares for it (status code, content type, headers, body schema).

Each operation is also driven with its path parameters set to a real case, report, event,
duplicate and submission, so that the generated bodies reach the code behind the 404.

Two of schemathesis's checks are left out, on purpose:

* ``positive_data_acceptance`` (a schema-valid request must be accepted): the document
  describes the shape of requests, not every rule behind them (an awareness date not in the
  future, a causality naming a drug of the form, an E2B batch that is a readable XML message,
  an RSI naming a known product), so a schema-valid request can rightly be a 4xx.
* ``negative_data_rejection`` (a schema-violating request must be refused): the API ignores
  query parameters it does not know, as HTTP clients expect (cache busters), and a negative
  case that leaves out the bearer token gets it back from the test's headers.

The number of examples per operation, mode and token is bounded
(``SAFETY_SCHEMATHESIS_EXAMPLES``, 25 by default) to keep this test under a minute.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import pytest
import schemathesis
from factories.cases import post_report
from factories.forms import sae_form
from factories.products import load_demo_registry
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

MAX_EXAMPLES = int(os.environ.get("SAFETY_SCHEMATHESIS_EXAMPLES", "25"))
EXCLUDED = [positive_data_acceptance, negative_data_rejection]


def _seed(client: Any, sites: Any, worker: Any, safety: dict[str, str],
          site: dict[str, str]) -> dict[str, str]:
    """A processed case with its report, events and drafted submissions, and a possible
    duplicate of it; the ids the operations' path parameters can take."""
    load_demo_registry(client, safety)
    first = post_report(client, site, sae_form())
    post_report(client, site, sae_form(sae_id="ONC-301-101-SAE002"))
    worker()
    report = client.get(first["status_url"], headers=site).json
    case_id = report["case_id"]
    cases = client.get("/api/v1/cases", headers=safety).json["items"]
    other = next(c["case_id"] for c in cases if c["case_id"] != case_id)
    data = client.get(f"/api/v1/cases/{case_id}", headers=safety).json["data"]
    subs = client.get(f"/api/v1/cases/{case_id}/submissions", headers=safety).json
    known = {"case_id": case_id, "report_id": report["report_id"], "other_id": other,
             "reaction_id": data["reactions"][0]["id"]}
    if subs:
        known["submission_id"] = subs[0]["id"]
    return known


def _run(strategy: Any, headers: dict[str, str]) -> int:
    """Up to ``MAX_EXAMPLES`` requests drawn from ``strategy``, each validated; how many."""
    calls = 0

    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

    call()
    return calls


@pytest.mark.slow
def test_the_api_answers_every_generated_request_as_its_document_says(app, client, sites,
                                                                      worker):
    safety = sites.headers(sites.token("Safety team", "US", role="safety"))
    site = sites.headers(sites.token())
    known = _seed(client, sites, worker, safety, site)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    requests = 0
    for op in operations:
        path_names = {p.name for p in op.path_parameters}
        variants: list[dict[str, str]] = [{}]
        if path_names and path_names <= known.keys():
            variants.append({name: known[name] for name in path_names})
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for who, headers in (("site", site), ("safety team", safety)):
                for path_parameters in variants:
                    strategy = op.as_strategy(mode, path_parameters=path_parameters or None)
                    try:
                        requests += _run(strategy, headers)
                    except Exception as exc:  # noqa: BLE001 - every failure is reported
                        failures.append(f"{op.label} ({mode.value}, {who}, "
                                        f"{'known ids' if path_parameters else 'any ids'}):\n"
                                        + "".join(traceback.format_exception_only(exc)))
    print(f"schemathesis: {len(operations)} operations, {requests} requests, "
          f"{len(failures)} failures")
    assert not failures, "\n\n".join(failures)


def test_the_document_declares_the_answers_of_report_intake(client):
    spec = client.get("/api/v1/openapi.json").json
    post = spec["paths"]["/api/v1/reports"]["post"]
    error = {"$ref": "#/components/schemas/Error"}
    for status in ("400", "401", "403", "409", "413", "415", "422"):
        assert post["responses"][status]["content"]["application/json"]["schema"] == error
    assert "stored whole or not at all" in post["description"]
    key = next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["maxLength"] == 200
    form = spec["components"]["schemas"]["SAEForm"]["properties"]
    assert form["awareness_date"]["type"] == "string" and "pattern" in form["awareness_date"]

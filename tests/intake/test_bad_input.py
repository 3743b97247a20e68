"""Every bad input gets a 4xx naming the field and the reason, never a 500, and nothing of it
is stored."""

from __future__ import annotations

import json
import uuid

import pytest
from factories.database import count_rows
from factories.e2b import sample_message
from factories.forms import sae_form
from marshmallow import ValidationError

from safety.intake.schemas import SAEFormSchema
from safety.intake.store import Report

NOT_TEXT = ("Must not contain NUL characters, unpaired UTF-16 surrogates or other characters "
            "XML cannot carry (control characters, U+FFFE, U+FFFF).")
JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "application/xml"}


def _stored(settings) -> int:  # type: ignore[no-untyped-def]
    return count_rows(settings.effective_database_url, Report)


@pytest.fixture()
def site(sites):  # type: ignore[no-untyped-def]
    return sites.headers(sites.token())


@pytest.fixture()
def safety(sites):  # type: ignore[no-untyped-def]
    return sites.headers(sites.token("Partner", "US", role="safety"))


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000,
                                  '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(client, site, safety, settings,
                                                           body):
    for path, headers in (("/api/v1/reports", site), ("/api/v1/products", safety),
                          (f"/api/v1/cases/{uuid.uuid4()}/nullification", safety)):
        r = client.post(path, data=body, headers={**headers, **JSON})
        assert r.status_code == 400, (path, r.json)
        assert r.json["message"] == "Body is not valid JSON: nested too deeply"
    assert _stored(settings) == 0


@pytest.mark.parametrize(("field", "value"), [
    ("narrative", "admitted\x00 with fever"),
    ("narrative", "\ud800 admitted"),
    ("sae_id", "SAE\udfff1"),
    ("narrative", "fever\x01 admitted"),  # stored, then no E2B message could be written
    ("sae_id", "SAE\uffff1"),
])
def test_nul_characters_and_lone_surrogates_are_a_422_naming_the_field(
        client, site, settings, field, value):
    """PostgreSQL cannot store either (500 before, once the INSERT failed)."""
    raw = json.dumps(sae_form(**{field: value}))  # escaped: \u0000, \ud800
    r = client.post("/api/v1/reports", data=raw, headers={**site, **JSON})
    assert r.status_code == 422, r.json
    assert r.json["errors"] == {"json": {field: [NOT_TEXT]}}
    assert _stored(settings) == 0


def test_a_bad_character_deep_in_the_form_or_in_a_key_is_named(client, site, settings):
    form = sae_form()
    form["events"][0]["verbatim"] = "fever\x00"
    form["subject\x00"] = {}
    r = client.post("/api/v1/reports", data=json.dumps(form), headers={**site, **JSON})
    assert r.status_code == 422, r.json
    assert r.json["errors"]["json"] == {"events": {"0": {"verbatim": [NOT_TEXT]}},
                                        "subject?": ["Field name: " + NOT_TEXT]}
    assert _stored(settings) == 0


def test_raw_utf8_surrogates_are_refused_too(client, site, settings):
    raw = json.dumps(sae_form(narrative="NARRATIVE")).encode()
    raw = raw.replace(b"NARRATIVE", b"\xed\xa0\x80")  # a surrogate, UTF-8 encoded
    r = client.post("/api/v1/reports", data=raw, headers={**site, **JSON})
    assert r.status_code == 422, r.json  # Python's JSON reader lets them through as text
    assert r.json["errors"] == {"json": {"narrative": [NOT_TEXT]}}
    assert _stored(settings) == 0


def test_nan_and_infinity_are_not_json(client, site, settings):
    raw = json.dumps(sae_form()).replace('"value": 200', '"value": NaN')
    assert "NaN" in raw
    r = client.post("/api/v1/reports", data=raw, headers={**site, **JSON})
    assert r.status_code == 400
    assert r.json["message"] == "Body is not valid JSON: NaN is not a JSON value"
    assert _stored(settings) == 0


def test_a_content_type_over_100_characters_is_a_422_naming_the_header(
        client, site, safety, settings):
    long = "; profile=" + "x" * 100
    r = client.post("/api/v1/reports", data=json.dumps(sae_form()),
                    headers={**site, "Content-Type": "application/json" + long})
    assert r.status_code == 422, r.json
    assert r.json["errors"] == {"headers": {"Content-Type": [
        "At most 100 characters (126 given)."]}}
    r = client.post("/api/v1/reports", data=sample_message("ich"),
                    headers={**safety, "Content-Type": "application/xml" + long})
    assert r.status_code == 422, r.json
    assert list(r.json["errors"]["headers"]) == ["Content-Type"]
    assert _stored(settings) == 0


def test_an_e2b_idempotency_key_over_200_characters_is_a_422(client, safety, settings):
    r = client.post("/api/v1/reports", data=sample_message("ich"),
                    headers={**safety, **XML, "Idempotency-Key": "k" * 201})
    assert r.status_code == 422, r.json
    assert r.json["errors"] == {"headers": {"Idempotency-Key": [
        "Must be 1 to 200 characters (201 given)."]}}
    r = client.post("/api/v1/reports", data=sample_message("ich"),
                    headers={**safety, **XML, "Idempotency-Key": "k" * 200})
    assert r.status_code == 202, r.json
    assert _stored(settings) == 1


def test_an_idempotency_key_with_control_characters_is_a_422(client, site, settings):
    r = client.post("/api/v1/reports", json=sae_form(),
                    headers={**site, "Idempotency-Key": "key\tone"})
    assert r.status_code == 422
    assert list(r.json["errors"]["headers"]) == ["Idempotency-Key"]
    assert _stored(settings) == 0


@pytest.mark.parametrize("page", ["1e19", "10000000000000000000", "1000001", "0"])
def test_a_page_beyond_what_the_database_counts_is_a_422(client, site, page):
    r = client.get(f"/api/v1/cases?page={page}", headers=site)
    assert r.status_code == 422, r.json
    assert list(r.json["errors"]["query"]) == ["page"]


def test_the_last_page_allowed_is_an_empty_page(client, site):
    r = client.get("/api/v1/cases?page=1000000&per_page=500", headers=site)
    assert r.status_code == 200
    assert r.json["items"] == []


def test_a_nul_in_a_query_parameter_is_a_422_naming_it(client, site, safety):
    r = client.get("/api/v1/cases?state=%00", headers=site)
    assert r.status_code == 422, r.json
    assert r.json["errors"] == {"query": {"state": [NOT_TEXT]}}
    r = client.get("/api/v1/terminology/events?q=fever%00", headers=safety)
    assert r.status_code == 422


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x\udc00y"])
def test_the_sae_form_contract_refuses_what_cannot_be_stored(value):
    """The portal and `safety import` validate with the same contract as the API."""
    schema = SAEFormSchema()
    for form in (sae_form(narrative=value), sae_form(reporter={"email": value})):
        with pytest.raises(ValidationError) as err:
            schema.load(form)
        assert NOT_TEXT in json.dumps(err.value.messages, ensure_ascii=False) or \
            "email" in err.value.messages.get("reporter", {})


def test_an_unknown_case_state_filter_is_a_422_not_a_500(client, site):
    """Found by schemathesis: ?state=0 reached the query and failed the enum's lookup."""
    r = client.get("/api/v1/cases?state=0", headers=site)
    assert r.status_code == 422, r.json
    assert list(r.json["errors"]["query"]) == ["state"]
    assert client.get("/api/v1/cases?state=triage", headers=site).status_code == 200


def test_a_lone_surrogate_in_a_utf16_body_is_refused(client, site, settings):
    text = json.dumps(sae_form(narrative="NARRATIVE")).replace("NARRATIVE", "\ud800")
    for encoding in ("utf-16-le", "utf-16", "utf-32"):
        raw = text.encode(encoding, "surrogatepass")
        r = client.post("/api/v1/reports", data=raw, headers={**site, **JSON})
        assert r.status_code == 422, (encoding, r.json)
        assert r.json["errors"] == {"json": {"narrative": [NOT_TEXT]}}
    assert _stored(settings) == 0


@pytest.mark.parametrize(("data", "walk"), [
    (b'{"a": "plain text, caf\xc3\xa9"}', False),
    (b'{"a": "\\u0000"}', True),
    (b'{"a": "\xed\xa0\x80"}', True),
    ('{"a": 1}'.encode("utf-16-le"), True),
    ('{"a": 1}'.encode("utf-16"), True),
    (b'\xef\xbb\xbf{"a": 1}', False),
    ('{"a": "\uffff"}'.encode(), True),
])
def test_only_bodies_that_can_hold_bad_text_are_walked(data, walk):
    from safety.api.body import may_hold_bad_text

    assert may_hold_bad_text(data) is walk


def test_safety_import_reports_a_json_file_nested_too_deeply(settings, monkeypatch, tmp_path):
    from click.testing import CliRunner
    from factories.env import use_settings_env

    from safety.cli import main

    use_settings_env(monkeypatch, settings)
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    res = CliRunner().invoke(main, ["import", str(path)])
    assert res.exit_code == 1, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["error"].startswith(
        "not readable JSON")
    assert _stored(settings) == 0

"""The service's own documents and health."""

from __future__ import annotations


def test_openapi_document_is_generated_from_the_schemas(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["info"]["title"] == "SafetyDesk API"
    form = spec["components"]["schemas"]["SAEForm"]
    assert {"sae_id", "awareness_date", "study"} <= set(form["required"])
    assert "/api/v1/reports" in spec["paths"]
    assert "202" in spec["paths"]["/api/v1/reports"]["post"]["responses"]
    assert client.get("/api/v1/docs").status_code == 200


def test_healthz_checks_database_and_redis(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json["checks"] == {"database": "ok", "redis": "ok"}

"""The API's documentation page: Swagger UI from the ``swagger-ui-bundle`` package, served by
this app (issue 17: loaded from a CDN, the page was blank without a network, and the CDN had
to be let through the content security policy).

The page runs no inline script: ``static/api-docs.js`` starts Swagger UI on the OpenAPI
document named in the page, so the docs page keeps the pages' policy except for inline
styles, which Swagger UI's components set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("web_api_docs", __name__)

# What the page loads from the bundle (its maps and other builds are not served).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png"})
DOCS_PATH = "/api/v1/docs"


@bp.get(DOCS_PATH)
def page() -> Any:
    prefix = current_app.config.get("OPENAPI_URL_PREFIX") or ""
    spec = f"{prefix.rstrip('/')}/{current_app.config['OPENAPI_JSON_PATH']}"
    return render_template("web/api_docs.html", spec_url=spec,
                           asset=lambda name: url_for("web_api_docs.asset", filename=name))


@bp.get(f"{DOCS_PATH}/assets/<filename>")
def asset(filename: str) -> Any:
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(Path(swagger_ui_path), filename, max_age=86400)

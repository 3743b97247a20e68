"""The intake benchmark's floor: the real app plus one route that does only what any intake
design must do in the request (authenticate, parse, validate with the marshmallow contract,
answer 202), and stores nothing. Its throughput bounds every storage design from above."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from marshmallow import ValidationError

from safety.api.auth import require_client
from safety.app import create_app
from safety.intake.service import SAE_FORM


def create_floor_app() -> Flask:
    app = create_app()

    @app.post("/api/v1/bench/validate")  # under /api/: bearer auth, no CSRF
    def validate_only() -> Any:
        require_client()
        body = json.loads(request.get_data(cache=True))
        try:
            SAE_FORM.load(body)
        except ValidationError as err:
            return {"errors": err.messages}, 422
        return {"status": "validated"}, 202

    return app

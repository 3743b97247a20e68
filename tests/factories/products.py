"""The product registry, reference safety information and sender block the demo ships, loaded
the way the safety team loads them (the API, the sponsor's configuration)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from factories.sponsors import DEFAULT_ID
from safety.config import Settings
from safety.db.session import session_scope
from safety.sponsors.service import configure
from safety.sponsors.store import Sponsor

DEMO = Path(__file__).resolve().parents[2] / "safety" / "demo"


def load_demo_registry(client: FlaskClient, headers: dict[str, str]) -> None:
    """The demo's products and studies (pembrolizumab ONC-301, semaglutide DIAB-112, ...)."""
    r = client.post("/api/v1/products", json=json.loads((DEMO / "registry.json").read_text()),
                    headers=headers)
    assert r.status_code == 200, r.json


def add_rsi(client: FlaskClient, headers: dict[str, str], product_id: str, version: str,
            expected_pts: list[str], *, reference: str = "IB",
            effective_from: str = "2026-01-01") -> Any:
    """A version of a product's reference safety information; returns the API's answer (the
    obligations that appear or disappear)."""
    return client.post("/api/v1/products/rsi", headers=headers, json={
        "product_id": product_id, "reference": reference, "version": version,
        "effective_from": effective_from, "expected_pts": expected_pts})


def use_demo_sender(settings: Settings, sponsor_id: int = DEFAULT_ID) -> None:
    """The demo organisation's sender block (E2B C.3) as the sponsor's (DEFAULT unless said)."""
    with session_scope(settings.effective_database_url) as session:
        give_demo_sender(session, sponsor_id)


def give_demo_sender(session: Session, sponsor_id: int) -> None:
    """:func:`use_demo_sender` in the caller's session."""
    configure(session, session.get_one(Sponsor, sponsor_id),
              {"sender": json.loads((DEMO / "sender.json").read_text())}, actor="test")

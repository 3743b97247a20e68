"""Sponsor administration in the browser (the same operations as ``safety sponsor``): the
sponsors the CRO works for, and each one's identity, sender block, gateway identifiers,
reporting capacities and time zone. Every change goes through ``safety.sponsors.service``,
which checks it and audits it field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from safety.accounts.roles import Permission
from safety.sponsors.profile import PARTNER_ROLES, REGULATORS, Capacity
from safety.sponsors.sender import SenderProfile
from safety.sponsors.service import (
    SponsorError,
    add_sponsor,
    configure,
    find,
    show,
    sponsor_audit,
    sponsors,
)
from safety.web.security import require, user

if TYPE_CHECKING:
    from safety.sponsors.store import Sponsor

bp = Blueprint("web_sponsors", __name__, url_prefix="/admin/sponsors")

SENDER_FIELDS = tuple(f.name for f in fields(SenderProfile))
REPORTING_ROWS = 6  # rows offered on the form: the configured ones first, the rest empty
PARTNER_SPARE_ROWS = 3  # empty partner rows offered after the configured ones


def partner_rows(shown: Mapping[str, Any]) -> int:
    return len(shown.get("partners") or []) + PARTNER_SPARE_ROWS


def _context(**more: Any) -> dict[str, Any]:
    return {"regulators": REGULATORS, "capacities": [c.value for c in Capacity],
            "sender_fields": SENDER_FIELDS, "reporting_rows": REPORTING_ROWS,
            "partner_rows": partner_rows, "partner_roles": PARTNER_ROLES,
            "zones": sorted(available_timezones()), **more}


@bp.get("")
@require(Permission.MANAGE_SPONSORS)
def index() -> Any:
    return render_template("web/admin_sponsors.html",
                           **_context(sponsors=[show(s) for s in sponsors(g.db)], errors=None,
                                      form={}))


@bp.post("")
@require(Permission.MANAGE_SPONSORS)
def add() -> Any:
    form = request.form
    try:
        added = add_sponsor(g.db, code=form.get("code", ""), name=form.get("name", ""),
                            org_code=form.get("org_code", ""),
                            case_prefix=form.get("case_prefix", ""),
                            timezone=form.get("timezone") or "UTC", actor=user().actor)
    except SponsorError as exc:
        g.db.rollback()
        return render_template("web/admin_sponsors.html",
                               **_context(sponsors=[show(s) for s in sponsors(g.db)],
                                          errors=str(exc), form=form)), 422
    flash(f"Sponsor {added.code} added: configure its sender, gateways and capacities.")
    return redirect(url_for("web_sponsors.detail", code=added.code), code=303)


def _sponsor(code: str) -> Sponsor:
    try:
        return find(g.db, code)
    except SponsorError:
        abort(404)


@bp.get("/<code>")
@require(Permission.MANAGE_SPONSORS)
def detail(code: str) -> Any:
    sponsor = _sponsor(code)
    return render_template("web/admin_sponsor.html",
                           **_context(s=show(sponsor), errors=None,
                                      history=sponsor_audit(g.db, sponsor)))


@bp.post("/<code>")
@require(Permission.MANAGE_SPONSORS)
def update(code: str) -> Any:
    sponsor = _sponsor(code)
    try:
        changes = settings_from_form(request.form)
        done = configure(g.db, sponsor, changes, actor=user().actor,
                         reason=request.form.get("reason") or None)
    except SponsorError as exc:
        g.db.rollback()
        sponsor = _sponsor(code)
        return render_template("web/admin_sponsor.html",
                               **_context(s=show(sponsor), errors=str(exc),
                                          history=sponsor_audit(g.db, sponsor))), 422
    names = ", ".join(c["field"] for c in done)
    flash(f"{sponsor.code}: {names} changed." if done else f"{sponsor.code}: nothing changed.")
    return redirect(url_for("web_sponsors.detail", code=sponsor.code), code=303)


def settings_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The settings a sponsor's form posts, in the shape ``configure`` checks: an empty
    gateway sender id removes that regulator's gateway, an empty reporting row is no row."""
    def text(name: str) -> str | None:
        value = (form.get(name) or "").strip()
        return value or None

    sender = {name: text(f"sender.{name}") for name in SENDER_FIELDS}
    gateways: dict[str, dict[str, str | None]] = {}
    for regulator in REGULATORS:
        sender_id = text(f"gateway.{regulator}.sender_id")
        if sender_id is not None:
            gateways[regulator] = {
                "sender_id": sender_id,
                "batch_receiver": text(f"gateway.{regulator}.batch_receiver"),
                "message_receiver": text(f"gateway.{regulator}.message_receiver")}
    reporting: list[dict[str, Any]] = []
    for i in range(REPORTING_ROWS):
        held, capacity = text(f"reporting.{i}.regulator"), text(f"reporting.{i}.capacity")
        if held is None and capacity is None:
            continue
        countries = (text(f"reporting.{i}.countries") or "").replace(" ", "")
        reporting.append({"regulator": held, "capacity": capacity,
                          "countries": [c.upper() for c in countries.split(",") if c]})
    partners: list[dict[str, Any]] = []
    i = 0
    while f"partners.{i}.sender" in form:
        sent_as, role = text(f"partners.{i}.sender"), text(f"partners.{i}.role")
        name = text(f"partners.{i}.name")
        if sent_as is not None or role is not None or name is not None:
            partners.append({"sender": sent_as, "name": name or sent_as, "role": role})
        i += 1
    return {
        "name": form.get("name", ""), "org_code": form.get("org_code", ""),
        "case_prefix": form.get("case_prefix", ""), "timezone": form.get("timezone", ""),
        "sender": {k: v for k, v in sender.items() if v is not None}
        if any(sender.values()) else {},
        "gateways": gateways, "reporting": reporting, "partners": partners,
    }

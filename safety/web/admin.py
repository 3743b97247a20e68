"""Account administration in the browser (the same operations as ``safety user``): accounts,
and the role each person holds for each sponsor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from safety.accounts.clients import sites
from safety.accounts.grants import grant, grants, withdraw
from safety.accounts.policy import UserError
from safety.accounts.roles import LABELS, Permission, Role, RoleError
from safety.accounts.users import create_user, get_user, list_users, set_locked
from safety.sponsors.service import sponsors
from safety.web.security import require, user

bp = Blueprint("web_admin", __name__, url_prefix="/admin")


def _page(errors: str | None = None) -> str:
    people = list_users(g.db)
    everyone = sponsors(g.db)
    return render_template("web/admin_users.html", users=people, sites=sites(g.db),
                           sponsors=everyone, codes={s.id: s.code for s in everyone},
                           grants={u.id: grants(g.db, u) for u in people},
                           roles=list(Role), role_labels=LABELS, errors=errors)


@bp.get("/users")
@require(Permission.MANAGE_USERS)
def users() -> Any:
    return _page()


@bp.post("/users")
@require(Permission.MANAGE_USERS)
def add_user() -> Any:
    me = user()
    site_id = request.form.get("site_id") or None
    try:
        new = create_user(g.db, email=request.form.get("email", ""),
                          role=request.form.get("role", ""),
                          password=request.form.get("password", ""),
                          printed_name=request.form.get("printed_name", ""),
                          site_id=int(site_id) if site_id else None, actor=me.actor,
                          sponsor_ids=[int(x) for x in request.form.getlist("sponsor_id")
                                       if x.isdigit()])
    except (UserError, RoleError) as exc:
        g.db.rollback()
        return _page(str(exc)), 422
    flash(f"User {new.email} created.")
    return redirect(url_for("web_admin.users"), code=303)


@bp.post("/users/<int:user_id>/lock")
@require(Permission.MANAGE_USERS)
def lock(user_id: int) -> Any:
    target = get_user(g.db, user_id) or abort(404)
    me = user()
    locked = request.form.get("locked") == "1"
    if target.id == me.id and locked:
        flash("You cannot lock your own account.", "error")
        return redirect(url_for("web_admin.users"), code=303)
    set_locked(g.db, target, locked, actor=me.actor, now=datetime.now(UTC),
               reason=request.form.get("reason") or None)
    flash(f"{target.email} {'locked' if locked else 'unlocked'}.")
    return redirect(url_for("web_admin.users"), code=303)


@bp.post("/users/<int:user_id>/grants")
@require(Permission.MANAGE_USERS)
def change_grant(user_id: int) -> Any:
    """Give the person a role for a sponsor, or (role empty) withdraw it."""
    target = get_user(g.db, user_id) or abort(404)
    sponsor_id = request.form.get("sponsor_id", "")
    known = {s.id: s.code for s in sponsors(g.db)}
    if not sponsor_id.isdigit() or int(sponsor_id) not in known:
        return _page("sponsor: choose one of the sponsors"), 422
    role = request.form.get("role", "")
    try:
        if role:
            grant(g.db, target, int(sponsor_id), role, actor=user().actor)
        else:
            withdraw(g.db, target, int(sponsor_id), actor=user().actor)
    except (UserError, RoleError) as exc:
        g.db.rollback()
        return _page(str(exc)), 422
    code = known[int(sponsor_id)]
    flash(f"{target.email}: {LABELS[Role(role)] if role else 'no role'} for {code}.")
    return redirect(url_for("web_admin.users"), code=303)

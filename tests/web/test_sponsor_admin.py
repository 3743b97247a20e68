"""Administrators add and configure sponsors in the browser; every change is checked (a bad
value is refused naming the setting) and audited; nobody else reaches the pages."""

from __future__ import annotations

from typing import Any

from factories.accounts import user_by_email
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.sponsors.store import sponsor_by_code

ADMIN = "admin@example.org"


def _admin(users: Any, browser: Any) -> Any:
    users.add(ADMIN, "admin")
    b = browser()
    b.login(ADMIN)
    return b


def _settings_form(**over: str) -> dict[str, str]:
    form = {"name": "Acme Pharma", "org_code": "ACME", "case_prefix": "AC",
            "timezone": "Europe/Paris", "reason": "onboarding",
            "sender.organisation": "Acme Pharma SA", "sender.country": "FR",
            "sender.email": "pv@acme.example",
            "gateway.fda.sender_id": "ACMEFDA",
            "gateway.mhra.sender_id": "ACMEMHRA", "gateway.mhra.batch_receiver": "MHRA-B",
            "gateway.mhra.message_receiver": "MHRA-M",
            "reporting.0.regulator": "fda", "reporting.0.capacity": "ind_holder",
            "reporting.1.regulator": "ema", "reporting.1.capacity": "cta_holder",
            "reporting.1.countries": "fr, de"}
    form.update(over)
    return form


def test_an_administrator_adds_and_configures_a_sponsor(settings, users, browser):
    b = _admin(users, browser)
    r = b.post("/admin/sponsors", data={"code": "acme", "name": "Acme Pharma",
                                         "org_code": "ACME", "case_prefix": "AC",
                                         "timezone": "Europe/Paris"})
    assert r.status_code == 303 and r.headers["Location"] == "/admin/sponsors/ACME"
    page = b.get("/admin/sponsors").text
    assert 'data-sponsor="ACME"' in page and 'data-sponsor="DEFAULT"' in page

    b.get("/admin/sponsors/ACME")
    r = b.post("/admin/sponsors/ACME", data=_settings_form())
    assert r.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        acme = sponsor_by_code(s, "ACME")
        profile = acme.profile()
        assert profile.sender is not None and profile.sender.organisation == "Acme Pharma SA"
        assert profile.gateway("fda").sender_id == "ACMEFDA"
        assert profile.gateway("fda").batch_receiver is None  # the FDA's published one
        assert profile.gateway("mhra").message_receiver == "MHRA-M"
        assert profile.gateway("ema") is None
        assert [(r.regulator, r.capacity.value, r.countries) for r in profile.reporting] == [
            ("fda", "ind_holder", ()), ("ema", "cta_holder", ("FR", "DE"))]
        events = s.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "sponsors", AuditEvent.entity_id == str(acme.id))
            .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["sponsor.created", "sponsor.configured"]
        assert events[-1].actor.endswith(f":{ADMIN}")
        assert {c["field"] for c in events[-1].changes} == {"sender", "gateways", "reporting"}
        assert events[-1].reason == "onboarding"
    page = b.get("/admin/sponsors/ACME").text
    assert 'value="ACMEMHRA"' in page and "onboarding" in page  # the history shows it


def test_a_bad_setting_is_refused_naming_it_and_nothing_changes(settings, users, browser):
    b = _admin(users, browser)
    b.get("/admin/sponsors/DEFAULT")
    for field, value, named in (("timezone", "Mars/Olympus", "timezone"),
                                ("gateway.fda.sender_id", "has spaces in it", "gateways.fda"),
                                ("reporting.0.capacity", "owner", "reporting[0].capacity"),
                                ("case_prefix", "1X", "case_prefix")):
        form = _settings_form(name="Default sponsor", org_code="SAFETYDESK", case_prefix="SD")
        r = b.post("/admin/sponsors/DEFAULT", data={**form, field: value})
        assert r.status_code == 422, field
        assert named in r.text, (field, r.text[:300])
    with session_scope(settings.effective_database_url) as s:
        default = sponsor_by_code(s, "DEFAULT")
        assert default.timezone == "UTC" and default.sender == {}


def test_two_sponsors_cannot_share_a_code_or_a_case_prefix(users, browser):
    b = _admin(users, browser)
    b.get("/admin/sponsors")
    r = b.post("/admin/sponsors", data={"code": "DEFAULT", "name": "x", "org_code": "X1",
                                         "case_prefix": "ZZ"})
    assert r.status_code == 422 and "exists already" in r.text
    r = b.post("/admin/sponsors", data={"code": "NEW", "name": "x", "org_code": "X1",
                                         "case_prefix": "SD"})
    assert r.status_code == 422 and "case_prefix" in r.text


def test_an_administrator_names_the_partners_whose_receipt_starts_the_clocks(settings, users,
                                                                            browser):
    """The page sets the same partner list as ``safety sponsor configure --partner``: rows
    added, a bad role refused naming its row, an emptied row removed; all audited."""
    b = _admin(users, browser)
    b.get("/admin/sponsors/DEFAULT")
    base = _settings_form(name="Default sponsor", org_code="SAFETYDESK", case_prefix="SD")
    r = b.post("/admin/sponsors/DEFAULT", data={
        **base, "partners.0.sender": "LICPARTNER1", "partners.0.name": "Nordic Licensee AB",
        "partners.0.role": "licence_partner", "partners.1.sender": "JPAFFILIATE",
        "partners.1.role": "affiliate", "partners.2.sender": ""})
    assert r.status_code == 303, r.text[:500]
    with session_scope(settings.effective_database_url) as s:
        profile = sponsor_by_code(s, "DEFAULT").profile()
        assert [(p.sender, p.name, p.role) for p in profile.partners] == [
            ("LICPARTNER1", "Nordic Licensee AB", "licence_partner"),
            ("JPAFFILIATE", "JPAFFILIATE", "affiliate")]
        last = s.scalars(select(AuditEvent).where(AuditEvent.action == "sponsor.configured")
                         .order_by(AuditEvent.id.desc())).first()
        assert "partners" in {c["field"] for c in last.changes}
    page = b.get("/admin/sponsors/DEFAULT").text
    assert 'value="LICPARTNER1"' in page and 'value="Nordic Licensee AB"' in page
    r = b.post("/admin/sponsors/DEFAULT", data={
        **base, "partners.0.sender": "LICPARTNER1", "partners.0.role": "distributor"})
    assert r.status_code == 422 and "partners[0].role" in r.text
    r = b.post("/admin/sponsors/DEFAULT", data={
        **base, "partners.0.sender": "LICPARTNER1", "partners.0.name": "Nordic Licensee AB",
        "partners.0.role": "licence_partner", "partners.1.sender": "",
        "partners.1.role": ""})
    assert r.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        assert [p.sender for p in sponsor_by_code(s, "DEFAULT").profile().partners] == [
            "LICPARTNER1"]


def test_only_administrators_reach_the_sponsor_pages(users, browser):
    users.add("doc@example.org", "safety_physician")
    users.add("site@example.org", "site_submitter", site="Site 101")
    doc, site = browser(), browser()
    doc.login("doc@example.org")
    site.login("site@example.org")
    assert doc.get("/admin/sponsors").status_code == 403
    assert doc.post("/admin/sponsors/DEFAULT", data=_settings_form()).status_code == 403
    assert site.get("/admin/sponsors").status_code == 404
    assert _admin(users, browser).get("/admin/sponsors/NOPE").status_code == 404


def test_an_administrator_gives_and_withdraws_a_role_per_sponsor(settings, users, browser):
    b = _admin(users, browser)
    b.post("/admin/sponsors", data={"code": "ACME", "name": "Acme", "org_code": "ACME",
                                    "case_prefix": "AC"})
    users.add("doc@example.org", "safety_physician")
    uid = user_by_email(settings.effective_database_url, "doc@example.org").id
    with session_scope(settings.effective_database_url) as s:
        acme = sponsor_by_code(s, "ACME").id
    b.get("/admin/users")
    r = b.post(f"/admin/users/{uid}/grants", data={"sponsor_id": str(acme),
                                                    "role": "case_processor"})
    assert r.status_code == 303
    row = b.get("/admin/users").text.split('data-user="doc@example.org"')[1].split("</tr>")[0]
    assert "ACME: Case processor" in row and "DEFAULT: Safety physician" in row
    b.post(f"/admin/users/{uid}/grants", data={"sponsor_id": "1", "role": ""})
    row = b.get("/admin/users").text.split('data-user="doc@example.org"')[1].split("</tr>")[0]
    assert "DEFAULT:" not in row and "ACME: Case processor" in row
    assert b.post(f"/admin/users/{uid}/grants", data={"sponsor_id": "999", "role": "admin"}
                  ).status_code == 422


def test_a_new_user_works_for_the_sponsors_ticked(settings, users, browser):
    b = _admin(users, browser)
    b.get("/admin/users")
    r = b.post("/admin/users", data={"email": "new@example.org", "printed_name": "New Doc",
                                     "role": "safety_physician", "password": "a long password!",
                                     "sponsor_id": "1"})
    assert r.status_code == 303
    doc = browser()
    doc.login("new@example.org", "a long password!")
    assert doc.get("/queue").status_code == 200

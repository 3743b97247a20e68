"""User roles and what each may do.

Separation of duties is the point: a site submitter sees only its own site's reports; case
processors move cases through intake and data entry; only a safety physician reviews medically
and signs; an administrator manages accounts but does not sign (a signature must mean a
medical judgement, 21 CFR 11.50(a)(3)).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SITE_SUBMITTER = "site_submitter"
    CASE_PROCESSOR = "case_processor"
    SAFETY_PHYSICIAN = "safety_physician"
    # Outside the blinded study team: reads treatment assignments and breaks the blind for
    # the SUSARs that must be reported unblinded (ICH E2A III.C.2), nothing else.
    UNBLINDED_PHYSICIAN = "unblinded_physician"
    ADMIN = "admin"


class ClientRole(StrEnum):
    """What an API client is: a site's integration (its own site only), a licence partner's
    (its own E2B senders), the safety team's (every site), or a migration client (issue 21:
    one sponsor; it alone may bring in reports received long ago, with their original
    receipt, sender and already-made submissions, through ``/api/v1/migrations``; it reads
    no case)."""

    SITE = "site"
    PARTNER = "partner"
    SAFETY = "safety"
    MIGRATION = "migration"


class Permission(StrEnum):
    SUBMIT_REPORTS = "submit_reports"  # site portal
    VIEW_CASES = "view_cases"  # queue, case pages, dashboard (every site)
    WORK_CASES = "work_cases"  # assign, processing transitions
    MEDICAL_REVIEW = "medical_review"  # medical transitions
    SIGN = "sign"  # electronic signature of approval
    MANAGE_USERS = "manage_users"
    MANAGE_SPONSORS = "manage_sponsors"
    OPERATE = "operate"  # failed reports and stages: see, retry, discard (operations page)
    UNBLIND = "unblind"  # read treatment assignments, reveal, import the randomisation list


# Administration is the CRO's, not a sponsor's: held by role, whatever the sponsor grants.
GLOBAL_PERMISSIONS = frozenset({Permission.MANAGE_USERS, Permission.MANAGE_SPONSORS})


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SITE_SUBMITTER: frozenset({Permission.SUBMIT_REPORTS}),
    Role.CASE_PROCESSOR: frozenset({Permission.VIEW_CASES, Permission.WORK_CASES,
                                    Permission.OPERATE}),
    Role.SAFETY_PHYSICIAN: frozenset({Permission.VIEW_CASES, Permission.WORK_CASES,
                                      Permission.MEDICAL_REVIEW, Permission.SIGN}),
    Role.UNBLINDED_PHYSICIAN: frozenset({Permission.VIEW_CASES, Permission.UNBLIND}),
    Role.ADMIN: frozenset({Permission.VIEW_CASES, Permission.WORK_CASES,
                           Permission.MANAGE_USERS, Permission.MANAGE_SPONSORS,
                           Permission.OPERATE}),
}

LABELS: dict[Role, str] = {
    Role.SITE_SUBMITTER: "Site submitter",
    Role.CASE_PROCESSOR: "Case processor",
    Role.SAFETY_PHYSICIAN: "Safety physician",
    Role.UNBLINDED_PHYSICIAN: "Unblinded physician",
    Role.ADMIN: "Administrator",
}


class RoleError(ValueError):
    """A role name or a role/site combination that cannot be used."""


def parse_role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        raise RoleError(
            f"unknown role {name!r}; use one of {', '.join(r.value for r in Role)}"
        ) from None


def check_site_scope(role: Role, site_id: int | None) -> None:
    """A site submitter must belong to exactly one site; the safety team to none, so that no
    one's view of the data depends on a forgotten site attachment."""
    if role is Role.SITE_SUBMITTER and site_id is None:
        raise RoleError("a site_submitter needs a site (--site NAME)")
    if role is not Role.SITE_SUBMITTER and site_id is not None:
        raise RoleError(f"a {role.value} sees every site; do not attach a site")


def can(role: Role | str, permission: Permission) -> bool:
    return permission in PERMISSIONS[Role(role)]

"""Account rules: what an e-mail address and a password must be, and when failures lock an
account.

21 CFR 11.300 asks for controls over identification codes and passwords, including the
detection of attempts at unauthorised use; werkzeug's scrypt (memory-hard) hashes passwords.
"""

from __future__ import annotations

MAX_FAILED_LOGINS = 5
MIN_PASSWORD_LENGTH = 12
PASSWORD_METHOD = "scrypt"  # werkzeug's scrypt (n=2**15, r=8, p=1)

# Same words whether the address is unknown or the password wrong: no account enumeration.
BAD_CREDENTIALS = "Unknown email or wrong password."
LOCKED = "This account is locked. Ask an administrator to unlock it."


class UserError(ValueError):
    """A user could not be created or changed; the message names the field and the reason."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise UserError(f"email {email!r} is not an address")
    return email


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise UserError("password must not start or end with white space")


def locks_after(failed_logins: int) -> bool:
    """Whether this many consecutive failures lock the account."""
    return failed_logins >= MAX_FAILED_LOGINS

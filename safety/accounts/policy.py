"""Account rules: what an e-mail address and a password must be, how failed logins slow
further tries down, and when failures lock an account.

21 CFR 11.300 asks for controls over identification codes and passwords, including the
detection of attempts at unauthorised use; werkzeug's scrypt (memory-hard) hashes passwords.

Failed logins are answered by throttling, not by locking, so that nobody can lock someone
else's account by typing wrong passwords for it (NIST SP 800-63B §5.2.2 prefers rate limiting
for the same reason):

* **per account and address**: after ``FREE_ATTEMPTS`` failures from one address for one
  account, each further try must wait longer (``delay_after``: 2 s, 4 s, … up to 5 min); a
  good login from that address clears it;
* **per address**: ``ADDRESS_LIMIT`` failures from one address (whatever the accounts) in a
  window stop its logins until the window ends (password spraying);
* **per account**: ``ACCOUNT_LIMIT`` failures for one account from addresses where it has not
  logged in lately stop logins to it from such addresses until the window ends (a guess spread
  over many addresses); its owner, at an address where they logged in within
  ``FAMILIAR_DAYS``, is not stopped;
* **lock**: ``LOCK_AFTER_FAILED_LOGINS`` consecutive failures (NIST's ceiling of 100) lock the
  account until an administrator unlocks it. With the throttles above that takes hours of
  sustained guessing, every failure audited: abuse to stop, not a slip to punish. A wrong
  password at signing is typed by someone holding the session, so ``MAX_FAILED_SIGNATURES``
  of them in one session lock the account at once (Part 11 §11.300(d)).

The counters are keyed on the address typed, not on the account found, so an unknown address
is throttled exactly like a known one and the throttle says nothing about who has an account.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_PASSWORD_LENGTH = 12
PASSWORD_METHOD = "scrypt"  # werkzeug's scrypt (n=2**15, r=8, p=1)

FREE_ATTEMPTS = 3
MAX_DELAY_SECONDS = 300
PAIR_MEMORY_SECONDS = 3600  # an account+address's failures are forgotten an hour after the last
FAMILIAR_DAYS = 30
LOCK_AFTER_FAILED_LOGINS = 100
MAX_FAILED_SIGNATURES = 5


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed logins in a fixed window of ``window_seconds``."""

    failures: int
    window_seconds: int


ADDRESS_LIMIT = Limit(failures=30, window_seconds=900)
ACCOUNT_LIMIT = Limit(failures=10, window_seconds=900)

# Same words whether the address is unknown or the password wrong: no account enumeration.
BAD_CREDENTIALS = "Unknown email or wrong password."
# Shown only to someone who gave the right password.
LOCKED = "This account is locked. Ask an administrator to unlock it."
THROTTLED = "Too many failed logins. Try again in {seconds} seconds."


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
    """Whether this many consecutive failed logins lock the account."""
    return failed_logins >= LOCK_AFTER_FAILED_LOGINS


def signature_failures_lock(failures_this_session: int) -> bool:
    """Whether this many wrong passwords at signing, in one session, lock the account."""
    return failures_this_session >= MAX_FAILED_SIGNATURES


def delay_after(failures: int) -> int:
    """Seconds to wait before the next try after ``failures`` in a row from one address for
    one account: ``FREE_ATTEMPTS`` tries without waiting, then 2 s, 4 s, 8 s … up to
    ``MAX_DELAY_SECONDS``."""
    if failures < FREE_ATTEMPTS:
        return 0
    return int(min(2 ** (failures - FREE_ATTEMPTS + 1), MAX_DELAY_SECONDS))


@dataclass(frozen=True)
class Counters:
    """What the throttle knows before a try: the wait left for this account from this address,
    the failures (and seconds left) in the address's and the account's current windows, and
    whether the account logged in from this address lately."""

    pair_wait: int = 0
    address_failures: int = 0
    address_window_left: int = 0
    account_failures: int = 0
    account_window_left: int = 0
    familiar: bool = False


@dataclass(frozen=True)
class Throttle:
    """A try refused before its password is checked: which rule, and for how long."""

    rule: str  # "account+address", "address" or "account"
    seconds: int


def throttle(c: Counters) -> Throttle | None:
    """The rule that refuses the next try, with the longest wait, or None."""
    found = []
    if c.pair_wait > 0:
        found.append(Throttle("account+address", c.pair_wait))
    if c.address_failures >= ADDRESS_LIMIT.failures:
        found.append(Throttle("address", max(c.address_window_left, 1)))
    if c.account_failures >= ACCOUNT_LIMIT.failures and not c.familiar:
        found.append(Throttle("account", max(c.account_window_left, 1)))
    return max(found, key=lambda t: t.seconds, default=None)

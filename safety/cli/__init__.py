"""The ``safety`` command. A thin shell: every command parses its arguments, calls the same
services the API and the jobs use, and prints the result.

Each command group lives in its own module and is imported only when it runs, so that
``safety --help`` and the file-level tools start without loading the whole service.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> (module under safety.cli, attribute, one-line help shown by ``safety --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "db": ("database", "db", "Database migrations and roles."),
    "audit": ("audit", "audit", "The audit trail: seal and verify its hash chains."),
    "sponsor": ("sponsors", "sponsor", "The sponsors the CRO works for and their settings."),
    "site": ("accounts", "site", "Clinical sites and their API tokens."),
    "client": ("accounts", "client", "API clients of the safety team (see every case)."),
    "user": ("users", "user", "Web users: site submitters, processors, physicians, admins."),
    "serve": ("processes", "serve", "Web app, a worker and the scheduler together."),
    "worker": ("processes", "worker", "A worker that processes reports and case stages."),
    "scheduler": ("processes", "scheduler", "The periodic jobs (sweep, due-date alerts)."),
    "import": ("intake", "import_", "Import SAE forms (JSON) and E2B(R3) batches (XML)."),
    "demo": ("demo", "demo", "Load realistic demo SAE reports."),
    "reports": ("reports", "reports", "Failed reports and stages: list, retry, discard."),
    "obligations": ("cases", "obligations", "The reporting obligations of a case."),
    "rules": ("rules", "rules", "What-if evaluation and explanations of a case JSON file."),
    "products": ("products", "products", "Products, studies and reference safety information."),
    "blinding": ("blinding", "blinding", "Blinded trials: randomisation list, unblinding."),
    "e2b": ("e2b", "e2b_group", "File-level E2B(R3) tools: validate, read, ack, sample."),
    "export": ("submissions", "export_group", "Export cases."),
    "submissions": ("submissions", "submissions_group", "E2B messages per regulator."),
    "ack": ("submissions", "ack_group", "Regulators' acknowledgements."),
    "partner-acks": ("intake", "partner_acks",
                     "Our acknowledgements of partners' E2B batches, to their outbox."),
    "code": ("coding", "code_group", "Code verbatims (stdin) to JSON lines (stdout)."),
    "dictionary": ("coding", "dictionary_group", "Terminology releases in the database."),
    "dedup": ("dedup", "dedup", "Duplicate and follow-up detection."),
}


class LazyGroup(click.Group):
    """Commands imported on first use (click's documented lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"safety.cli.{module}"), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"safety.cli.{module}.{attr} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="safetydesk")
@click.option("--sponsor", "sponsors", multiple=True, metavar="CODE",
              help="Work for this sponsor only (repeat for several); the commands then see "
                   "and change only its data. Default: every sponsor (an operator).")
@click.pass_context
def main(ctx: click.Context, sponsors: tuple[str, ...]) -> None:
    """SafetyDesk: adverse event intake, processing, review and E2B(R3) submission."""
    ctx.obj = {"sponsors": tuple(s.strip().upper() for s in sponsors)}


if __name__ == "__main__":
    main()

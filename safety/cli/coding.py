"""``safety code events|drugs`` and ``safety dictionary load|list``.

``code`` reads one verbatim per line on stdin and writes one JSON object per line (shape in
``CodingResult.to_line``); it needs no database and codes against the configured open
dictionary (``SAFETY_DICTIONARIES``, by default the bundled one), or against a dictionary
directory given with ``--dictionary``. ``dictionary`` stores releases in the database
(``safety.coding.store``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from safety.cli.common import chosen_sponsors, database, file_settings, ready_settings

if TYPE_CHECKING:
    from safety.coding.autocoder import Autocoder


@click.group("code")
def code_group() -> None:
    """Code verbatims (stdin, one per line) to JSON lines on stdout."""


def _run(kind: str, dictionary: Path | None) -> None:
    from safety.coding.autocoder import Autocoder
    from safety.coding.bundled import cached_autocoder, semantic_embedder, with_semantic
    from safety.coding.loading import load_path
    from safety.coding.paths import curation_dir

    settings = file_settings()
    configured = settings.dictionaries
    index_dir = settings.semantic_index
    if dictionary is None:
        # The lexical coder is kept built between calls; the semantic index is stored apart
        # and the model is loaded only when a line misses the exact and lay paths.
        coder = with_semantic(cached_autocoder(kind, configured, settings.effective_cache_dir),
                              index_dir)
    else:
        loaded = load_path(dictionary)
        wanted = "LLT" if kind == "events" else "substance"
        terms = next((t for t in loaded if any(True for _ in t.at_level(wanted))), None)
        if terms is None:
            raise click.UsageError(f"{dictionary} holds no {kind} dictionary")
        embedder = semantic_embedder() if index_dir is not None and kind == "events" else None
        coder = Autocoder(terms, kind, curation=curation_dir(configured), embedder=embedder,
                          index_dir=index_dir)
    # Which retrieval ran goes to stderr, so stdout stays one JSON object per line.
    click.echo(f"safety code {kind}: mode {coder.mode}", err=True)
    out = sys.stdout
    batch: list[str] = []
    for line in sys.stdin:
        verbatim = line.rstrip("\r\n")
        if not verbatim.strip():
            continue
        batch.append(verbatim)
        if len(batch) == BATCH:
            _write(out, coder, batch)
            batch = []
    _write(out, coder, batch)


BATCH = 256  # the semantic model encodes the undecided lines of a batch together


def _write(out: TextIO, coder: Autocoder, batch: list[str]) -> None:
    for result in coder.code_many(batch):
        out.write(json.dumps(result.to_line(), ensure_ascii=False) + "\n")
    out.flush()


_dictionary_option = click.option(
    "--dictionary",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Dictionary directory (MedAscii, column-mapped drugs, or open). "
         "Default: SAFETY_DICTIONARIES, else the bundled one.",
)


@code_group.command("events")
@_dictionary_option
def code_events(dictionary: Path | None) -> None:
    """Code adverse event verbatims to LLT with PT and primary SOC."""
    _run("events", dictionary)


@code_group.command("drugs")
@_dictionary_option
def code_drugs(dictionary: Path | None) -> None:
    """Code drug verbatims to substance (UNII) and active moiety."""
    _run("drugs", dictionary)


@click.group("dictionary")
def dictionary_group() -> None:
    """Load and list terminology releases stored in the database."""


@dictionary_group.command("load")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--activate/--no-activate", default=True, help="Make it the active release.")
@click.option("--list-name", default=None, help="Name of a PT list CSV (default: file stem).")
def dictionary_load(path: Path, activate: bool, list_name: str | None) -> None:
    """Load PATH: a MedAscii folder, a column-mapped drug folder, the open dictionary folder,
    or an IME/DME CSV (attached to the active MedDRA release)."""
    from safety.coding.terminology import TerminologyError
    from safety.review.recoding import load_dictionary

    if chosen_sponsors():
        # A release is the installation's, and activating it marks every sponsor's duplicate
        # profiles for re-indexing: a session narrowed to some sponsors would mark only theirs.
        raise click.UsageError("a terminology release is shared by every sponsor: "
                               "run `safety dictionary load` without --sponsor")
    try:
        with database(ready_settings()) as session:
            for message in load_dictionary(session, path, activate=activate,
                                           list_name=list_name):
                click.echo(message)
    except TerminologyError as exc:
        raise click.ClickException(str(exc)) from exc


@dictionary_group.command("list")
def dictionary_list() -> None:
    """Releases stored, the active one per family marked with '*'."""
    from safety.coding.service import releases

    with database(ready_settings()) as session:
        for row in releases(session):
            mark = "*" if row.active else " "
            click.echo(
                f"{mark} {row.family} {row.version} {row.language} "
                f"{row.checksum[:12]} concepts={row.concept_count} loaded={row.loaded_at:%Y-%m-%d}"
            )


@dictionary_group.command("recode")
@click.option("--apply", is_flag=True, help="Apply the changes (audited); default reports only.")
def recode_cmd(apply: bool) -> None:
    """What the active release changes for open cases: one JSON line per changed term (case,
    verbatim, old and new code, and why)."""
    from safety.review.recoding import recode_open_cases

    settings = ready_settings()
    with database(settings) as session:
        rows = recode_open_cases(session, settings, actor="cli:recode", apply=apply)
    for row in rows:
        click.echo(json.dumps(row))
    click.echo(f"{len(rows)} term(s) {'recoded' if apply else 'would change'}", err=True)

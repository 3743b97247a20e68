"""``safety demo``: realistic demo SAE reports made by the seeded generator."""

from __future__ import annotations

import json

import click

from safety.cli.common import ready_settings


@click.command()
@click.option("--count", default=36, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@click.option("--wait", is_flag=True, help="Wait until every report is processed.")
def demo(count: int, seed: int, wait: bool) -> None:
    """Load realistic demo SAE reports made by the seeded generator."""
    from safety.cli.intake import wait_processed
    from safety.demo.service import load_demo
    from safety.pipeline.dispatch import QueueDispatch

    settings = ready_settings()
    ids = load_demo(settings, QueueDispatch(settings), count=count, seed=seed)
    click.echo(json.dumps({"submitted": len(ids)}))
    if wait:
        counts: dict[str, int] = {}
        for _, st in wait_processed(settings, ids, 120):
            counts[st] = counts.get(st, 0) + 1
        click.echo(json.dumps({"statuses": counts}))

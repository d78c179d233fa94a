"""``arlequin sinks``: look at dead letters and deliver them again."""

from __future__ import annotations

import json

import click

from arlequin_core.app import App, get_app
from arlequin_core.errors import ConfigError
from arlequin_core.sinks.store import STORE_NAME, DeliveryStore, Letter


def _store(ctx: click.Context) -> tuple[App, DeliveryStore]:
    app = get_app(ctx)
    return app, DeliveryStore(app.home / STORE_NAME)


def _dead(store: DeliveryStore, sinks: tuple[str, ...], batches: tuple[str, ...]) -> list[Letter]:
    return [
        letter
        for letter in store.letters(state="dead")
        if (not sinks or letter.sink in sinks) and (not batches or letter.batch_id in batches)
    ]


@click.group("sinks")
def sinks_group() -> None:
    """Sink deliveries: dead letters and their replay."""


@sinks_group.command("dead")
@click.option("--sink", "sinks", multiple=True, help="Only this sink (repeatable).")
@click.option("--batch", "batches", multiple=True, help="Only letters about this batch id (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def dead_cmd(ctx: click.Context, sinks: tuple[str, ...], batches: tuple[str, ...], as_json: bool) -> None:
    """List dead letters: deliveries a sink gave up on, with the last error.

    Replay them with ``arlequin sinks replay`` once the cause is fixed.
    """
    _app, store = _store(ctx)
    letters = _dead(store, sinks, batches)
    for letter in letters:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "sink": letter.sink,
                        "key": letter.key,
                        "batch_id": letter.batch_id,
                        "event_id": letter.event.event_id,
                        "event": letter.event.name,
                        "attempts": letter.attempts,
                        "retryable": letter.retryable,
                        "error": letter.error,
                        "failed_at": letter.updated_at,
                    }
                )
            )
        else:
            click.echo(f"{letter.updated_at}  {letter.sink:<10} {letter.key}  attempts={letter.attempts}")
            click.echo(f"    {letter.error}")
    if not letters and not as_json:
        click.echo("no dead letters")


@sinks_group.command("replay")
@click.option("--sink", "sinks", multiple=True, help="Only this sink (repeatable).")
@click.option("--batch", "batches", multiple=True, help="Only letters about this batch id (repeatable).")
@click.option(
    "--follow/--no-follow", default=False, help="Wait for what the delivery started (a Jenkins build) to finish."
)
@click.pass_context
def replay_cmd(ctx: click.Context, sinks: tuple[str, ...], batches: tuple[str, ...], follow: bool) -> None:
    """Deliver dead letters again, now (the cooldown does not apply).

    Each sink's letters go out through the sink's normal path (retries, coalescing,
    events in the journal). Letters that fail again stay dead letters, and the
    command exits with status 1.
    """
    app, store = _store(ctx)
    letters = _dead(store, sinks, batches)
    if not letters:
        click.echo("no dead letters to replay")
        return
    by_sink: dict[str, list[str]] = {}
    for letter in letters:
        by_sink.setdefault(letter.sink, []).append(letter.key)
    source = app.config.source_path or "(no config file)"
    failed = 0
    for name, keys in by_sink.items():
        cls = app.component("sink", name)
        table = app.config.sinks.get(name)
        if table is None:
            if not cls.starts_by_default(app):  # the retrain sink runs without a table: so does its replay
                raise ConfigError(
                    f"{source}: no [sinks.{name}] table: cannot replay {len(keys)} dead letter(s) of {name}"
                )
            table = {}
        sink = cls(table, app)
        try:
            sink.settling = follow
            store.requeue_dead(name, keys)
            result = sink.flush(ignore_cooldown=True, keys=keys)
        finally:
            sink.close()
        failed += result.failed
        click.echo(
            f"{name}: {result.delivered} of {len(keys)} letter(s) delivered in {result.deliveries} "
            f"delivery(ies); {result.failed} failed again"
        )
    if failed:
        click.echo(f"error: {failed} letter(s) failed again; see `arlequin sinks dead`", err=True)
        ctx.exit(1)

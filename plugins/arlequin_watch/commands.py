"""The ``watch``, ``status``, ``retry`` and ``report`` commands."""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from arlequin_core.app import App, get_app
from arlequin_core.errors import EXIT_DRIFT, EXIT_INTERNAL, EXIT_USAGE, ArlequinError
from arlequin_core.logs import get_logger, terminal_safe
from arlequin_core.sources.base import Landed

# The daemon and the ledger (bus, events, SQLite) are imported inside the commands, so
# that every other `arlequin` command (and --help) starts without them.
if TYPE_CHECKING:
    from arlequin_core.ledger import Batch, Ledger

log = get_logger(__name__)


class BatchNotFoundError(ArlequinError):
    """``arlequin retry`` named no batch, or an ambiguous one."""


def current_champion(app: App) -> dict[str, Any] | None:
    """The serving model (name, version, run id) for ``arlequin status``; None without one.

    When MLflow cannot be read, the error is returned under ``error`` (status still works).
    """
    from arlequin_core.training.champion import champion_info

    try:
        return champion_info(app.config)
    except ArlequinError as exc:
        return {"error": str(exc)}


# --------------------------------------------------------------------------- #
# arlequin watch
# --------------------------------------------------------------------------- #


@click.command("watch")
@click.argument("targets", nargs=-1, metavar="[DIR_OR_URI]...")
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds between polls of a URI target (default 10).",
)
@click.option("--max-in-flight", type=click.IntRange(min=1), default=None, help="Overrides [watch] max_in_flight.")
@click.pass_context
def watch_cmd(ctx: click.Context, targets: tuple[str, ...], interval: float | None, max_in_flight: int | None) -> None:
    """Watch for new batches and hand each to the drift monitor, once.

    Without arguments, watches the [sources.<name>] tables of the config. A plain
    path is watched with inotify (source `local`); a URI with a scheme
    (hdfs://, webhdfs://, memory://, file://) is polled (source `poll`).

    Batches that landed while no watcher ran are processed at start-up; a batch
    interrupted by a crash is processed again. SIGINT/SIGTERM: stop taking new
    batches, wait up to [watch] drain_timeout seconds for those in flight, exit 0;
    a second signal, or the timeout, exits 1 at once (unfinished batches are
    processed again at the next start).
    """
    from arlequin_core.daemon import Daemon, build_sources

    app = get_app(ctx)
    sources = build_sources(app, targets, interval)
    daemon = Daemon(app, sources=sources, max_in_flight=max_in_flight)
    leftover = daemon.run()
    if not daemon.drained:
        if leftover:
            message = f"{len(leftover)} batch(es) unfinished; they are processed again at the next start"
        else:
            message = "events left undelivered; they are in the journal (sinks can replay them)"
        click.echo(f"error: stopped with {message}", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # Worker threads may still hold a consumer; closing the app would wait for them.
        os._exit(EXIT_INTERNAL)
    click.echo("watcher stopped cleanly", err=True)


# --------------------------------------------------------------------------- #
# arlequin status
# --------------------------------------------------------------------------- #


def _batch_dict(batch: Batch) -> dict[str, Any]:
    return {
        "batch_id": batch.batch_id,
        "uri": batch.uri,
        "state": batch.state,
        "attempts": batch.attempts,
        "drifted": batch.drifted,
        "reason": batch.reason,
        "updated_at": batch.updated_at,
    }


def _status_data(app: App, n_events: int) -> dict[str, Any]:
    from arlequin_core.daemon import DaemonLock
    from arlequin_core.journal import read_journal
    from arlequin_core.ledger import LEDGER_NAME, Ledger

    pid = DaemonLock(app.config.home).holder()
    ledger_path = app.config.home / LEDGER_NAME
    counts: dict[str, int] = {"seen": 0, "processing": 0, "done": 0, "rejected": 0, "drifted": 0}
    rejected: list[dict[str, Any]] = []
    if ledger_path.exists():
        with Ledger(ledger_path) as ledger:
            counts = ledger.counts()
            rejected = [_batch_dict(b) for b in ledger.batches(["rejected"], limit=5)]
    events = deque(read_journal(app.journal_path), maxlen=n_events) if n_events else []
    return {
        "home": str(app.config.home),
        "watcher": {"running": pid is not None, "pid": pid},
        "ledger": counts,
        "champion": current_champion(app),
        "rejected": rejected,
        "events": [event.to_dict() for event in events],
    }


@click.command("status")
@click.option("--events", "n_events", type=click.IntRange(min=0), default=10, show_default=True, help="Last N events.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status_cmd(ctx: click.Context, n_events: int, as_json: bool) -> None:
    """Show the watcher, the ledger's batches per state, the champion and the last events."""
    data = _status_data(get_app(ctx), n_events)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    watcher = data["watcher"]
    click.echo(f"home:      {data['home']}")
    running = f"running (pid {watcher['pid']})" if watcher["running"] else "not running"
    click.echo(f"watcher:   {running}")
    c = data["ledger"]
    click.echo(
        f"batches:   {c['seen']} pending, {c['processing']} processing, {c['done']} done "
        f"({c['drifted']} drifted), {c['rejected']} rejected"
    )
    champion = data["champion"]
    if champion and "error" in champion:
        click.echo(f"champion:  unknown ({champion['error']})")
    elif champion:
        click.echo(
            f"champion:  {champion['model_name']} version {champion['model_version']} (run {champion['run_id']})"
        )
    else:
        click.echo("champion:  none yet (train one: arlequin train --data REFERENCE)")
    if data["rejected"]:
        click.echo("rejected (latest first; `arlequin retry BATCH` processes one again):")
        for b in data["rejected"]:
            reason = (b["reason"] or "").splitlines() or [""]  # the first line says it; --json has all
            click.echo(f"  {b['batch_id']}  {terminal_safe(b['uri'])}\n      {terminal_safe(reason[0])}")
    if data["events"]:
        click.echo(f"last {len(data['events'])} events:")
        for e in data["events"]:
            where = e.get("uri") or e.get("model_version") or e.get("plugin") or ""
            click.echo(
                f"  {e['created_at']}  {e['name']:<16} {e.get('batch_id') or '-':<16}  {terminal_safe(str(where))}"
            )


# --------------------------------------------------------------------------- #
# arlequin retry
# --------------------------------------------------------------------------- #


def resolve_batch(ledger: Ledger, ref: str) -> Batch:
    """The batch ``ref`` names: an id, a unique id prefix, a URI or a (relative) path (its newest batch).

    :raises BatchNotFoundError: nothing matches, or an id prefix matches several batches.
    """
    matches = ledger.find(ref)
    if not matches and "://" not in ref:
        matches = ledger.find(str(Path(ref).expanduser().resolve()))  # a relative local path
    if not matches:
        raise BatchNotFoundError(f"no batch matches {ref!r}; `arlequin status` lists rejected batches")
    exact = [b for b in matches if b.batch_id == ref]
    if exact:
        return exact[0]
    if len({b.uri for b in matches}) > 1:
        listed = ", ".join(f"{b.batch_id} ({b.uri})" for b in matches[:5])
        raise BatchNotFoundError(f"{ref!r} matches several batches: {listed}; give more of the id")
    return matches[0]  # one URI: its newest version


def current_version(ledger: Ledger, batch: Batch) -> Batch:
    """The batch holding what is at ``batch.uri`` now: ``batch`` itself, a newer version, or a new one.

    A local file whose size or mtime changed since ``batch`` was recorded, with no newer
    version in the ledger (no watcher saw it), is recorded now as a new pending batch.
    """
    versions = [b for b in ledger.find(batch.uri) if b.uri == batch.uri]
    newest = versions[0] if versions else batch
    if newest.seq > batch.seq:
        return newest
    if batch.kind != "file" or "://" in batch.uri:
        return batch
    try:
        st = os.stat(batch.uri)
    except OSError:
        return batch  # gone: the retry says so
    landed = Landed(batch.uri, st.st_size, st.st_mtime, "file", batch.source)
    if landed.batch_id == batch.batch_id:
        return batch
    ledger.observe(landed)
    return ledger.get(landed.batch_id) or batch


@click.command("retry")
@click.argument("batch")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds to wait for the verdict when processing here (default: no limit).",
)
@click.pass_context
def retry_cmd(ctx: click.Context, batch: str, timeout: float | None) -> None:
    """Process BATCH again (an id, a unique id prefix, or the batch's path or URI).

    The batch goes back to pending. When a watcher is running on this home, it
    picks the batch up within [watch] sweep_interval seconds and this command
    returns at once. Otherwise the batch is processed here and its verdict printed.

    Exit status (when processed here): 0 checked without drift, 3 drifted,
    2 rejected again, 1 no verdict within --timeout.
    """
    from arlequin_core.daemon import Daemon, DaemonError, DaemonLock, default_consumers
    from arlequin_core.ledger import LedgerError, open_ledger

    app = get_app(ctx)
    pid = DaemonLock(app.home).holder()
    # Build the consumers before touching the ledger, so a config error changes nothing.
    consumers = default_consumers(app) if pid is None else []
    with open_ledger(app.home) as ledger:
        target = resolve_batch(ledger, batch)
        current = current_version(ledger, target)
        if current.batch_id != target.batch_id:
            # The file was replaced: its new content is a batch of its own. Checking the old id
            # again would check the new bytes twice, under two ids (two retrains for one file).
            what = f"{target.batch_id}  {terminal_safe(target.uri)}: the file was replaced since; its content now"
            if current.state not in ("rejected", "seen"):
                click.echo(f"{what} is batch {current.batch_id} ({current.state}): nothing to retry")
                return
            click.echo(f"{what} is batch {current.batch_id}: processing that one")
            target = current
        try:
            target = ledger.reset(target.batch_id)
        except LedgerError as exc:
            raise BatchNotFoundError(str(exc)) from None
    if pid is not None:
        _echo_queued(app, target, pid)
        return
    daemon = Daemon(app, consumers=consumers)
    try:
        daemon.start(dispatch=False)
    except DaemonError:
        _echo_queued(app, target, DaemonLock(app.home).holder())  # a watcher started meanwhile
        return
    try:
        result = daemon.process([target.batch_id], timeout=timeout)
    finally:
        daemon.stop(timeout=0 if timeout == 0 else None)
    after = result[0] if result else target
    shown = f"{after.batch_id}  {terminal_safe(after.uri)}: {after.state}"
    click.echo(shown + (f" ({terminal_safe(after.reason)})" if after.reason else ""))
    if not daemon.drained or after.state not in ("done", "rejected"):
        click.echo("error: no verdict in time; the batch is processed again at the next `arlequin watch`", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERNAL)  # a consumer still runs; closing the app would wait for it
    if after.state == "rejected":
        ctx.exit(EXIT_USAGE)
    if after.drifted:
        click.echo("drift detected")
        ctx.exit(EXIT_DRIFT)


def _echo_queued(app: App, batch: Batch, pid: int | None) -> None:
    who = f"the running watcher (pid {pid})" if pid and pid > 0 else "the running watcher"
    click.echo(
        f"{batch.batch_id}  {batch.uri}: pending again; {who} picks it up within "
        f"{app.config.watch.sweep_interval:g} s (see `arlequin status`)"
    )


@click.command("report")
@click.argument("batch")
@click.pass_context
def report_cmd(ctx: click.Context, batch: str) -> None:
    """Draw the HTML report of a checked batch now (one the watcher left without plots under a backlog)."""
    from arlequin_core.ledger import open_ledger
    from arlequin_core.rendering import render_on_demand

    app = get_app(ctx)
    with open_ledger(app.home) as ledger:
        found = resolve_batch(ledger, batch)
    click.echo(f"report: {render_on_demand(app.config, app.registry, found.batch_id)}")

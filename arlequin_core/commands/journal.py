"""``arlequin events`` and ``arlequin history``: what happened, from the journal and the reports."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from arlequin_core.app import get_app
from arlequin_core.events import EVENT_TYPES, Event
from arlequin_core.journal import read_journal
from arlequin_core.logs import terminal_safe


@click.command("events")
@click.option("--name", "names", multiple=True, type=click.Choice(sorted(EVENT_TYPES)), help="Only these events.")
@click.option("--batch", "batch_id", default=None, help="Only events of this batch id.")
@click.option("--model-version", default=None, help="Only events about this model version.")
@click.option("--since", default=None, help="Only events at or after this ISO time (UTC if no zone).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the last N matching events.")
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON lines.")
@click.pass_context
def events_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    batch_id: str | None,
    model_version: str | None,
    since: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Read and filter the event journal.

    ``--model-version 7`` answers "why was version 7 trained?" in one query: the events
    about version 7, and before them its cause, marked ``cause``: the drift event that
    triggered the retrain, and the verdicts (batch-checked, drift-detected,
    data-quality-failed) of the batches it was trained on.
    """
    app = get_app(ctx)
    since_dt = _parse_since(since) if since else None
    journal = list(read_journal(app.journal_path))
    causes = _causes(journal, model_version) if model_version else set()
    matches = []
    for event in journal:
        if names and event.name not in names:
            continue
        if batch_id and event.batch_id != batch_id and batch_id not in getattr(event, "batch_ids", ()):
            continue
        if (
            model_version
            and str(getattr(event, "model_version", None)) != model_version
            and event.event_id not in causes
        ):
            continue
        if since_dt and datetime.fromisoformat(event.created_at) < since_dt:
            continue
        matches.append(event)
    for event in matches[-limit:] if limit else matches:
        if as_json:
            click.echo(event.to_json())
        else:
            extra = {k: v for k, v in event.to_dict().items() if k not in ("name", "event_id", "created_at") and v}
            mark = "cause  " if event.event_id in causes else ""
            click.echo(
                f"{event.created_at}  {mark}{event.name:<16} {event.event_id[:12]}  {json.dumps(extra, default=str)}"
            )


#: The verdicts that explain a retrain, for the batches a version was trained on.
_VERDICTS = {"batch-checked", "drift-detected", "data-quality-failed"}


def _causes(journal: list[Event], model_version: str) -> set[str]:
    """Ids of the events that caused the training of ``model_version`` (see :func:`events_cmd`)."""
    by_id = {e.event_id: e for e in journal}
    registered = [
        e for e in journal if e.name == "model-registered" and str(getattr(e, "model_version", "")) == model_version
    ]
    found: set[str] = set()
    for reg in registered:
        cause = by_id.get(reg.cause_event_id or "")
        for _ in range(10):  # drift-detected <- data-arrived ...: a short chain, never a loop
            if cause is None or cause.event_id in found:
                break
            found.add(cause.event_id)
            cause = by_id.get(cause.cause_event_id or "")
        batches = set(getattr(reg, "batch_ids", ()) or ())
        found.update(
            e.event_id
            for e in journal
            if e.name in _VERDICTS and e.batch_id in batches and e.created_at <= reg.created_at
        )
    return found


def _parse_since(text: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        message = f"{text!r} is not an ISO date/time, e.g. 2026-11-26T07:00"
        raise click.BadParameter(message, param_hint="--since") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


# a batch whose columns drifted below the policy's share is a warning, never "no drift"
_VERDICT = {"no drift": "no drift", "below share": "warning ", "drift": "DRIFT   "}


@click.command("history")
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the drift-over-time page here (default: <home>/reports/index.html).",
)
@click.option("--last", type=click.IntRange(min=1), default=20, show_default=True, help="Batches to print.")
@click.pass_context
def history_cmd(ctx: click.Context, html_out: str | None, last: int) -> None:
    """Drift over time: the latest batch verdicts, and an HTML page with plots of them."""
    from arlequin_core.drift.history import load_reports, write_history

    app = get_app(ctx)
    reports_dir = app.config.home / "reports"
    reports = load_reports(reports_dir, last=last)
    if not reports:
        click.echo(f"no batch reports in {reports_dir} yet")
    for report in reports:
        verdict = _VERDICT.get(report.status, "DRIFT" if report.drifted else "no drift")
        click.echo(
            f"{report.created_at[:19]}  {verdict}  share {report.drift_share:4.0%}  "
            f"model {report.model_version or '-':>3}  {terminal_safe(report.uri or report.batch_id or '')}  "
            f"{terminal_safe(', '.join(report.drifted_columns))}"
        )
    click.echo(f"drift over time: {write_history(reports_dir, html_out)}")

"""CLI commands of the retraining flow: ``train``, ``validate``, ``promote``, ``models``.

Exit statuses: 0 done (a rejected challenger is a normal outcome: its verdict is
printed), 2 bad input or usage, 1 MLflow or internal failure, 4 (``validate
--require-pass``) the challenger was rejected.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import click

from arlequin_core import progress
from arlequin_core.app import get_app
from arlequin_core.training.errors import EXIT_REJECTED


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _print_result(result: Any) -> None:
    click.echo(f"run id:    {result.run_id}")
    click.echo(f"model:     {result.model_name} version {result.version}")
    click.echo("metrics:   " + "  ".join(f"{k}={_fmt(v)}" for k, v in result.metrics.items()))
    status = "PROMOTED to champion" if result.promoted else "NOT promoted"
    click.echo(f"verdict:   {status}: {result.reason}")


@click.command("train")
@click.option("--data", "data", multiple=True, metavar="URI", help="A batch to train on (repeat for several).")
@click.option(
    "--resume",
    "resume_id",
    is_flag=False,
    flag_value="*",
    default=None,
    metavar="[ID]",
    help="Log a model left pending by a failed run (ID, or every pending one when given alone).",
)
@click.option("--no-promote", is_flag=True, help="Register and validate, but do not move the champion alias.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@progress.option
@click.pass_context
def train_cmd(
    ctx: click.Context,
    data: tuple[str, ...],
    resume_id: str | None,
    no_promote: bool,
    as_json: bool,
    show_progress: bool | None,
) -> None:
    """Train a model on --data, log it to MLflow, register it and validate it against the champion.

    The new version becomes `challenger`; it becomes `champion` when its
    [training] metric on the held-out rows is not worse than the champion's by more
    than [training] tolerance (the first model always does). A rejected model is a
    normal outcome: exit status 0, verdict printed.

    If MLflow is unreachable or fails, the trained model is kept under
    <home>/pending/<id>/ and the command exits 1 naming the id; `arlequin train
    --resume ID` (or `--resume` alone for all) logs it later without retraining.
    """

    app = get_app(ctx)
    with progress.shown(progress.wanted(show_progress)):
        results = _train(app, data, resume_id, no_promote)
    for result in results:
        if as_json:
            click.echo(json.dumps(result.to_dict(), default=str))
        else:
            _print_result(result)


def _train(app: Any, data: tuple[str, ...], resume_id: str | None, no_promote: bool) -> list[Any]:
    from arlequin_core.training import flow

    if resume_id is not None and data:
        raise click.UsageError("give either --data or --resume, not both")
    if resume_id is None and not data:
        raise click.UsageError("give --data URI (repeat for several batches), or --resume")
    if resume_id is not None:
        ids = flow.pending_ids(app.config) if resume_id == "*" else [resume_id]
        if not ids:
            click.echo("nothing pending")
            return []
        return [flow.resume(app, pending_id) for pending_id in ids]
    return [flow.retrain(app, list(data), promote=not no_promote)]


@click.command("validate")
@click.option("--data", "data", multiple=True, required=True, metavar="URI", help="Recent labelled data to score on.")
@click.option("--version", default=None, help="The version to validate (default: the `challenger`).")
@click.option("--require-pass", is_flag=True, help=f"Exit {EXIT_REJECTED} when the version is rejected (CI stages).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.pass_context
def validate_cmd(
    ctx: click.Context, data: tuple[str, ...], version: str | None, require_pass: bool, as_json: bool
) -> None:
    """Score a version and the champion on the same --data and compare them with [training] metric.

    Records the verdict on the version (tags `arlequin.validation`, and
    `arlequin.rejected` when it fails) but moves no alias: see `arlequin promote`.
    A rejection exits 0 with the verdict printed, unless --require-pass (exit 4),
    which a Jenkins stage uses to fail the build.
    """
    from arlequin_core.training.validation import validate_version

    result = validate_version(get_app(ctx), list(data), version)
    if as_json:
        click.echo(json.dumps(result.to_dict(), default=str))
    else:
        champion = (
            f"champion v{result.champion_version} {_fmt(result.champion)}" if result.champion_version else "no champion"
        )
        click.echo(f"{result.metric}: challenger v{result.challenger_version} {_fmt(result.challenger)}, {champion}")
        click.echo(f"verdict: {'PASSED' if result.passed else 'REJECTED'}: {result.reason}")
    if require_pass and not result.passed:
        ctx.exit(EXIT_REJECTED)


@click.command("promote")
@click.option("--version", default=None, help="The version to make champion (default: the `challenger`).")
@click.option("--force", is_flag=True, help="Promote even a version that validation rejected.")
@click.pass_context
def promote_cmd(ctx: click.Context, version: str | None, force: bool) -> None:
    """Move the `champion` alias to --version, by default the `challenger`.

    A version that validation rejected needs --force. The old champion stays
    available to `arlequin models rollback`.
    """
    from arlequin_core.training.champion import promote_version

    app = get_app(ctx)
    promoted, previous = promote_version(app, version, force=force)
    was = f" (was version {previous})" if previous else ""
    click.echo(f"{app.config.mlflow.model_name}: champion is version {promoted}{was}")


@click.group("models", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def models_group(ctx: click.Context, as_json: bool) -> None:
    """List the registered model's versions, their aliases, status and held-out metrics."""
    if ctx.invoked_subcommand is not None:
        return
    from arlequin_core.training.champion import list_models

    app = get_app(ctx)
    rows = list_models(app.config)
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    if not rows:
        click.echo(f"no versions of {app.config.mlflow.model_name!r} yet; run `arlequin train --data URI`")
        return
    task = rows[-1].get("task", "classification")
    from arlequin_core.training.metrics import promotion_metric  # numpy: not at CLI start

    metric = promotion_metric(app.config.training.metric, task)
    shown = ("roc_auc", "pr_auc", "f1", "log_loss") if task == "classification" else ("rmse", "mae", "r2")
    keys = [metric, *[k for k in shown if k != metric]]
    header = f"{'version':>7}  {'aliases':<22} {'status':<29} {'created':<17} " + " ".join(f"{k:>9}" for k in keys)
    # Each version's metrics are on its own held-out rows: say which, so they are not read as comparable.
    measured = [(row.get("heldout") or {}).get("description", "") for row in rows]
    width = max(len("metrics measured on"), *map(len, measured))
    click.echo(f"{header}  {'metrics measured on':<{width}}  vs champion (difference, interval, p)")
    for row, on in zip(rows, measured, strict=True):
        created = (
            datetime.fromtimestamp(row["created"] / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M")
            if row["created"]
            else ""
        )
        values = " ".join(f"{_fmt(row['metrics'].get(k, float('nan'))):>9}" for k in keys)
        line = f"{row['version']:>7}  {','.join(row['aliases']):<22} {row['status']:<29} {created:<17} {values}"
        click.echo(f"{line}  {on:<{width}}  {_verdict(row.get('validation') or {})}".rstrip())
    if len({on for on in measured if on}) > 1:
        click.echo(
            "note: each version's metrics are on its own held-out rows, so they are not comparable across versions; "
            "'vs champion' scores both models on the same rows (the challenger's held-out rows)"
        )


def _verdict(v: dict[str, Any]) -> str:
    """``v2 roc_auc +0.0123 [-0.0031, +0.0277] p=0.12 delong non_inferior: passed`` (empty when never compared)."""
    if not v or v.get("difference") is None:
        return ""
    word = "passed" if v.get("passed") else "rejected"
    return (
        f"v{v.get('champion_version')} {v.get('metric')} {v['difference']:+.4f} "
        f"[{v['low']:+.4f}, {v['high']:+.4f}] p={v['p_value']:.3g} {v.get('method')} {v.get('rule')}: {word}"
    )


@models_group.command("rollback")
@click.pass_context
def rollback_cmd(ctx: click.Context) -> None:
    """Move `champion` back to the version it replaced (repeat to go further back)."""
    from arlequin_core.training.champion import rollback_champion

    done = rollback_champion(get_app(ctx))
    click.echo(
        f"{done.model_name}: champion is version {done.to_version} (rolled back from version {done.from_version})"
    )

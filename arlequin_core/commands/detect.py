"""``arlequin detect``: test one batch against a reference, from the command line.

Exit status: 0 no drift, 3 drift, 2 bad usage or unreadable input (the message names
the file and the problem), 1 internal error.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from arlequin_core import progress
from arlequin_core.app import get_app
from arlequin_core.drift.report import ColumnResult, DriftReport
from arlequin_core.errors import EXIT_DRIFT
from arlequin_core.progress import phase
from arlequin_core.text import terminal_safe

if TYPE_CHECKING:
    from arlequin_core.config import ArlequinConfig


@click.command("detect")
@click.option(
    "--reference",
    "-r",
    "reference",
    default=None,
    metavar="REF",
    help="Reference data (Parquet, CSV, Spark directory, any fsspec URI) or a saved profile (.profile, or .json "
    "of format 1). "
    "Default: the serving model's (the champion in [mlflow]), with its estimated performance on the batch.",
)
@click.option("--current", "-c", "current", required=True, metavar="CUR", help="The batch to test (Parquet or CSV).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Write the report as JSON.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None, help="Write the HTML report.")
@click.option(
    "--save-profile",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also save the fitted reference as a profile to reuse with --reference (name it *.profile; "
    "*.json writes the slower, all-JSON format 1).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line.")
@click.option(
    "--engine",
    type=click.Choice(["auto", "memory", "arrow", "spark"]),
    default=None,
    help="What computes the statistics (default: [drift] engine): memory, arrow (streamed, bounded memory), "
    "spark (one pass on [spark] master), auto (here: a local batch up to 256 MB is read whole, beside the "
    "reference, and checked in memory).",
)
@click.option(
    "--detector",
    "detectors",
    multiple=True,
    metavar="[COLUMN=]NAME",
    help="Detector for numeric or categorical columns by kind (ks, wasserstein, chi2, jensen_shannon, ...), "
    "or for one column with COLUMN=NAME; repeatable. Overrides [drift]. Needs a reference file, not a profile.",
)
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="[COLUMN=]VALUE",
    help="P-value level (p-value tests) or distance threshold of every column, or of one with COLUMN=VALUE.",
)
@click.option(
    "--min-effect",
    "min_effects",
    multiple=True,
    metavar="[KIND|COLUMN=]VALUE",
    help="Smallest effect that counts as drift (KS's D, total variation, missing-rate change): "
    "all kinds, or numeric=, categorical=, missing=, or COLUMN=. Overrides [drift] min_effect.",
)
@click.option(
    "--correction", type=click.Choice(["none", "bonferroni", "holm", "bh"]), default=None, help="Multiple testing."
)
@click.option(
    "--drift-share",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=None,
    help="Call the batch drifted only when at least this share of columns drifted (default: any column).",
)
@click.option("--critical", "critical", multiple=True, metavar="COLUMN", help="A column whose drift is always drift.")
@click.option(
    "--calibrate-rows",
    type=click.IntRange(min=1),
    default=None,
    help="Calibrate each column's minimum effect on the reference for batches of this many rows "
    "([drift] calibrate_rows; needs reference data).",
)
@progress.option
@click.pass_context
def detect_cmd(
    ctx: click.Context,
    reference: str | None,
    current: str,
    json_out: str | None,
    html_out: str | None,
    save_profile: str | None,
    quiet: bool,
    engine: str | None,
    detectors: tuple[str, ...],
    thresholds: tuple[str, ...],
    min_effects: tuple[str, ...],
    correction: str | None,
    drift_share: float | None,
    critical: tuple[str, ...],
    calibrate_rows: int | None,
    show_progress: bool | None,
) -> None:
    """Test the batch CUR for drift against the reference REF (default: the serving model's).

    Each feature column gets the test configured in [drift] (KS for numeric,
    chi-squared for categorical by default); a p-value test flags a column when its
    corrected p-value is below the level and its effect size reaches [drift]
    min_effect. The batch drifts when any column does (or by --drift-share and
    --critical). Exit status 0: no drift (or columns drifted below the share, with a
    warning); 3: drift; 2: bad input or usage.
    """
    # Reading starts first, on a thread, with what the config cannot change for most runs, so
    # that pyarrow decodes the batch while pydantic, the config, the plugins and the profile load.
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arlequin-read-batch")
    ctx.call_on_close(lambda: reader.shutdown(wait=False, cancel_futures=True))  # on errors too
    early = _early_read(reader, current, engine, ctx.find_root().params.get("config_path"))
    from arlequin_core.drift.engines import check_uri
    from arlequin_core.drift.notes import annotate
    from arlequin_core.drift.options import policy_overrides
    from arlequin_core.drift.profile import Profile, is_profile_path
    from arlequin_core.io import read_table

    app = get_app(ctx)
    config = policy_overrides(
        app.config,
        detectors=detectors,
        thresholds=thresholds,
        min_effects=min_effects,
        correction=correction,
        drift_share=drift_share,
        critical=critical,
    )
    if calibrate_rows:
        config = config.model_copy(update={"drift": config.drift.model_copy(update={"calibrate_rows": calibrate_rows})})
    given_profile = reference is not None and is_profile_path(reference)
    if (detectors or calibrate_rows) and given_profile:
        raise click.UsageError(
            "--detector and --calibrate-rows need reference data: a saved profile keeps what it was fitted with "
            "(arlequin calibrate recalibrates one)"
        )
    fmt = config.data.format
    model_name = model_version = None
    # A batch read whole is read beside the reference (its file, profile or champion).
    keep = config.data.roles()
    whole = reads_whole(current, engine, config)
    batch = reader.submit(_settle, early, current, fmt, keep) if whole else None
    with progress.shown(progress.wanted(show_progress)):
        try:
            if reference is None:  # the serving model's reference, and the model itself for its estimated performance
                with phase("reading the champion's profile from MLflow"):
                    profile, model_name, model_version = _champion(config)
            elif given_profile:
                with phase(f"reading the profile {reference}"):
                    profile = Profile.load(reference, mapped=True)  # one-off process: no copy
            else:
                from arlequin_core.drift.calibrate import build_calibrated_profile

                with phase(f"reading {reference}"):
                    ref_table = read_table(reference, fmt, keep_index=keep, dictionary=True)
                with phase(f"fitting the reference ({ref_table.num_rows:,} rows)"):
                    profile = build_calibrated_profile(ref_table, config, app.registry, source=reference)
            if save_profile:
                profile.save(save_profile)
            with phase(f"checking {current}"):
                if batch is not None:
                    checked = check_uri(profile, current, config, app.registry, engine="memory", table=batch.result())
                else:
                    checked = check_uri(profile, current, config, app.registry, engine=engine)
        finally:
            reader.shutdown(wait=False, cancel_futures=True)
        report = checked.report
        if model_name is not None:
            from arlequin_core.serving import weigh_performance

            report.model_name, report.model_version = model_name, model_version
            with phase("estimating the champion's performance"):
                weigh_performance(report, profile, checked.sample, config, app.registry, model_name, model_version)
        annotate(report, profile, config, current)
        if json_out:
            path = Path(json_out)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(report.to_json() + "\n", encoding="utf-8")
        if html_out:
            from arlequin_core.drift.html import write_html

            with phase(f"drawing {html_out}"):
                write_html(report, profile, checked.plots, html_out)
    color = use_color()
    click.echo(verdict_line(report, color=color))
    for note in report.notes:  # even with --quiet: they say what the verdict does not cover
        click.echo(f"  note: {note}")
    if not quiet:
        click.echo(f"  engine: {report.engine}, {report.rows_cur:,} rows")
        for line in column_table(report, color=color):
            click.echo("  " + line)
        for line in _performance_lines(report):
            click.echo(line)
        for path, what in ((json_out, "JSON"), (html_out, "HTML"), (save_profile, "profile")):
            if path:
                click.echo(f"  {what}: {path}")
    if report.drifted:
        ctx.exit(EXIT_DRIFT)


def _early_read(
    reader: ThreadPoolExecutor, current: str, engine: str | None, config_path: str | None
) -> Future[Any] | None:
    """Start reading ``current`` before the config is loaded, when there is no config file: the
    defaults then decide the read (format ``auto``, no column kept from a pandas index, text as
    dictionaries, read whole when :func:`reads_whole` says so), so this is the read they ask for
    and nothing is read twice. None with a config file (which may set the format, the engine or
    a Spark master), for a batch not read whole (not a plain local file, larger than
    :data:`WHOLE_BATCH_MAX_BYTES`, ``--engine`` arrow or spark), or when it cannot be told.
    :func:`_settle` checks the read against the loaded config all the same.
    """
    from arlequin_core.config_file import find_config

    if engine not in (None, "auto", "memory") or ":" in current or find_config(config_path) is not None:
        return None
    try:
        if not os.path.isfile(current) or (engine != "memory" and os.stat(current).st_size > WHOLE_BATCH_MAX_BYTES):
            return None
    except OSError:
        return None
    from arlequin_core.io import read_table

    return reader.submit(read_table, current, "auto", dictionary=True)


def _settle(early: Future[Any] | None, current: str, fmt: str, keep: set[str]) -> Any:
    """The batch as the config asks for it: the early read when it is that read (format ``auto``,
    no pandas index column dropped that the config names, which stays data), else read again.
    An early read that failed is read again too, so the error comes from the read the config asks for.
    (Runs on the reader's single thread, after the early read.)"""
    from arlequin_core.io import dropped_index, read_table

    if early is not None and fmt == "auto":
        try:
            table = early.result()
        except Exception:
            table = None
        if table is not None and not keep & set(dropped_index(table)):
            return table
    return read_table(current, fmt, keep_index=keep, dictionary=True)


#: ``--engine auto``: a local batch of at most this many bytes on disk is read whole, beside
#: the reference, and checked in memory (the arrow engine streams larger ones).
WHOLE_BATCH_MAX_BYTES = 256 << 20


def reads_whole(current: str, engine: str | None, config: ArlequinConfig) -> bool:
    """Whether ``arlequin detect`` reads the batch ``current`` whole (memory engine), beside the reference.

    Yes with ``memory``; with ``auto``, for a local batch of at most :data:`WHOLE_BATCH_MAX_BYTES`
    when no ``[spark] master`` is set; never with ``arrow`` or ``spark``.
    """
    from arlequin_core.drift.engines import batch_bytes

    name = engine or config.drift.engine
    if name == "memory":
        return True
    if name != "auto" or config.spark.master or ("://" in current and not current.startswith("file://")):
        return False
    size = batch_bytes(current)
    return size is not None and size <= WHOLE_BATCH_MAX_BYTES


def verdict_line(report: DriftReport, color: bool = False) -> str:
    """``DRIFT: ...``, ``WARNING: columns drifted, below the policy's share: ...`` or ``no drift: ...``."""
    if report.status == "drift":
        return (f"{_RED_BOLD}DRIFT{_RESET}" if color else "DRIFT") + ": " + report.reason
    if report.status == "below share":
        return (f"{_YELLOW}WARNING{_RESET}" if color else "WARNING") + ": " + report.reason
    return report.reason


#: Column names longer than this are cut (with an ellipsis) in the table; ``--json`` has them whole.
NAME_MAX = 40
_HEADER = ("column", "detector", "score", "effect", "min", "verdict")
_RED_BOLD, _YELLOW, _RESET = "\x1b[1;31m", "\x1b[33m", "\x1b[0m"


def column_table(report: DriftReport, color: bool = False) -> list[str]:
    """One line per tested column: test, corrected p-value or distance, effect sizes, floor, verdict.

    Column widths fit the longest cell (names are cut at :data:`NAME_MAX` characters with
    an ellipsis), so the table stays aligned for any name. With ``color``, ``DRIFT`` is
    red and "significant, effect below min" yellow (ANSI; see :func:`use_color`).
    """
    rows = [_cells(result) for result in [*report.columns, *report.multivariate]]
    cut = [(_fit(row[0], NAME_MAX), *row[1:]) for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cut)]) for i, h in enumerate(_HEADER[:5])]

    def line(cells: tuple[str, ...], verdict: str, extra: str = "") -> str:
        padded = (c.rjust(w) if i == 4 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        left = " ".join(padded)
        if color and verdict.startswith("DRIFT"):
            verdict = f"{_RED_BOLD}{verdict}{_RESET}"
        elif color and verdict.startswith("significant"):
            verdict = f"{_YELLOW}{verdict}{_RESET}"
        return f"{left}  {verdict}{extra}".rstrip()

    return [line(_HEADER[:5], _HEADER[5]), *(line(row[:5], row[5], row[6]) for row in cut)]


def use_color(stream: Any = None) -> bool:
    """ANSI colors on ``stream`` (default stdout): a terminal, and ``NO_COLOR`` unset."""
    from arlequin_core.console import use_colors

    return use_colors(stream if stream is not None else sys.stdout)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cells(result: ColumnResult) -> tuple[str, str, str, str, str, str, str]:
    """``(column, detector, score, effect, min, verdict, notes)`` of one column's line."""
    if "skipped" in result.details and result.statistic is None:
        measure = "not tested"
    elif result.score_kind == "p_value" and result.p_value_adjusted is not None:
        measure = f"p={result.p_value_adjusted:.3g}"
    elif result.statistic is not None:
        measure = f"{result.statistic:.3g} (>= {result.threshold:g})"
    else:
        measure = "not testable"
    effects = result.effects
    if result.kind == "numeric" and "ks_d" in effects:
        effect = f"D={effects['ks_d']:.3f} W/sd={effects['wasserstein']:.3f}"
    elif "tv" in effects:
        effect = f"TV={effects['tv']:.3f} JS={effects['jensen_shannon']:.3f} V={effects['cramers_v']:.3f}"
    elif result.kind == "multivariate" and "effect" in result.details:
        effect = f"|dm|/sd={result.details['effect']:.3f}"
    else:
        effect = "-"
    floor = f"{result.min_effect:.3g}" if result.score_kind == "p_value" else "-"
    if result.drifted:
        verdict = "DRIFT" + (" (missing rate)" if result.missing_drifted and not result.distribution_drifted else "")
    elif (
        result.score_kind == "p_value"
        and result.p_value_adjusted is not None
        and result.p_value_adjusted < result.threshold
    ):
        verdict = "significant, effect below min"
    else:
        verdict = "no drift"
    extra = ""
    if result.missing_drifted:
        extra += f"  missing {100 * result.missing_ref:.1f}% -> {100 * result.missing_cur:.1f}%"
    unseen = result.details.get("unseen_categories")
    if unseen:
        extra += f"  {unseen} unseen categor{'y' if unseen == 1 else 'ies'}"
    return terminal_safe(result.column), result.detector, measure, effect, floor, verdict, extra


@click.command("calibrate")
@click.option("--profile", "-p", "profile_path", required=True, type=click.Path(dir_okay=False), help="A profile.")
@click.option("--reference", "-r", required=True, metavar="REF", help="The reference data the profile was fitted on.")
@click.option("--batch-rows", required=True, type=click.IntRange(min=1), help="Expected rows per batch.")
@click.option("--quantile", type=click.FloatRange(0.5, 1.0), default=None, help="Default [drift] calibrate_quantile.")
@click.option("--draws", type=click.IntRange(min=1), default=None, help="Default [drift] calibrate_draws.")
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None, help="Write here (default: in place).")
@click.pass_context
def calibrate_cmd(
    ctx: click.Context,
    profile_path: str,
    reference: str,
    batch_rows: int,
    quantile: float | None,
    draws: int | None,
    out: str | None,
) -> None:
    """Calibrate a profile's minimum effects on its reference for batches of BATCH_ROWS rows.

    Chunks of that many reference rows are compared with the reference; each column's
    minimum effect becomes the chosen quantile of their effects where that is above
    [drift] min_effect (see docs/detectors.md, "Calibration").
    """
    from arlequin_core.drift.calibrate import calibrate_profile
    from arlequin_core.drift.profile import Profile
    from arlequin_core.io import read_table

    drift = get_app(ctx).config.drift
    profile = Profile.load(profile_path)
    table = read_table(reference, get_app(ctx).config.data.format)
    calibrate_profile(
        profile,
        table,
        batch_rows,
        quantile=drift.calibrate_quantile if quantile is None else quantile,
        draws=drift.calibrate_draws if draws is None else draws,
        where=reference,
    )
    target = out or profile_path
    profile.save(target)
    for name, cp in profile.columns.items():
        if cp.calibration:
            click.echo(f"  {name:<20} {cp.kind:<12} calibrated min effect {cp.calibration['min_effect']:.4f}")
    click.echo(f"calibrated for batches of {batch_rows:,} rows: {target}")


def _champion(config: ArlequinConfig) -> tuple[Any, str, str]:
    """The champion's profile, name and version, or a usage error saying how to get one."""
    from arlequin_core.serving import champion_reference

    found = champion_reference(config)
    if found is None:
        raise click.UsageError(
            f"no --reference given and no champion model {config.mlflow.model_name!r} ([mlflow]) to measure "
            "against yet; train one with `arlequin train --data REFERENCE`, or pass --reference"
        )
    return found


def _performance_lines(report: Any) -> list[str]:
    """The estimated performance for a person's terminal (empty when none was computed)."""
    perf = report.performance or {}
    if "skipped" in perf:
        return [f"  estimated performance: none ({perf['skipped']})"]
    lines = []
    for metric, m in perf.get("metrics", {}).items():
        band = f"{m['lower']:.4f}-{m['upper']:.4f}"
        line = f"    {metric:<10} {m['estimated']:.4f}  band {band}  held-out {m['reference']:.4f}"
        if "realised" in m:
            line += f"  realised {m['realised']:.4f}"
        lines.append(line)
    if lines:
        scored = f"{perf.get('rows', 0):,} rows scored"
        lines.insert(
            0, f"  estimated performance of the champion (CBPE, {perf.get('calibration')} calibration, {scored}):"
        )
        if perf.get("reason"):
            lines.append(f"  {perf['reason']}")
    return lines

"""``arlequin detect``: test one batch against a reference, from the command line.

Exit status: 0 no drift, 3 drift, 2 bad usage or unreadable input (the message names
the file and the problem), 1 internal error.
"""

from __future__ import annotations

from pathlib import Path

import click

from arlequin_core.app import get_app
from arlequin_core.errors import EXIT_DRIFT


@click.command("detect")
@click.option(
    "--reference",
    "-r",
    "reference",
    required=True,
    metavar="REF",
    help="Reference data (Parquet, CSV, Spark directory, any fsspec URI) or a saved profile (.json).",
)
@click.option("--current", "-c", "current", required=True, metavar="CUR", help="The batch to test (Parquet or CSV).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Write the report as JSON.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None, help="Write the HTML report.")
@click.option(
    "--save-profile",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also save the fitted reference as a profile (.json) to reuse with --reference.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line.")
@click.option(
    "--engine",
    type=click.Choice(["auto", "memory", "arrow", "spark"]),
    default=None,
    help="What computes the statistics (default: [drift] engine): memory, arrow (streamed, bounded memory), "
    "spark (one pass on [spark] master), auto.",
)
@click.pass_context
def detect_cmd(
    ctx: click.Context,
    reference: str,
    current: str,
    json_out: str | None,
    html_out: str | None,
    save_profile: str | None,
    quiet: bool,
    engine: str | None,
) -> None:
    """Test the batch CUR for drift against the reference REF.

    Each feature column gets the test configured in [drift] (KS for numeric,
    chi-squared for categorical by default); the policy turns the results into one
    verdict. Exit status 0: no drift; 3: drift; 2: bad input or usage.
    """
    from arlequin_core.drift.engines import check_uri
    from arlequin_core.drift.profile import Profile, build_profile
    from arlequin_core.io import read_table

    app = get_app(ctx)
    config = app.config
    fmt = config.data.format
    if reference.lower().endswith(".json"):
        profile = Profile.load(reference)
    else:
        profile = build_profile(read_table(reference, fmt), config, app.registry, source=reference)
    if save_profile:
        profile.save(save_profile)
    checked = check_uri(profile, current, config, app.registry, engine=engine)
    report = checked.report
    if json_out:
        path = Path(json_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.to_json() + "\n", encoding="utf-8")
    if html_out:
        from arlequin_core.drift.html import write_html

        write_html(report, profile, checked.plots, html_out)
    click.echo(("DRIFT: " if report.drifted else "OK: ") + report.reason)
    if not quiet:
        click.echo(f"  engine: {report.engine}, {report.rows_cur:,} rows")
        for result in report.columns:
            if result.drifted:
                click.echo("  " + _line(result))
        for path, what in ((json_out, "JSON"), (html_out, "HTML"), (save_profile, "profile")):
            if path:
                click.echo(f"  {what}: {path}")
    if report.drifted:
        ctx.exit(EXIT_DRIFT)


def _line(result: object) -> str:
    from arlequin_core.drift.report import ColumnResult

    assert isinstance(result, ColumnResult)
    if result.score_kind == "p_value" and result.p_value is not None:
        measure = f"p={result.p_value_adjusted:.3g} < {result.threshold:g}"
    elif result.statistic is not None:
        measure = f"{result.statistic:.3g} >= {result.threshold:g}"
    else:
        measure = "not testable"
    text = f"{result.column:<20} {result.detector:<14} {measure}"
    if result.missing_drifted:
        text += f"  missing {100 * result.missing_ref:.1f}% -> {100 * result.missing_cur:.1f}%"
    unseen = result.details.get("unseen_categories")
    if unseen:
        text += f"  {unseen} unseen categor{'y' if unseen == 1 else 'ies'}"
    return text

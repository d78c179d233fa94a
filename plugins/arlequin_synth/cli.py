"""The ``arlequin generate`` command.

Heavy imports (numpy, pyarrow, scipy) happen when the command runs, not when the CLI
lists its commands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

EPILOG = """\b
Scenario spec: TIMING[:KEY=VALUE,...] joined with '+', or a .toml/.json file.
  timings: none, sudden, gradual, incremental, recurring
  timing keys: start, stop, duration, period, length, shape=square|sine
  drifts: amount_scale, amount_shift (also account_balance_*, distance_from_home_*),
          column=merchant_category|channel|country with category=X,factor=F
          or new_category=NAME,share=S[,like=X]; missing=COL|COL,missing_rate=R;
          concept=card_testing|account_takeover
\b
Examples:
  arlequin generate --out data/stream --reference data/reference.parquet \\
      --scenario sudden:amount_scale=1.5,start=3
  arlequin generate --out data/stream --batches 12 --interval 5 \\
      --scenario 'gradual:column=channel,category=mobile,factor=3+recurring:concept=card_testing'
See docs/generator.md.
"""


@click.command("generate", epilog=EPILOG)
@click.option("--out", required=True, help="Directory or fsspec URI (file://, memory://, hdfs://) for the batches.")
@click.option("--rows", type=click.IntRange(min=1), default=10_000, show_default=True, help="Rows per batch.")
@click.option("--batches", type=click.IntRange(min=1), default=10, show_default=True, help="Number of batches.")
@click.option("--scenario", default="none", show_default=True, help="Drift scenario spec or .toml/.json file.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="File format of the batches.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait between batches (live demos).",
)
@click.option("--reference", default=None, help="Also write an undrifted reference batch here, first (a file URI).")
@click.option(
    "--reference-rows",
    type=click.IntRange(min=1),
    default=None,
    help="Rows in the reference batch (default: --rows). Needs --reference.",
)
@click.option(
    "--start-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default="2024-01-01",
    show_default=True,
    help="UTC day of batch 0 (one batch per day).",
)
@click.option("--overwrite", is_flag=True, help="Replace batches and manifest left in --out by an earlier run.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal or long runs).")
def generate(
    out: str,
    rows: int,
    batches: int,
    scenario: str,
    seed: int,
    fmt: str,
    interval: float,
    reference: str | None,
    reference_rows: int | None,
    start_date: datetime,
    overwrite: bool,
    progress: bool | None,
) -> None:
    """Write synthetic bank transactions with known drift: batches plus manifest.json.

    Each batch is one day of card transactions (batch-00000.parquet, ...), written
    atomically. manifest.json records for every batch its scenario components, the
    columns that drift and by how much: the ground truth to test drift detection.
    """
    if reference_rows is not None and reference is None:
        raise click.BadParameter(
            "needs --reference (where to write the reference batch)", param_hint="--reference-rows"
        )
    from arlequin_synth.output import generate_batches, show_progress

    bar = show_progress(progress, batches, rows)

    def report(entry: dict[str, Any]) -> None:
        lines = [_line(entry)]
        if entry["index"] == 0 and reference is not None:  # it was written before batch 0
            lines.insert(0, f"reference: {reference} ({reference_rows or rows} rows, undrifted)")
        for line in lines:
            if bar:
                from tqdm import tqdm

                tqdm.write(line)  # above the bar, not through it
            else:
                click.echo(line)

    manifest = generate_batches(
        out,
        rows=rows,
        batches=batches,
        scenario=scenario,
        seed=seed,
        fmt=fmt,
        interval=interval,
        reference=reference,
        reference_rows=reference_rows,
        overwrite=overwrite,
        progress=bar,
        start_date=start_date.date(),
        on_batch=report,
    )
    drifted = sum(1 for b in manifest["batches"] if b["drifted_columns"] or b["concept_drift"])
    click.echo(
        f"wrote {batches} batches of {rows} rows to {out} ({drifted} drifted; scenario {manifest['scenario']}); "
        f"ground truth in {out.rstrip('/')}/manifest.json"
    )


def _line(entry: dict[str, Any]) -> str:
    parts = [f"{entry['file']}  {entry['day']}"]
    if entry["drifted_columns"]:
        effects = ", ".join(f"{c} {entry['effects'][c]:.3f}" for c in entry["drifted_columns"])
        parts.append(f"drifted: {effects}")
    if entry["concept_drift"]:
        rules = ", ".join(f"{r} {w:.2f}" for r, w in entry["concept_drift"]["rules"].items())
        parts.append(f"concept: {rules}")
    if len(parts) == 1:
        # Drifting, but by less than a sound test should flag: say so, not "no drift" (the
        # README's "gradually drifting" batch and the watcher's "no drift" then agree).
        below = [c for c in entry.get("affected_columns", []) if entry["effects"].get(c, 0.0) > 0.0]
        below.sort(key=lambda c: -entry["effects"][c])  # the largest first
        if below:
            effects = ", ".join(f"{c} {entry['effects'][c]:.3f}" for c in below[:3]) + (", ..." if below[3:] else "")
            parts.append(f"no detectable drift: drifting below the {entry['detectable_effect']:.3f} effect ({effects})")
        else:
            parts.append("no drift")
    return "  ".join(parts)

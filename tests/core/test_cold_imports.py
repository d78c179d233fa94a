"""A cold ``arlequin`` process imports only what its command uses.

Each command runs in a fresh interpreter (the real CLI, every installed plugin
enabled, no config file), which then writes the names in ``sys.modules`` to a file;
the test asserts on that list. ``arlequin --help``, ``arlequin detect --help`` and
``arlequin plugins`` must not import MLflow, Spark, river, SQLAlchemy or
``scipy.stats`` (seconds of start-up between them, issue 18); a check of two
Parquet files, which needs none of MLflow, SQLAlchemy, Spark or river, must not
import them either. A plugin's component modules are imported on first use only
(:func:`arlequin_core.registry.lazy`), so this also fails when an entry-point
module or a command module grows a heavy top-level import: move it into the
function that needs it.

``python -X importtime -c "from arlequin_core.cli import run; import sys;
sys.argv = ['arlequin', '--help']; run()"`` shows who imported what.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

#: Never imported by help and listing commands.
HEAVY = ("mlflow", "pyspark", "river", "sqlalchemy", "scipy.stats")
#: Never imported by a check of local Parquet files against a reference file.
NOT_FOR_DETECT = ("mlflow", "pyspark", "river", "sqlalchemy")
#: Nor scipy.stats, in KS's exact regime (up to 10,000 rows) or its asymptotic one (the
#: p-values from arlequin_stats.smirnov, numpy only for an effective n above 140).
NOT_FOR_SMALL_DETECT = (*NOT_FOR_DETECT, "scipy.stats")
#: Component modules of built-in plugins: imported when the component is used, not at start.
COMPONENT_MODULES = (
    "arlequin_river.value",
    "arlequin_river.error_rate",
    "arlequin_jenkins.sink",
    "arlequin_webhook.sink",
    "arlequin_metrics.exporter",
    "arlequin_retrain.sink",
    "arlequin_sklearn.trainer",
    "arlequin_spark.trainer",
    "arlequin_watch.local",
    "arlequin_watch.poll",
)

RUNNER = textwrap.dedent(
    """
    import json, sys
    from arlequin_core.cli import main

    out, args = sys.argv[1], sys.argv[2:]
    try:
        main.main(args, prog_name="arlequin", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code or 0
    else:
        code = 0
    with open(out, "w") as f:
        json.dump({"exit": code, "modules": sorted(sys.modules)}, f)
    """
)


def _run(args: list[str], cwd: Path) -> tuple[int, set[str], str]:
    out = cwd / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARLEQUIN_")}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(out), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.exists(), f"arlequin {' '.join(args)} did not finish:\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(out.read_text())
    out.unlink()
    return data["exit"], set(data["modules"]), proc.stdout + proc.stderr


def _imported(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


@pytest.mark.parametrize(
    ("args", "expect"),
    [(["--help"], "detect"), (["detect", "--help"], "--reference"), (["plugins"], "stats  [arlequin_stats.plugin]")],
    ids=["help", "detect-help", "plugins"],
)
def test_help_and_listing_import_no_heavy_library(tmp_path: Path, args: list[str], expect: str) -> None:
    code, modules, output = _run(args, tmp_path)
    assert code == 0 and expect in output, output  # it did run
    assert "arlequin_stats.plugin" in modules  # the plugins were loaded, by their entry points
    assert _imported(modules, HEAVY) == []
    assert [m for m in COMPONENT_MODULES if m in modules] == []
    if args != ["plugins"]:
        # The command list and a command's help need [plugins] disable only: no validated
        # config (pydantic), no logging set up (structlog), no command module but the one asked.
        assert _imported(modules, ("pydantic", "structlog")) == []
        assert "arlequin_core.training.cli" not in modules and "arlequin_watch.commands" not in modules
    else:
        assert _imported(modules, ("structlog",)) == []  # logging is set up, structlog imported at the first record


def test_detect_on_parquet_files_imports_no_mlflow_spark_river_or_sqlalchemy(tmp_path: Path) -> None:
    rng = np.random.default_rng(18)
    for name, shift in (("ref", 0.0), ("cur", 0.5)):
        n = 3_000
        table = pa.table(
            {
                "amount": rng.normal(shift, 1.0, n),
                "channel": rng.choice(["web", "shop", "phone"], n),
                "age": rng.integers(18, 90, n),
            }
        )
        pq.write_table(table, tmp_path / f"{name}.parquet")
    args = ["detect", "--reference", "ref.parquet", "--current", "cur.parquet", "--json", "report.json"]
    code, modules, output = _run(args, tmp_path)
    assert code == 3, output  # the shifted amount drifted: the check really ran
    report = json.loads((tmp_path / "report.json").read_text())
    assert "amount" in report["drifted_columns"]
    assert _imported(modules, NOT_FOR_SMALL_DETECT) == []
    assert "arlequin_stats.ks" in modules and "arlequin_stats.chi2" in modules
    assert "arlequin_river.value" not in modules


def test_detect_without_drift_in_the_asymptotic_regime_imports_no_scipy_stats(tmp_path: Path) -> None:
    # 20,000 rows a side: KS is asymptotic (effective n = 10,000) and, without drift,
    # n * d**2 < 2.2 for most columns: the Pelz-Good branch of kstwo.sf (issue 18).
    rng = np.random.default_rng(20)
    n = 20_000
    for name in ("ref", "cur"):
        table = pa.table(
            {
                "amount": rng.normal(0.0, 1.0, n),
                "score": rng.uniform(0.0, 1.0, n),
                "latency": rng.exponential(2.0, n),
                "channel": rng.choice(["web", "shop", "phone"], n),
                "age": rng.integers(18, 90, n),
            }
        )
        pq.write_table(table, tmp_path / f"{name}.parquet")
    args = ["detect", "--reference", "ref.parquet", "--current", "cur.parquet", "--json", "report.json"]
    code, modules, output = _run(args, tmp_path)
    assert code == 0, output  # no drift, and the check really ran
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["drifted_columns"] == []
    assert "arlequin_stats.ks" in modules
    assert _imported(modules, NOT_FOR_SMALL_DETECT) == []


#: Nor by a check of a Parquet batch against a saved profile (issue 18): pandas comes with
#: pyarrow.dataset (``pq.read_table``) and with pyarrow's to_numpy / pa.array / pa.scalar;
#: scipy.special with the chi-squared p-value; the calibration module with the fit; fsspec
#: (and the asyncio it imports) with a local batch file, which is read natively; the events
#: (the report's timestamp comes from arlequin_core.clock); pyarrow.compute (~0.05-0.1 s to
#: import, wrapping its hundreds of functions) with ListArray.flatten, Table.take, casts and
#: pc's kernels, replaced on this path by numpy over the Arrow buffers.
NOT_FOR_DETECT_FROM_PROFILE = (
    *NOT_FOR_SMALL_DETECT,
    "fsspec",
    "arlequin_core.events",
    "pandas",
    "scipy",
    "pyarrow.dataset",
    "pyarrow.compute",
    "arlequin_core.drift.calibrate",
)


def test_detect_from_a_saved_profile_imports_no_pandas_and_no_scipy(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    n = 20_000
    for name, shift in (("ref", 0.0), ("cur", 0.3)):
        amount = rng.normal(shift, 1.0, n)
        amount[rng.random(n) < 0.01] = np.nan
        table = pa.table(
            {
                "amount": amount,
                "score": rng.uniform(0.0, 1.0, n).astype(np.float32),
                "channel": rng.choice(["web", "shop", "phone"], n),
                "age": rng.integers(18, 90, n),
                "flag": rng.random(n) < 0.5,
            }
        )
        pq.write_table(table, tmp_path / f"{name}.parquet")
    code, _, output = _run(
        ["detect", "-r", "ref.parquet", "-c", "ref.parquet", "--save-profile", "ref.profile"], tmp_path
    )
    assert code == 0, output
    args = ["detect", "--reference", "ref.profile", "--current", "cur.parquet", "--json", "report.json"]
    code, modules, output = _run(args, tmp_path)
    assert code == 3, output  # the shifted amount drifted: the check really ran
    report = json.loads((tmp_path / "report.json").read_text())
    assert "amount" in report["drifted_columns"]
    assert "arlequin_stats.chi2" in modules and "arlequin_core.drift.multivariate" in modules
    assert _imported(modules, NOT_FOR_DETECT_FROM_PROFILE) == []
    assert _imported(modules, ("structlog", "rich")) == []  # nothing was logged


def test_the_policy_and_the_batch_detectors_import_no_scipy_stats() -> None:
    modules = (
        "arlequin_core.drift.policy",
        "arlequin_core.drift.check",
        *(f"arlequin_stats.{m}" for m in ("ks", "chi2", "kl", "psi", "jensen_shannon", "wasserstein")),
    )
    code = f"import sys, {', '.join(modules)}; print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr

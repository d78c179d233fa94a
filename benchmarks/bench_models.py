"""Benchmark: a gradient-boosted retrain on 1M rows, and the cost of the paired test.

Prints, for the same generated data (bench_train.generate: 6 numeric, 4 categorical
features) and in the same process:

* baseline: a bare ``fit`` of the same scikit-learn pipeline ending in
  ``HistGradientBoostingClassifier``, on an in-memory frame of as many rows as the
  trainer fits on (80%);
* ``retrain`` end to end with ``trainer = "sklearn"`` and that estimator: read,
  label, split, fit, held-out metrics, model save (skops), drift profile, MLflow run,
  model logging and registration (the first model: no validation);
* the same again with a champion to validate against (adds loading both models,
  scoring the held-out rows and DeLong's test on them);
* DeLong's test on ``--heldout`` rows (goal: under 1 s for 200k), next to its
  baseline: two ``sklearn.metrics.roc_auc_score`` calls on the same rows;
* the seeded paired bootstrap (``--resamples``) of log loss on the same rows, next to
  two ``sklearn.metrics.log_loss`` calls.

Each figure comes with the ratio to its baseline. The machine may be shared: run it
alone for the record::

    python benchmarks/bench_models.py [--rows 1000000] [--heldout 200000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import generate, timed

ESTIMATOR = "sklearn.ensemble:HistGradientBoostingClassifier"
PARAMS = {"max_iter": 100, "random_state": 0}
DELONG_GOAL = 1.0


def bench_retrain(rows: int, work: Path) -> None:
    import pyarrow as pa

    from arlequin_core.app import App
    from arlequin_core.config import ArlequinConfig
    from arlequin_core.training.features import FeatureSpec
    from arlequin_core.training.flow import retrain
    from arlequin_core.training.tracking import MLFLOW_LOCK, Tracking
    from arlequin_sklearn.trainer import build_pipeline, model_input

    frame = generate(rows)
    data = work / "batch.parquet"
    frame.to_parquet(data, index=False)
    print(f"rows: {rows:,}  features: 6 numeric, 4 categorical  estimator: {ESTIMATOR} {PARAMS}")

    fit_rows = int(rows * 0.8)
    features = FeatureSpec(tuple(f"n{i}" for i in range(6)), tuple(f"c{i}" for i in range(4)))
    x = model_input(pa.Table.from_pandas(frame.iloc[:fit_rows]), features)
    y = frame["y"].to_numpy()[:fit_rows]
    build_pipeline(features, PARAMS, ESTIMATOR).fit(x.iloc[:20_000], y[:20_000])  # warm up imports and threads
    _, baseline = timed(
        f"baseline: bare fit, same pipeline + HGB, {fit_rows:,} rows in memory",
        lambda: build_pipeline(features, PARAMS, ESTIMATOR).fit(x, y),
    )

    config = ArlequinConfig.model_validate(
        {
            "arlequin": {"home": str(work / ".arlequin"), "journal_fsync": False},
            "data": {"label": "y"},
            "training": {"trainer": "sklearn", "estimator": ESTIMATOR, "params": PARAMS},
        }
    )
    with App(config) as app:
        app.registry  # noqa: B018 - load plugins outside the timings
        tracking = Tracking.from_config(config)
        with MLFLOW_LOCK:
            tracking.experiment_id(tracking.client())  # the store exists, as for every retrain but the first
        first, _ = timed(
            "retrain end to end (train+profile+save+log+register)", lambda: retrain(app, [str(data)]), baseline
        )
        second, _ = timed(
            "retrain again, validated against the champion (DeLong)", lambda: retrain(app, [str(data)]), baseline
        )
    print(f"versions: {first.version} (promoted={first.promoted}), {second.version}: {second.reason}")


def bench_paired(rows: int, resamples: int) -> None:
    from sklearn import metrics as skm

    from arlequin_core.training.paired import compare_paired

    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.3).astype(np.int64)
    common = rng.normal(0, 1, rows) + 1.2 * y
    a = 1 / (1 + np.exp(-(common + rng.normal(0, 0.5, rows))))
    b = 1 / (1 + np.exp(-(common + rng.normal(0, 0.6, rows))))
    compare_paired("roc_auc", y[:1000], a[:1000], b[:1000])  # warm up imports
    print(f"\npaired test on {rows:,} held-out rows")
    _, base = timed(
        "baseline: roc_auc_score of both models", lambda: (skm.roc_auc_score(y, a), skm.roc_auc_score(y, b))
    )
    result, seconds = timed(
        "DeLong's test (AUCs, variance, interval, p)", lambda: compare_paired("roc_auc", y, a, b), base
    )
    verdict = "OK" if seconds < DELONG_GOAL else "OVER GOAL"
    print(f"goal: DeLong on {rows:,} rows < {DELONG_GOAL:.0f} s: {seconds:.3f} s ({verdict}); {_shown(result)}")
    _, base = timed("baseline: log_loss of both models", lambda: (skm.log_loss(y, a), skm.log_loss(y, b)))
    result, _ = timed(
        f"paired bootstrap of log_loss, {resamples} resamples",
        lambda: compare_paired("log_loss", y, a, b, resamples=resamples, seed=0),
        base,
    )
    print(f"  {_shown(result)}")


def _shown(c) -> str:
    return f"difference {c.difference:+.5f} [{c.low:+.5f}, {c.high:+.5f}] p={c.p_value:.3g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--heldout", type=int, default=200_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--no-retrain", action="store_true", help="only the paired test")
    args = parser.parse_args()

    from arlequin_core.logs import configure_logging

    configure_logging("console", "warning")
    work = Path(tempfile.mkdtemp(prefix="arlequin-bench-models-"))
    try:
        if not args.no_retrain:
            bench_retrain(args.rows, work)
        bench_paired(args.heldout, args.resamples)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

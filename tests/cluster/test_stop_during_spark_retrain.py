"""Stopping ``arlequin watch`` while its retrain sink runs a Spark job.

The retrain runs in the sink's worker thread, inside a py4j call that waits for the JVM.
Stopping the watcher must cancel that Spark job, let the thread finish, and exit with a
clean code; the drifted batch's retrain stays pending for the next start (nothing lost).
Before the fix the interpreter finalised with the thread still in py4j and the process
died with ``Fatal Python error: PyGILState_Release``.

The watcher polls a landing directory on the run's real HDFS (hdfs-native in the
watcher, Hadoop's client in Spark's JVM), as in ``make cluster-demo``.

The slow part is a real Spark job: ``[training] estimator`` names a pyspark.ml
LogisticRegression whose fit first runs a job that sleeps in a Python worker, so the
retrain is reliably still running when the watcher is stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ARLEQUIN = str(Path(sys.executable).parent / "arlequin")
#: Guards against hanging, not timing assertions.
HANG_GUARD = 600

SLOW_ESTIMATOR = '''
import os
import time

from pyspark.ml.classification import LogisticRegression


def _sleep(_):
    time.sleep(3600)
    return 0


class SleepyLogisticRegression(LogisticRegression):
    """Runs a Spark job that sleeps before fitting: a retrain that is still running when stopped."""

    def _fit(self, dataset):
        sc = dataset.sparkSession.sparkContext
        marker = os.environ["SLEEPY_MARKER"]
        with open(marker, "w") as out:
            out.write("fitting")
        sc.parallelize([0], 1).map(_sleep).collect()
        return super()._fit(dataset)
'''


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n) + shift, rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x1 - x2)))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


def _config(path: Path, trainer: str, landing: str) -> Path:
    estimator = 'estimator = "sleepy:SleepyLogisticRegression"' if trainer == "spark" else ""
    path.write_text(
        textwrap.dedent(
            f"""
            [arlequin]
            home = "{path.parent / ".arlequin"}"
            [mlflow]
            tracking_uri = "sqlite:///{path.parent / "mlflow.db"}"
            [data]
            label = "y"
            [spark]
            master = "local[1]"
            conf = {{ "spark.ui.enabled" = false, "spark.sql.shuffle.partitions" = 1 }}
            [training]
            trainer = "{trainer}"
            {estimator}
            [watch]
            drain_timeout = 30
            [sources.landing]
            type = "poll"
            uri = "{landing}"
            interval = 1
            """
        )
    )
    return path


def _env(config: Path, marker: Path, code_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ARLEQUIN_CONFIG": str(config),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(code_dir), os.environ.get("PYTHONPATH")])),
        "SLEEPY_MARKER": str(marker),
    }


def test_stopping_the_watcher_during_a_spark_retrain_cancels_it_and_exits_cleanly(
    hdfs_dir: str, isolated: Path
) -> None:
    from arlequin_core.io import filesystem, write_table_atomic

    code_dir = isolated / "code"
    code_dir.mkdir()
    (code_dir / "sleepy.py").write_text(SLOW_ESTIMATOR)
    landing = f"{hdfs_dir}/landing"
    fs, path = filesystem(landing)
    fs.makedirs(path, exist_ok=True)
    marker = isolated / "fitting"
    reference = f"{hdfs_dir}/reference.parquet"
    write_table_atomic(pa.Table.from_pandas(_frame(2000, seed=1), preserve_index=False), reference)

    # The first champion: scikit-learn (quick); the watcher retrains with the sleepy Spark estimator.
    first = _config(isolated / "first.toml", "sklearn", landing)
    env = _env(first, marker, code_dir)
    trained = subprocess.run(
        [ARLEQUIN, "train", "--data", reference], capture_output=True, text=True, timeout=HANG_GUARD, env=env
    )
    assert trained.returncode == 0, trained.stderr[-3000:]

    config = _config(isolated / "arlequin.toml", "spark", landing)
    env = _env(config, marker, code_dir)
    log = isolated / "watch.log"
    with open(log, "w") as out:
        watcher = subprocess.Popen(
            [ARLEQUIN, "--log-format", "json", "watch"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + HANG_GUARD
        while '"watching"' not in log.read_text() and time.monotonic() < deadline and watcher.poll() is None:
            time.sleep(0.3)
        batch = pa.Table.from_pandas(_frame(2000, seed=2, shift=3.0), preserve_index=False)
        write_table_atomic(batch, f"{landing}/batch-1.parquet")
        while not marker.exists() and time.monotonic() < deadline and watcher.poll() is None:
            time.sleep(0.3)
        assert marker.exists(), log.read_text()[-4000:]
        time.sleep(2)  # the sleeping task is running on the executor
        watcher.send_signal(signal.SIGTERM)
        code = watcher.wait(HANG_GUARD)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    text = log.read_text()
    assert "Fatal Python error" not in text, text[-4000:]
    assert '"sink_thread_still_running"' not in text, text[-4000:]  # nothing left inside Spark at exit
    assert code == 0, text[-4000:]
    assert "watcher stopped cleanly" in text
    assert '"sink_delivery_interrupted"' in text, text[-4000:]
    assert "sink-failed" not in text  # interrupted, not failed: the retrain is still owed

    # Nothing lost: the retrain is still pending (the next start takes it up), not a dead letter.
    from arlequin_core.sinks.store import STORE_NAME, DeliveryStore

    store = DeliveryStore(isolated / ".arlequin" / STORE_NAME)
    assert store.has_pending("retrain"), store.counts("retrain")
    assert not store.letters("retrain", state="dead")

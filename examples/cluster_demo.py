"""`make cluster-demo`: the closed loop on a real cluster, every process on loopback.

1. start a real HDFS (Hadoop's MiniDFSCluster), a Spark standalone Master and Worker
   (pyspark's spark-class) and a real `mlflow server`;
2. a Spark job writes the reference to HDFS; `arlequin train` trains the first champion
   on the Spark cluster, reading hdfs://, and registers it in the MLflow server;
3. `arlequin watch` polls an hdfs:// landing directory every second;
4. Spark jobs land a clean batch and a drifted batch (part files under _temporary,
   then _SUCCESS); the verdicts, the retrain on Spark and the promotion are shown;
5. everything this script started is stopped, and it checks that no process is left.

Everything local lives under cluster-demo/ (deleted at the start); the script exits
non-zero if any step fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cluster"))

from localcluster import MiniHdfs, MlflowServer, SparkStandalone  # noqa: E402

from arlequin_core.events import (  # noqa: E402
    BatchChecked,
    BatchRejected,
    Event,
    ModelRegistered,
    SinkDelivered,
    SinkFailed,
)
from arlequin_core.journal import read_journal  # noqa: E402

DEMO = ROOT / "cluster-demo"
ARLEQUIN = str(Path(sys.executable).parent / "arlequin")
SCENARIO = "sudden:amount_scale=1.8,concept=card_testing,start=1"
ROWS = 10_000
#: Seconds to wait for a step: a retrain on one worker core of a busy 2-core machine took over 10 minutes.
TIMEOUT = 1800.0

CONFIG = """\
# Written by examples/cluster_demo.py for this run's loopback ports.
[arlequin]
home = "{home}"

[data]
label = "is_fraud"
timestamp = "timestamp"
exclude = ["transaction_id"]

[drift]
# The watcher checks these batches itself (Arrow); the worker's one core is for Spark jobs.
engine = "arrow"
correction = "holm"
drift_share = 0.3
critical = ["amount", "merchant_category"]

[mlflow]
tracking_uri = "{mlflow}"

[spark]
master = "{master}"

[training]
trainer = "spark-logreg"
params = {{ maxIter = 10 }}
metric = "roc_auc"
tolerance = 0.01
window = 1

[sources.lake]
type = "poll"
uri = "{landing}"
interval = 1
"""

SPARK_WRITE = """
import sys
from pyspark.sql import SparkSession
master, source, target = sys.argv[1:4]
spark = SparkSession.builder.master(master).appName("producer").config("spark.ui.enabled", "false").getOrCreate()
spark.read.parquet(source).repartition(2).write.parquet(target)
spark.stop()
"""


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def env(config: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ARLEQUIN_CONFIG": str(config),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }


def arlequin(config: Path, *args: str) -> None:
    print(f"$ arlequin {' '.join(args)}", flush=True)
    subprocess.run([ARLEQUIN, "--log-format", "console", *args], check=True, cwd=ROOT, env=env(config))


def spark_write(config: Path, master: str, source: Path, target: str) -> None:
    """A Spark job on the cluster writes ``source`` to ``target`` (_temporary, part files, _SUCCESS)."""
    print(f"spark job: {source.relative_to(ROOT)} -> {target}", flush=True)
    script = DEMO / "spark_write.py"
    script.write_text(SPARK_WRITE)
    log = DEMO / "spark-producer.log"
    with open(log, "a") as out:
        code = subprocess.run(
            [sys.executable, str(script), master, str(source), target], env=env(config), stdout=out, stderr=out
        ).returncode
    if code != 0:
        raise SystemExit(f"cluster-demo: the Spark job failed ({code}); see {log}")


def events() -> list[Event]:
    return list(read_journal(DEMO / ".arlequin" / "journal.jsonl"))


def wait_for(what: str, found, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.3)
    raise SystemExit(f"cluster-demo: timed out after {timeout:.0f}s waiting for {what}; see {DEMO / 'watch.log'}")


def verdict_on(uri: str) -> BatchChecked | BatchRejected:
    def find():
        return next((e for e in events() if isinstance(e, (BatchChecked, BatchRejected)) and e.uri == uri), None)

    event = wait_for(f"the verdict on {uri}", find)
    if isinstance(event, BatchRejected):
        raise SystemExit(f"cluster-demo: {uri} was rejected: {event.reason}")
    state = "DRIFT" if event.drifted else "no drift"
    print(
        f"verdict: {state}; drift share {event.drift_share:.0%}; drifted columns: "
        f"{', '.join(event.drifted_columns) or 'none'}; measured against model version {event.model_version}",
        flush=True,
    )
    return event


def wait_retrain(batch_id: str) -> None:
    def done():
        return next(
            (e for e in events() if isinstance(e, (SinkDelivered, SinkFailed)) and e.batch_id == batch_id), None
        )

    outcome = wait_for("the retrain on Spark", done)
    if isinstance(outcome, SinkFailed):
        raise SystemExit(f"cluster-demo: the retrain failed: {outcome.error}")
    latest = [e for e in events() if isinstance(e, ModelRegistered)][-1]
    verdict = "promoted to champion" if latest.promoted else "rejected"
    print(f"retrain on Spark: version {latest.model_version}, {verdict}: {latest.reason}", flush=True)


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(120)


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    hdfs, spark, mlflow = MiniHdfs(DEMO / "hdfs"), SparkStandalone(DEMO / "spark"), MlflowServer(DEMO / "mlflow")
    pids: list[int] = []
    watcher: subprocess.Popen | None = None
    code = 1
    try:
        say("1. Start HDFS (MiniDFSCluster), a Spark standalone master + worker, and an MLflow server")
        hdfs.start()
        print(f"HDFS:   {hdfs.rpc} (WebHDFS {hdfs.http})", flush=True)
        spark.start()
        print(f"Spark:  {spark.master} (UI {spark.ui})", flush=True)
        mlflow.start()
        print(f"MLflow: {mlflow.url}", flush=True)
        pids = [hdfs.process.pid, *(p.pid for p in spark.processes), mlflow.process.pid]  # type: ignore[union-attr]
        landing = f"{hdfs.rpc}/landing/transactions"
        config = DEMO / "arlequin.toml"
        config.write_text(
            CONFIG.format(home=DEMO / ".arlequin", mlflow=mlflow.url, master=spark.master, landing=landing)
        )

        say("2. Generate the data; a Spark job writes the reference to HDFS; train the champion on Spark")
        arlequin(
            config, "generate", "--out", str(DEMO / "staging"), "--reference", str(DEMO / "reference.parquet"),
            "--rows", str(ROWS), "--batches", "2", "--scenario", SCENARIO, "--seed", "7", "--no-progress",
        )  # fmt: skip
        reference = f"{hdfs.rpc}/warehouse/reference"
        spark_write(config, spark.master, DEMO / "reference.parquet", reference)
        arlequin(config, "train", "--data", reference)

        say(f"3. Start the watcher on {landing} (poll every second)")
        from arlequin_core.io import filesystem

        fs, path = filesystem(landing)
        fs.makedirs(path, exist_ok=True)
        log = open(DEMO / "watch.log", "w")  # noqa: SIM115 - the daemon writes it until the end
        watcher = subprocess.Popen(
            [ARLEQUIN, "--log-format", "json", "watch"], cwd=ROOT, env=env(config), stdout=log, stderr=subprocess.STDOUT
        )
        wait_for("the watcher to start", lambda: '"watching"' in (DEMO / "watch.log").read_text(), 120)
        print(f"watching (pid {watcher.pid}); its log: {(DEMO / 'watch.log').relative_to(ROOT)}", flush=True)

        say("4. Spark jobs land a clean batch, then a drifted one")
        for i in range(2):
            target = f"{landing}/day-{i}"
            spark_write(config, spark.master, DEMO / "staging" / f"batch-0000{i}.parquet", target)
            event = verdict_on(target)
            if event.drifted:
                wait_retrain(event.batch_id)

        say("5. The models and the lineage")
        arlequin(config, "models")
        arlequin(config, "status", "--events", "0")
        code = stop(watcher)
        watcher = None
        log.close()
        print(f"watcher stopped (exit {code})", flush=True)
        print(f"\nMLflow UI (while it runs): {mlflow.url}; afterwards:", flush=True)
        print(
            f"  {Path(sys.executable).parent / 'mlflow'} ui --backend-store-uri sqlite:///{mlflow.root / 'mlflow.db'}"
        )
    finally:
        say("6. Stop everything")
        if watcher is not None:
            stop(watcher)
        mlflow.stop()
        spark.stop()
        hdfs.stop()
        left = [pid for pid in pids if _alive(pid)]
        print(f"stopped HDFS, Spark master + worker, MLflow server; processes left: {left or 'none'}", flush=True)
        if left:
            code = 1
    print(f"\ncluster-demo finished in {time.monotonic() - started:.0f}s", flush=True)
    return code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie we have not reaped is gone for every purpose but the process table.
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


if __name__ == "__main__":
    sys.exit(main())

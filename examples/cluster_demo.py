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

from localcluster import LEAN_JVM, MiniHdfs, MlflowServer, SparkStandalone  # noqa: E402

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
# The watcher checks these 10k-row batches itself (Arrow); Spark scores them with the champion and retrains.
engine = "arrow"
correction = "holm"
drift_share = 0.3
critical = ["amount", "merchant_category"]
# No estimate of the champion's performance per batch here (`make demo` shows it): with a Spark
# champion it loads and scores the model in the watcher's own Spark application, minutes per
# batch on a busy 2-core machine. The retrain still validates on Spark.
performance = false

[mlflow]
tracking_uri = "{mlflow}"

[spark]
master = "{master}"
# One core per application: the watcher's session (it scores batches with the Spark champion
# and retrains) and the producer's share the worker's two cores. Few partitions: 10k rows.

[spark.conf]
"spark.cores.max" = 1
"spark.executor.memory" = "512m"
"spark.sql.shuffle.partitions" = 2
"spark.default.parallelism" = 2
"spark.ui.enabled" = false
"spark.ui.showConsoleProgress" = false
"spark.sql.execution.arrow.pyspark.enabled" = true
"spark.driver.extraJavaOptions" = "{lean_jvm}"
"spark.executor.extraJavaOptions" = "{lean_jvm}"

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

#: The producer: one Spark application for the whole demo (a JVM start per batch costs a minute
#: on a busy machine). Reads "SOURCE TARGET" lines, answers "done" or "failed: ..." per line.
SPARK_PRODUCER = """
import sys
from pyspark.sql import SparkSession
spark = (
    SparkSession.builder.master(sys.argv[1]).appName("producer")
    .config("spark.cores.max", "1").config("spark.executor.memory", "512m")
    .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    .config("spark.driver.extraJavaOptions", sys.argv[2]).config("spark.executor.extraJavaOptions", sys.argv[2])
    .getOrCreate()
)
print("ready", flush=True)
for line in sys.stdin:
    source, target = line.split()
    try:
        spark.read.parquet(source).repartition(2).write.parquet(target)
        print("done", flush=True)
    except Exception as exc:
        print("failed: " + str(exc).splitlines()[0], flush=True)
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


class Producer:
    """A Spark application on the cluster that copies Parquet files to HDFS, one job per request."""

    def __init__(self, config: Path, master: str) -> None:
        script = DEMO / "spark_producer.py"
        script.write_text(SPARK_PRODUCER)
        self.log = DEMO / "spark-producer.log"
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(script), master, " ".join(LEAN_JVM)],
                env=env(config),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=out,
                text=True,
                start_new_session=True,  # its group (with its driver JVM) is checked at the end
            )
        self._answer("its Spark session")

    def _answer(self, what: str) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line or line.startswith("failed"):
            raise SystemExit(f"cluster-demo: the Spark producer failed on {what}: {line or 'exited'}; see {self.log}")
        return line

    def write(self, source: Path, target: str) -> None:
        """A Spark job writes ``source`` to ``target`` (_temporary, part files, then _SUCCESS)."""
        print(f"spark job: {source.relative_to(ROOT)} -> {target}", flush=True)
        assert self.process.stdin is not None
        self.process.stdin.write(f"{source} {target}\n")
        self.process.stdin.flush()
        self._answer(target)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


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
    hdfs, mlflow = MiniHdfs(DEMO / "hdfs"), MlflowServer(DEMO / "mlflow")
    # Two cores: the producer's application and the watcher's (or `arlequin train`'s) run side by side.
    spark = SparkStandalone(DEMO / "spark", cores=2, memory="2g")
    groups: list[int] = []  # every process this script starts leads a process group of its own
    watcher: subprocess.Popen | None = None
    producer: Producer | None = None
    code = 1
    try:
        say("1. Start HDFS (MiniDFSCluster), a Spark standalone master + worker, and an MLflow server")
        # One after the other, from this thread: a child's parent-death signal fires when the
        # *thread* that started it ends (a thread pool's workers would take the cluster with them).
        hdfs.start()
        spark.start()
        mlflow.start()
        groups += [hdfs.process.pid, *(p.pid for p in spark.processes), mlflow.process.pid]  # type: ignore[union-attr]
        print(f"HDFS:   {hdfs.rpc} (WebHDFS {hdfs.http})", flush=True)
        print(f"Spark:  {spark.master} (UI {spark.ui})", flush=True)
        print(f"MLflow: {mlflow.url}", flush=True)
        landing = f"{hdfs.rpc}/landing/transactions"
        config = DEMO / "arlequin.toml"
        config.write_text(
            CONFIG.format(
                home=DEMO / ".arlequin",
                mlflow=mlflow.url,
                master=spark.master,
                landing=landing,
                lean_jvm=" ".join(LEAN_JVM),
            )
        )
        lap(started)

        say("2. Generate the data; a Spark job writes the reference to HDFS; train the champion on Spark")
        step = time.monotonic()
        arlequin(
            config, "generate", "--out", str(DEMO / "staging"), "--reference", str(DEMO / "reference.parquet"),
            "--rows", str(ROWS), "--batches", "2", "--scenario", SCENARIO, "--seed", "7", "--no-progress",
        )  # fmt: skip
        producer = Producer(config, spark.master)
        groups.append(producer.process.pid)
        reference = f"{hdfs.rpc}/warehouse/reference"
        producer.write(DEMO / "reference.parquet", reference)
        arlequin(config, "train", "--data", reference)
        lap(step)

        say(f"3. Start the watcher on {landing} (poll every second)")
        from arlequin_core.io import filesystem

        fs, path = filesystem(landing)
        fs.makedirs(path, exist_ok=True)
        log = open(DEMO / "watch.log", "w")  # noqa: SIM115 - the daemon writes it until the end
        watcher = subprocess.Popen(
            [ARLEQUIN, "--log-format", "json", "watch"],
            cwd=ROOT,
            env=env(config),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        groups.append(watcher.pid)
        wait_for("the watcher to start", lambda: '"watching"' in (DEMO / "watch.log").read_text(), 120)
        print(f"watching (pid {watcher.pid}); its log: {(DEMO / 'watch.log').relative_to(ROOT)}", flush=True)

        say("4. Spark jobs land a clean batch, then a drifted one")
        for i in range(2):
            step = time.monotonic()
            target = f"{landing}/day-{i}"
            producer.write(DEMO / "staging" / f"batch-0000{i}.parquet", target)
            landed = time.monotonic()
            event = verdict_on(target)
            print(f"  (verdict {time.monotonic() - landed:.1f}s after _SUCCESS)", flush=True)
            if event.drifted:
                wait_retrain(event.batch_id)
            lap(step)
        producer.stop()

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
        if producer is not None:
            producer.stop()
        mlflow.stop()
        spark.stop()
        hdfs.stop()
        left = _left(groups)
        print(
            "stopped the watcher, the producer, MLflow server, Spark master + worker, HDFS; "
            f"processes left: {', '.join(left) or 'none'}",
            flush=True,
        )
        if left:
            code = 1
    print(f"\ncluster-demo finished in {time.monotonic() - started:.0f}s (exit {code})", flush=True)
    return code


def lap(since: float) -> None:
    print(f"  ({time.monotonic() - since:.0f}s)", flush=True)


def _left(groups: list[int]) -> list[str]:
    """``PID command`` of every live process in the process groups this script started."""
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            state, pgid = fields[0], int(fields[2])
            if pgid in groups and state != "Z":
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                left.append(f"{entry.name} {command[:100]}")
        except (OSError, IndexError, ValueError):
            continue
    return left


if __name__ == "__main__":
    sys.exit(main())

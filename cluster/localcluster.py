"""A real cluster on loopback for tests, ``make cluster-demo`` and the benchmarks.

Three kinds of process, each started on free 127.0.0.1 ports and stopped by its own PID:

* :class:`MiniHdfs`: Hadoop's ``MiniDFSCluster`` (a real NameNode with RPC and WebHDFS,
  one DataNode, permissions enforced) run by ``cluster/MiniHdfs.java`` from the
  ``org.apache.hadoop:hadoop-client-minicluster`` jars of the Hadoop version pyspark
  bundles, fetched from Maven Central by :func:`fetch` into a cache outside the tree
  (``$ARLEQUIN_CLUSTER_CACHE``, default ``~/.cache/arlequin``);
* :class:`SparkStandalone`: a standalone Master and one Worker started with pyspark's
  own ``bin/spark-class``;
* :class:`MlflowServer`: a real ``mlflow server`` on a SQLite store.

Every child runs under ``setpriv --pdeathsig TERM`` (SIGTERM when its parent dies) and
MiniHdfs also exits when its stdin closes, so a crashed test run leaves no JVM behind.

``python cluster/localcluster.py fetch`` fetches and compiles (what ``make hadoop-jars`` runs);
``python cluster/localcluster.py hdfs`` runs an HDFS until Ctrl-C and prints its URIs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LAUNCHER = HERE / "MiniHdfs.java"
STARTUP_SECONDS = 180.0
#: Seconds between Hadoop metrics snapshots; JMX shows values at most this old.
METRICS_PERIOD = 1
#: JVM options for these small, short-lived loopback JVMs on a shared machine: one GC thread,
#: and the quick (C1) JIT only; the optimising compiler's threads cost more CPU than they win here.
LEAN_JVM = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


class ClusterError(RuntimeError):
    """A local cluster process could not be fetched, started or stopped."""


# -- fetching ------------------------------------------------------------------------


def pyspark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def hadoop_version() -> str:
    """The Hadoop version of the client jars inside pyspark (``hadoop-client-api-X.jar``)."""
    for jar in sorted((pyspark_home() / "jars").glob("hadoop-client-api-*.jar")):
        match = re.fullmatch(r"hadoop-client-api-(.+)\.jar", jar.name)
        if match:
            return match.group(1)
    raise ClusterError(f"no hadoop-client-api-*.jar in {pyspark_home() / 'jars'}: cannot tell pyspark's Hadoop version")


def cache_dir(version: str | None = None) -> Path:
    root = Path(os.environ.get("ARLEQUIN_CLUSTER_CACHE") or Path.home() / ".cache" / "arlequin")
    return root / f"hadoop-{version or hadoop_version()}"


def fetched(version: str | None = None) -> Path | None:
    """The cache directory when the jars and the compiled launcher are there and current."""
    cache = cache_dir(version)
    stamp = cache / ".fetched"
    try:
        text = stamp.read_text().split()
    except OSError:
        return None
    # Recompile only when the launcher's source changed (the text, not its mtime: a fresh clone).
    if text == [version or hadoop_version(), f"metrics{METRICS_PERIOD}", _digest(LAUNCHER)]:
        return cache
    return None


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise ClusterError(f"{tool} is not on PATH; Java 17 (java, javac) and Maven (mvn) are required for HDFS")
    return found


def fetch(quiet: bool = True) -> Path:
    """Fetch ``hadoop-client-minicluster`` (and its dependencies) with Maven and compile the launcher.

    Idempotent and quick when already done. Returns the cache directory.
    """
    version = hadoop_version()
    done = fetched(version)
    if done is not None:
        return done
    cache = cache_dir(version)
    jars, classes = cache / "jars", cache / "classes"
    cache.mkdir(parents=True, exist_ok=True)
    mvn = [
        _need("mvn"),
        *(["-q"] if quiet else []),
        "-B",
        "-f",
        str(POM),
        f"-Dhadoop.version={version}",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={jars}",
    ]
    print(f"fetching org.apache.hadoop:hadoop-client-minicluster:{version} into {jars}", file=sys.stderr)
    result = subprocess.run(mvn, capture_output=True, text=True)
    if result.returncode != 0:
        raise ClusterError(f"mvn failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}")
    if classes.exists():
        shutil.rmtree(classes)
    classes.mkdir()
    # Metrics every second (Hadoop's default: 10 s), so the JMX counters rpc_calls() reads are fresh.
    (classes / "hadoop-metrics2.properties").write_text(f"*.period={METRICS_PERIOD}\n")
    javac = [_need("javac"), "-d", str(classes), "-cp", f"{jars}/*", str(LAUNCHER)]
    result = subprocess.run(javac, capture_output=True, text=True)
    if result.returncode != 0:
        raise ClusterError(f"javac failed on {LAUNCHER}:\n{(result.stdout + result.stderr)[-4000:]}")
    (cache / ".fetched").write_text(f"{version} metrics{METRICS_PERIOD} {_digest(LAUNCHER)}\n")
    return cache


# -- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_parent_death_signal(args: list[str]) -> list[str]:
    """``args`` run under ``setpriv --pdeathsig TERM`` when there is one: the child gets SIGTERM
    if we die. (Not a ``preexec_fn``: that can deadlock in a forked copy of a threaded parent.)

    The signal fires when the *thread* that started the child ends (Linux ``PR_SET_PDEATHSIG``),
    not only the process: start these from a thread that lives as long as they should.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", *args] if setpriv else args


def _spawn(args: list[str], log: Path, env: dict[str, str] | None = None, stdin: int | None = None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            _with_parent_death_signal(args),
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=out if stdin is None else subprocess.PIPE,
            stderr=out,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its own process group, so _terminate reaches its children too
        )


def _terminate(process: subprocess.Popen | None, timeout: float = 30.0) -> None:
    """SIGTERM the process group we created for ``process``, then SIGKILL what is left."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _tail(log: Path, size: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-size:]
    except OSError:
        return ""


class MiniHdfs:
    """A MiniDFSCluster in a JVM of its own; ``rpc`` is ``hdfs://127.0.0.1:P``, ``webhdfs`` likewise.

    :param base_dir: where the NameNode and DataNode keep their data (a new temporary
        directory when None, removed at :meth:`stop`).
    :param superuser: the NameNode's user: HDFS's superuser, the one user permissions do not apply to.
    """

    def __init__(self, base_dir: str | os.PathLike[str] | None = None, superuser: str = "hdfs") -> None:
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="arlequin-hdfs-"))
        self.superuser = superuser
        self.log = self.base_dir / "minihdfs.log"
        self.process: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}

    @property
    def rpc(self) -> str:
        return str(self.info["rpc"])

    @property
    def webhdfs(self) -> str:
        return str(self.info["webhdfs"])

    @property
    def http(self) -> str:
        return str(self.info["http"])

    def start(self) -> MiniHdfs:
        cache = fetch()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        args = [
            _need("java"),
            "-Xmx768m",
            *LEAN_JVM,
            "-cp",
            f"{cache / 'jars'}/*{os.pathsep}{cache / 'classes'}",
            "MiniHdfs",
            "--base-dir",
            str(self.base_dir),
            "--superuser",
            self.superuser,
        ]
        self.process = _spawn(args, self.log, stdin=subprocess.PIPE)
        self.info = self._expect("ready", STARTUP_SECONDS)
        return self

    def _expect(self, event: str, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        out: IO[bytes] = self.process.stdout
        while time.monotonic() < deadline:
            line = out.readline()
            if not line:
                code = self.process.wait(timeout=10)
                raise ClusterError(f"MiniHdfs exited ({code}) before '{event}':\n{_tail(self.log)}")
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("event") == event:
                return message
            if message.get("event") == "error":
                raise ClusterError(f"MiniHdfs: {message.get('message')}\n{_tail(self.log)}")
        raise ClusterError(f"MiniHdfs: no '{event}' after {timeout:g} s:\n{_tail(self.log)}")

    def _command(self, command: str, answer: str, timeout: float = 120.0) -> dict[str, Any]:
        if self.process is None or self.process.stdin is None or self.process.poll() is not None:
            raise ClusterError("MiniHdfs is not running")
        self.process.stdin.write(f"{command}\n".encode())
        self.process.stdin.flush()
        return self._expect(answer, timeout)

    def stop_namenode(self) -> None:
        """Shut the NameNode down (clients get connection refused; the DataNode stays)."""
        self._command("stop-namenode", "namenode-stopped")

    def start_namenode(self) -> None:
        """Restart the NameNode on the same ports; returns once it is out of safe mode."""
        self.info = self._command("start-namenode", "namenode-started")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.write(b"quit\n")
                process.stdin.close()
                process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                _terminate(process)
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def jmx(self, query: str) -> list[dict[str, Any]]:
        """The NameNode's JMX beans matching ``query`` (``/jmx?qry=...`` on its HTTP port)."""
        with urllib.request.urlopen(f"{self.http}/jmx?qry={query}", timeout=10) as response:
            return list(json.load(response).get("beans", []))

    def rpc_calls(self) -> int:
        """RPCs the NameNode has answered on its client port so far (``RpcProcessingTimeNumOps``).

        Waits a little over the metrics period first: JMX serves a snapshot at most that old.
        """
        time.sleep(METRICS_PERIOD * 1.5 + 0.5)
        port = self.info["rpc_port"]
        beans = self.jmx(f"Hadoop:service=NameNode,name=RpcActivityForPort{port}")
        return int(beans[0]["RpcProcessingTimeNumOps"]) if beans else 0

    def __enter__(self) -> MiniHdfs:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SparkStandalone:
    """A standalone Spark Master and one Worker from pyspark's ``bin/spark-class``, on 127.0.0.1.

    ``master`` is ``spark://127.0.0.1:P``; ``ui`` the master's web UI.
    """

    def __init__(self, work_dir: str | os.PathLike[str] | None = None, cores: int = 1, memory: str = "1g") -> None:
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="arlequin-spark-"))
        self.cores, self.memory = cores, memory
        self.master_port, self.ui_port = free_port(), free_port()
        self.master = f"spark://127.0.0.1:{self.master_port}"
        self.ui = f"http://127.0.0.1:{self.ui_port}"
        self.processes: list[subprocess.Popen] = []

    def _spark_class(self, cls: str, *args: str, log: str) -> subprocess.Popen:
        env = {
            "SPARK_HOME": str(pyspark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOCAL_DIRS": str(self.work_dir / "local"),
            "SPARK_DAEMON_MEMORY": "512m",
            "SPARK_DAEMON_JAVA_OPTS": " ".join(LEAN_JVM),
            "SPARK_NO_DAEMONIZE": "1",
        }
        process = _spawn([str(pyspark_home() / "bin" / "spark-class"), cls, *args], self.work_dir / log, env)
        self.processes.append(process)
        return process

    def start(self) -> SparkStandalone:
        _need("java")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        master = self._spark_class(
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.master_port),
            "--webui-port",
            str(self.ui_port),
            log="master.log",
        )
        self._wait(lambda state: True, master, "master.log")
        worker = self._spark_class(
            "org.apache.spark.deploy.worker.Worker",
            "--host",
            "127.0.0.1",
            "--cores",
            str(self.cores),
            "--memory",
            self.memory,
            "--webui-port",
            str(free_port()),
            "--work-dir",
            str(self.work_dir / "work"),
            self.master,
            log="worker.log",
        )
        self._wait(lambda state: state.get("aliveworkers", 0) >= 1, worker, "worker.log")
        return self

    def state(self) -> dict[str, Any]:
        """The master's ``/json/`` status (workers, applications)."""
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=5) as response:
            return dict(json.load(response))

    def _wait(self, ready: Any, process: subprocess.Popen, log: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.stop()
                raise ClusterError(f"spark-class exited ({process.returncode}):\n{_tail(self.work_dir / log)}")
            try:
                if ready(self.state()):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise ClusterError(f"Spark standalone not ready after {STARTUP_SECONDS:g} s:\n{_tail(self.work_dir / log)}")

    def stop(self) -> None:
        """Stop the Worker (which stops its executors), then the Master."""
        for process in reversed(self.processes):
            _terminate(process)
        self.processes.clear()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> SparkStandalone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MlflowServer:
    """``mlflow server`` on 127.0.0.1 with a SQLite store and proxied artifacts under ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> MlflowServer:
        self.root.mkdir(parents=True, exist_ok=True)
        mlflow = Path(sys.executable).parent / "mlflow"
        args = [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.root / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.root / "artifacts"),
        ]
        log = self.root / "mlflow-server.log"
        self.process = _spawn(args, log, {"MLFLOW_DISABLE_TELEMETRY": "true"})
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClusterError(f"mlflow server exited ({self.process.returncode}):\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise ClusterError(f"mlflow server not healthy after {STARTUP_SECONDS:g} s:\n{_tail(log)}")

    def stop(self) -> None:
        _terminate(self.process)
        self.process = None

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "fetch"
    try:
        if command == "fetch":
            print(fetch())
        elif command == "hdfs":
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            with MiniHdfs() as hdfs:
                print(json.dumps(hdfs.info), flush=True)
                signal.sigwait({signal.SIGINT, signal.SIGTERM})
        else:
            print(f"usage: {argv[0]} fetch|hdfs", file=sys.stderr)
            return 2
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

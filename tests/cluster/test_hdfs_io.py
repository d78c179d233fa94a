"""``hdfs://`` (hdfs-native) and ``webhdfs://`` (fsspec's WebHDFS) against the run's real HDFS.

The HDFS is Hadoop's own MiniDFSCluster (the ``hdfs`` fixture): permissions are
enforced and the tests' user is not its superuser.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from localcluster import MiniHdfs

from arlequin_core.errors import InputError
from arlequin_core.hdfs import HdfsFileSystem
from arlequin_core.io import filesystem, read_table, write_table_atomic

pytestmark = pytest.mark.slow

ARLEQUIN = str(Path(sys.executable).parent / "arlequin")
#: A guard against hanging, not a timing assertion: hdfs-native alone retries for ~3 minutes.
HANG_GUARD = 60


def _table(n: int = 100) -> pa.Table:
    return pa.table({"x": list(range(n)), "c": [f"k{i % 3}" for i in range(n)]})


def test_hdfs_uri_is_served_by_hdfs_native_without_a_jvm(hdfs_dir: str) -> None:
    fs, path = filesystem(hdfs_dir)
    assert isinstance(fs, HdfsFileSystem)
    write_table_atomic(_table(50), f"{hdfs_dir}/a.parquet")
    write_table_atomic(_table(30), f"{hdfs_dir}/b.csv")
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)) == ["a.parquet", "b.csv"]
    assert read_table(f"{hdfs_dir}/a.parquet").equals(_table(50))
    assert read_table(f"{hdfs_dir}/b.csv").num_rows == 30
    info = fs.info(f"{path}/a.parquet")
    assert info["size"] > 0 and info["modification_time"] > 0 and info["open_for_write"] is False


def test_webhdfs_reads_what_hdfs_wrote(hdfs, hdfs_dir: str) -> None:
    write_table_atomic(_table(40), f"{hdfs_dir}/w.parquet")
    path = filesystem(hdfs_dir)[1]
    over_http = f"{hdfs.webhdfs}{path}/w.parquet"
    assert read_table(over_http).equals(_table(40))
    # and the other way: written over HTTP (as the same user: WebHDFS's default is "dr.who"), read over RPC
    user = os.environ.get("HADOOP_USER_NAME") or getpass.getuser()
    as_user = hdfs.webhdfs.replace("webhdfs://", f"webhdfs://{user}@")
    write_table_atomic(_table(7), f"{as_user}{path}/from-http.parquet")
    assert read_table(f"{hdfs_dir}/from-http.parquet").num_rows == 7


def test_permission_denied_names_the_path_and_the_user_without_a_java_stack(hdfs_dir: str) -> None:
    fs, path = filesystem(hdfs_dir)
    write_table_atomic(_table(5), f"{hdfs_dir}/secret/part-00000.parquet")
    fs.client.set_permission(f"{path}/secret", 0o000)
    try:
        with pytest.raises(InputError) as caught:
            read_table(f"{hdfs_dir}/secret")
        message = str(caught.value)
        assert message.startswith(f"{hdfs_dir}/secret: ")
        assert "Permission denied" in message and "user=" in message and f"{path}/secret" in message
        assert "\tat org.apache" not in message and "FSPermissionChecker" not in message
        with pytest.raises(PermissionError):
            fs.ls(f"{path}/secret")
    finally:
        fs.client.set_permission(f"{path}/secret", 0o755)
    assert read_table(f"{hdfs_dir}/secret").num_rows == 5


def test_truncated_part_file_and_schema_mismatch_are_rejected_and_the_file_stays(hdfs_dir: str) -> None:
    fs, path = filesystem(hdfs_dir)
    write_table_atomic(_table(20), f"{hdfs_dir}/bad/part-00000.parquet")
    whole = fs.cat_file(f"{path}/bad/part-00000.parquet")
    fs.pipe_file(f"{path}/bad/part-00001.parquet", whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"part-00001\.parquet.*not a complete Parquet file"):
        read_table(f"{hdfs_dir}/bad")
    assert fs.exists(f"{path}/bad/part-00001.parquet")
    write_table_atomic(pa.table({"x": ["a", "b"]}), f"{hdfs_dir}/mixed/part-00000.parquet")
    write_table_atomic(pa.table({"x": [1.5, 2.5]}), f"{hdfs_dir}/mixed/part-00001.parquet")
    with pytest.raises(InputError, match="incompatible schemas"):
        read_table(f"{hdfs_dir}/mixed")


def _cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [ARLEQUIN, *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD * 4,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(env or {})},
    )
    if check and result.returncode not in (0, 3):
        raise AssertionError(f"arlequin {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def test_generate_detect_and_train_on_hdfs_uris(hdfs_dir: str, isolated: Path) -> None:
    config = isolated / "arlequin.toml"
    config.write_text(
        '[arlequin]\nhome = ".arlequin"\n[data]\nlabel = "is_fraud"\ntimestamp = "timestamp"\n'
        'exclude = ["transaction_id"]\n[drift]\ncritical = ["amount"]\n[training]\ntrainer = "sklearn-logreg"\n'
    )
    env = {"ARLEQUIN_CONFIG": str(config)}
    _cli(
        "generate",
        "--out",
        f"{hdfs_dir}/landing",
        "--rows",
        "3000",
        "--batches",
        "2",
        "--scenario",
        "sudden:amount_scale=2.0,start=1",
        "--reference",
        f"{hdfs_dir}/reference.parquet",
        "--no-progress",
        env=env,
    )
    fs, path = filesystem(hdfs_dir)
    assert fs.exists(f"{path}/landing/manifest.json")
    clean = _cli(
        "detect", "-r", f"{hdfs_dir}/reference.parquet", "-c", f"{hdfs_dir}/landing/batch-00000.parquet", env=env
    )
    drifted = _cli(
        "detect", "-r", f"{hdfs_dir}/reference.parquet", "-c", f"{hdfs_dir}/landing/batch-00001.parquet", env=env
    )
    assert (clean.returncode, drifted.returncode) == (0, 3), clean.stdout + drifted.stdout
    assert "amount" in drifted.stdout
    trained = _cli("train", "--data", f"{hdfs_dir}/reference.parquet", "--json", env=env)
    result = json.loads(trained.stdout)
    assert result["version"] == "1" and result["promoted"] is True


def test_stopped_hdfs_leaves_no_process_and_its_address_fails_fast_naming_it(isolated: Path) -> None:
    own = MiniHdfs(isolated / "own-hdfs").start()
    pid, rpc = own.process.pid, own.rpc
    write_table_atomic(_table(3), f"{rpc}/x.parquet")
    os.kill(pid, signal.SIGTERM)  # what a supervisor sends
    own.process.wait(timeout=HANG_GUARD)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    own.stop()
    # The NameNode's address is now closed: a clear error naming it, not minutes of retries.
    result = _cli("detect", "-r", f"{rpc}/x.parquet", "-c", f"{rpc}/x.parquet", check=False)
    assert result.returncode == 2
    assert f"cannot reach the HDFS NameNode at {rpc}" in result.stderr + result.stdout

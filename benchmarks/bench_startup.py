"""Cold-start time of the ``arlequin`` CLI: this tree against a baseline commit, in one run.

Each command runs as a fresh process, as a user, a cron job or a Jenkins stage runs it:
``arlequin --help``, ``arlequin detect --help``, ``arlequin plugins``, a small
``arlequin detect`` of two Parquet files (10,000 rows x 10 columns: start-up dominates)
and the same batch against a profile saved by the tree itself.
The baseline is ``git archive BASELINE`` unpacked to a temporary directory and run
with the same interpreter and installed packages, its source first on ``PYTHONPATH``
(default baseline: ``7a2c513^``, main before the lazy plugin loading of issue 18).
Runs of the two trees alternate, so load on the machine hits both alike. Prints, per
command and tree, the median wall time, the median CPU time (user + system, less
sensitive to other processes on a shared machine) and the peak RSS, then the ratios.

With ``--compiled`` both trees' modules are compiled to ``.pyc`` first (this tree copied
to the temporary directory for it), as a wheel install has them: an
editable install under ``PYTHONDONTWRITEBYTECODE`` (this machine's shell) compiles every
arlequin module from source in every process, 0.1-0.25 s of a cold ``detect``.

The example third-party plugins (welch, scorecard) are disabled in both trees: their
entry-point modules changed with the lazy loading, and the installed metadata is this
tree's, so the baseline cannot load them as they were. Goal (issue 18): ``arlequin
--help`` under 0.3 s.

    .venv/bin/python benchmarks/bench_startup.py [--runs 7] [--baseline REF] [--compiled]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
# The child reports its own peak RSS at exit, VmHWM of /proc/self/status (ru_maxrss would
# include the pages it shared with this process between fork and exec).
_REPORT_RSS = (
    "import atexit, os\n"
    "def _rss():\n"
    "    kb = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
    "    open(os.environ['BENCH_RSS_FILE'], 'w').write(kb)\n"
    "atexit.register(_rss)\n"
)
RUN_CLI = _REPORT_RSS + "from arlequin_core.cli import run\nrun()\n"
FLOOR = _REPORT_RSS
#: What a check against a profile cannot avoid: an interpreter that imports pyarrow and reads the batch.
READ_BATCH = _REPORT_RSS + "import pyarrow.parquet as pq\npq.ParquetFile('cur.parquet').read()\n"
COMMANDS: dict[str, list[str]] = {
    "python -c pass (floor)": [],
    "--help": ["--help"],
    "detect --help": ["detect", "--help"],
    "plugins": ["plugins"],
    "detect (10k x 10 Parquet)": ["detect", "-r", "ref.parquet", "-c", "cur.parquet", "--json", "r.json"],
    # Against a profile saved by the same tree (setup: `detect --save-profile`), as a cron job
    # checking each new batch against a fixed reference runs it.
    "detect (profile, 10k batch)": ["detect", "-r", "ref.{tree}.profile", "-c", "cur.parquet", "--json", "r.json"],
    "read batch (pyarrow only)": ["<read-batch>"],
}


def unpack(ref: str, into: Path) -> Path:
    """The tree of ``ref`` (``git archive``), unpacked under ``into``."""
    archive = into / "baseline.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), ref], check=True)
    tree = into / "baseline"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def write_data(into: Path, rows: int = 10_000) -> None:
    rng = np.random.default_rng(18)
    for name, shift in (("ref", 0.0), ("cur", 0.2)):
        columns = {f"x{i}": rng.normal(shift * (i % 2), 1.0, rows) for i in range(7)}
        columns |= {f"c{i}": rng.choice(["a", "b", "c", "d"], rows) for i in range(3)}
        pq.write_table(pa.table(columns), into / f"{name}.parquet")


def run_once(args: list[str], cwd: Path, env: dict[str, str], tree: str = "") -> tuple[float, float, float, int]:
    """(wall s, cpu s, peak RSS MiB, exit status) of one process; no args: the bare interpreter.

    ``{tree}`` in an argument becomes ``tree`` (each tree's own saved profile).
    """
    args = [a.format(tree=tree) for a in args]
    rss_file = cwd / "rss"
    code = READ_BATCH if args == ["<read-batch>"] else RUN_CLI if args else FLOOR
    if args == ["<read-batch>"]:
        args = []
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env | {"BENCH_RSS_FILE": str(rss_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rss = int(rss_file.read_text()) / 1024 if rss_file.exists() else float("nan")
    rss_file.unlink(missing_ok=True)
    return wall, usage.ru_utime + usage.ru_stime, rss, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command and tree (median reported)")
    parser.add_argument("--baseline", default="7a2c513^", help="git ref of the baseline tree")
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="compile both trees' modules to .pyc first (compileall), as a pip install does: without it, "
        "an editable install under PYTHONDONTWRITEBYTECODE compiles every module from source in every process",
    )
    opts = parser.parse_args()

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ARLEQUIN_") and k != "PYTHONPATH"}
    base_env |= {"MLFLOW_DISABLE_TELEMETRY": "true", "ARLEQUIN_DISABLE_PLUGINS": "welch,scorecard"}
    with tempfile.TemporaryDirectory(prefix="arlequin-startup-") as tmp:
        tmp_path = Path(tmp)
        baseline = unpack(opts.baseline, tmp_path)
        this = ROOT
        if opts.compiled:
            # This tree copied to the temp dir, so that its .pyc go there; both compiled in place
            # (not PYTHONPYCACHEPREFIX: the standard library's .pyc would then be looked up there too).
            this = tmp_path / "this-tree"
            for sub in ("arlequin_core", "plugins"):
                shutil.copytree(ROOT / sub, this / sub, ignore=shutil.ignore_patterns("__pycache__"))
            for tree in (baseline, this):
                for sub in ("arlequin_core", "plugins"):
                    command = [sys.executable, "-m", "compileall", "-q", str(tree / sub)]
                    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        work = tmp_path / "work"
        work.mkdir()
        write_data(work)
        trees = {
            "baseline": base_env | {"PYTHONPATH": f"{baseline}{os.pathsep}{baseline / 'plugins'}"},
            "this tree": base_env | {"PYTHONPATH": f"{this}{os.pathsep}{this / 'plugins'}"},
        }
        for tree, env in trees.items():  # each tree saves its own profile (formats may differ)
            save = ["detect", "-r", "ref.parquet", "-c", "ref.parquet", "--save-profile", "ref.{tree}.profile", "-q"]
            status = run_once(save, work, env, _slug(tree))[3]
            if status != 0:
                raise SystemExit(f"{tree}: saving the profile failed (exit {status})")
        results: dict[tuple[str, str], list[tuple[float, float, float, int]]] = {}
        for label, args in COMMANDS.items():
            for _ in range(opts.runs):
                for tree, env in trees.items():  # alternate: the same load for both
                    results.setdefault((label, tree), []).append(run_once(args, work, env, _slug(tree)))

    print(f"arlequin cold start, {opts.runs} runs each, median; baseline {opts.baseline}; {sys.executable}")
    if opts.compiled:
        print("both trees compiled to .pyc first (--compiled), as installed from a wheel")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not opts.compiled:
        print("PYTHONDONTWRITEBYTECODE is set: the trees' modules are compiled from source in every process")
    header = f"{'command':28} {'tree':10} {'wall s':>8} {'cpu s':>8} {'RSS MiB':>8} {'exit':>5}"
    print(header)
    print("-" * len(header))
    medians: dict[tuple[str, str], tuple[float, float, float]] = {}
    for (label, tree), runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = statistics.median(r[2] for r in runs)
        codes = sorted({r[3] for r in runs})
        medians[label, tree] = (wall, cpu, rss)
        print(f"{label:28} {tree:10} {wall:8.3f} {cpu:8.3f} {rss:8.0f} {','.join(map(str, codes)):>5}")
    print()
    print(f"{'command':28} {'wall ratio':>11} {'cpu ratio':>10} {'RSS ratio':>10}   (baseline / this tree)")
    for label, args in COMMANDS.items():
        if not args:
            continue
        (bw, bc, br), (tw, tc, tr) = medians[label, "baseline"], medians[label, "this tree"]
        print(f"{label:28} {bw / tw:10.1f}x {bc / tc:9.1f}x {br / tr:9.1f}x")
    wall, cpu, _ = medians["--help", "this tree"]
    floor = medians["python -c pass (floor)", "this tree"][0]
    print(
        f"\narlequin --help: {wall:.3f} s wall, {cpu:.3f} s CPU (goal < 0.3 s wall: "
        f"{'met' if wall < 0.3 else 'NOT met'} in this run; a bare interpreter: {floor:.3f} s wall, same load)"
    )
    wall, cpu, _ = medians["detect (profile, 10k batch)", "this tree"]
    read_wall, read_cpu, _ = medians["read batch (pyarrow only)", "this tree"]
    over = wall - read_wall
    print(
        f"arlequin detect --reference profile, 10k-row batch: {wall:.3f} s wall, {cpu:.3f} s CPU; "
        f"minus a process that only reads the batch ({read_wall:.3f} s wall, {read_cpu:.3f} s CPU): "
        f"{over:.3f} s wall, {cpu - read_cpu:.3f} s CPU (goal < 0.5 s plus the read: "
        f"{'met' if over < 0.5 else 'NOT met'} in this run)"
    )


def _slug(tree: str) -> str:
    return tree.replace(" ", "-")


if __name__ == "__main__":
    main()

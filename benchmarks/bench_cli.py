"""Benchmark: ``arlequin detect`` as a fresh process, against a plain scipy script and Evidently.

Data: a reference and a batch of N rows x 10 columns (default 1M; 6 numeric float64 and
4 categorical strings with 5, 20, 100 and 1000 categories, the generator of
``bench_detect.py``; the batch's numeric columns shifted by 0.01 sd), written once as
Parquet under ``benchmarks/out/cli/`` (git-ignored) and reused. With ``--same`` (the
default; ``--no-same`` skips it) a second batch drawn from the reference's distribution
(another seed, no shift) is checked too: the shifted batch's KS p-values are tiny, which
sends the p-value into its slowest branch, so the two batches bound what a check costs. Every command below is a
whole process, run ``--runs`` times in turn (round robin, so the machine's load is
shared), on the same files in the same run; printed per command: the median wall time,
the median CPU time (user + system: steadier on a shared machine) and the peak RSS
(``ru_maxrss`` of the child, from ``wait4``):

* ``plain-scipy``: ``cli_scripts/plain_scipy.py``: pyarrow reads, then per column
  ``scipy.stats.ks_2samp`` / ``chi2_contingency`` (the baseline of issue 18);
* ``detect-parquet``: ``arlequin detect --reference ref.parquet --current cur.parquet --json out.json``;
* ``detect-profile``: ``arlequin detect --reference ref.profile --current cur.parquet --json out.json``
  (the profile saved beforehand by ``detect --save-profile``, format 2);
* ``evidently``: ``cli_scripts/evidently_drift.py``: Evidently's ``DataDriftPreset`` on the
  same files, in its own virtual environment (``--evidently-venv``, default
  ``~/.cache/arlequin/evidently-venv``, created on first use with Evidently
  :data:`EVIDENTLY` and ``pandas<3``; never a dependency of arlequin). ``--evidently-runs``
  (default 1: it takes minutes) and ``--no-evidently``;
* ``help``: ``arlequin --help``;
* ``read-batch``: a process that imports pyarrow and reads ``cur.parquet``, nothing else:
  what ``detect-profile`` cannot avoid. It reads the way ``detect`` does
  (``arlequin_core/io.py``): ``pq.ParquetFile(...).read`` with the text columns as
  dictionaries (all four are dictionary-encoded here, which is what detect's footer rule
  picks), pyarrow only. Not ``pq.read_table``: that goes through the dataset layer and
  imports pandas (~0.3 s), which detect no longer does, so "detect-profile - read-batch"
  would be flattered by it;
* ``*-same``: ``plain-scipy``, ``detect-parquet`` and ``detect-profile`` on the unshifted batch.

Then, in one child process: the profile of the reference in format 2 and format 1 (size,
bytes of the arrays it holds, median ``Profile.load`` time over 5 loads, and load plus
rebuilding every column's detector).

Ratios printed: plain-scipy / detect-parquet (goal >= 3), evidently / detect-parquet
(goal >= 40), detect-profile - read-batch (goal < 0.5 s), each for both batches; help
(goal < 0.3 s), format-2 load (goal < 0.1 s) and size / arrays held (goal <= 1).

Run: ``python benchmarks/bench_cli.py [--rows 1000000] [--runs 3] [--evidently-runs 1] [--no-evidently] [--no-same]``;
``python benchmarks/bench_cli.py --setup-evidently`` only creates the Evidently venv
(``make bench-evidently-venv``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "cli"
SCRIPTS = HERE / "cli_scripts"
EVIDENTLY = "evidently==0.7.23"
DEFAULT_VENV = Path.home() / ".cache" / "arlequin" / "evidently-venv"


def data_files(rows: int) -> tuple[Path, Path, Path]:
    """The reference, the shifted batch and the unshifted batch, ``rows`` rows each (written once)."""
    ref, cur, same = OUT / f"ref-{rows}.parquet", OUT / f"cur-{rows}.parquet", OUT / f"same-{rows}.parquet"
    for path, seed, drift in ((ref, 1, 0.0), (cur, 2, 0.01), (same, 3, 0.0)):
        if path.exists():
            continue
        import pyarrow.parquet as pq

        sys.path.insert(0, str(HERE))
        from bench_detect import make_table

        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pq.write_table(make_table(rows, seed, drift=drift), tmp)
        tmp.replace(path)
    return ref, cur, same


def evidently_python(venv: Path) -> Path:
    """The venv's python, creating the venv with Evidently first when it has not been."""
    python, stamp = venv / "bin" / "python", venv / ".arlequin-bench-installed"
    if stamp.exists() and python.exists():
        return python
    print(f"creating {venv} with {EVIDENTLY} (once; for this benchmark only) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, EVIDENTLY, "pandas<3", "pyarrow"], check=True)
    stamp.write_text(EVIDENTLY + "\n", encoding="utf-8")
    return python


def run(cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float, float]:
    """Run ``cmd`` to its end: (wall seconds, CPU seconds user + system, peak RSS in MB)."""
    # Children read (and write) bytecode caches as a user's runs do, even where the caller's
    # environment (a sandbox, a CI job) sets PYTHONDONTWRITEBYTECODE.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()  # read before waiting: a full pipe would block the child
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr.decode(errors='replace')[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# The batch read as detect reads it (arlequin_core/io.py): ParquetFile.read, text columns as
# dictionaries, pyarrow only (pq.read_table would import the dataset layer and pandas).
READ_BATCH = (
    "import pyarrow as pa, pyarrow.parquet as pq\n"
    "f = pq.ParquetFile({path!r})\n"
    "text = [n for n, t in zip(f.schema_arrow.names, f.schema_arrow.types)"
    " if pa.types.is_string(t) or pa.types.is_large_string(t)]\n"
    "pq.ParquetFile({path!r}, read_dictionary=text).read()\n"
)


PROFILE_PROBE = """
import json, os, statistics, sys, time
import numpy as np
from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.profile import Profile
registry = App(ArlequinConfig()).registry
out = {}
for path in sys.argv[1:]:
    loads, rebuilt = [], []
    for _ in range(5):
        t = time.perf_counter()
        profile = Profile.load(path)
        loads.append(time.perf_counter() - t)
        for name in profile.columns:
            profile.detector(name, registry)
        rebuilt.append(time.perf_counter() - t)
    arrays = Profile.load(path)
    held = 0
    def walk(v):
        global held
        if isinstance(v, np.ndarray):
            held += v.nbytes
        elif isinstance(v, dict) and "zlib_b64" in v:  # format 1: an array still in its JSON form
            held += int(np.prod(v["shape"])) * np.dtype(v["dtype"]).itemsize
        elif isinstance(v, dict):
            for x in v.values(): walk(x)
        elif isinstance(v, list):
            for x in v: walk(x)
    walk(arrays._tree())
    out[path] = {"size": os.path.getsize(path), "arrays": held,
                 "load": statistics.median(loads), "rebuilt": statistics.median(rebuilt)}
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--evidently-runs", type=int, default=1)
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument(
        "--same", action=argparse.BooleanOptionalAction, default=True, help="also check an unshifted batch"
    )
    venv = Path(os.environ.get("ARLEQUIN_EVIDENTLY_VENV", DEFAULT_VENV))
    parser.add_argument("--evidently-venv", type=Path, default=venv)
    parser.add_argument("--setup-evidently", action="store_true", help="only create the Evidently venv")
    args = parser.parse_args()
    if args.setup_evidently:
        print(evidently_python(args.evidently_venv))
        return
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    ref, cur, same = data_files(args.rows)
    arlequin = str(Path(sys.executable).with_name("arlequin"))
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))  # no arlequin.toml here: defaults
    profile, legacy = OUT / f"ref-{args.rows}.profile", OUT / f"ref-{args.rows}.json"
    drift_ok = (0, 3)  # 3: drift found
    run([arlequin, "detect", "-r", str(ref), "-c", str(cur), "-q", "--save-profile", str(profile)], work, drift_ok)
    run([arlequin, "detect", "-r", str(ref), "-c", str(cur), "-q", "--save-profile", str(legacy)], work, drift_ok)
    out = str(work / "out.json")
    commands: dict[str, tuple[list[str], tuple[int, ...]]] = {
        "plain-scipy": ([sys.executable, str(SCRIPTS / "plain_scipy.py"), str(ref), str(cur), out], (0,)),
        "detect-parquet": (
            [arlequin, "detect", "--reference", str(ref), "--current", str(cur), "--json", out],
            drift_ok,
        ),
        "detect-profile": (
            [arlequin, "detect", "--reference", str(profile), "--current", str(cur), "--json", out],
            drift_ok,
        ),
        "help": ([arlequin, "--help"], (0,)),
        "read-batch": ([sys.executable, "-c", READ_BATCH.format(path=str(cur))], (0,)),
    }
    if args.same:
        for name in ("plain-scipy", "detect-parquet", "detect-profile"):
            cmd, ok = commands[name]
            commands[f"{name}-same"] = ([str(same) if part == str(cur) else part for part in cmd], ok)
    runs = {name: args.runs for name in commands}
    if not args.no_evidently:
        python = evidently_python(args.evidently_venv)
        evidently_cmd = [str(python), str(SCRIPTS / "evidently_drift.py"), str(ref), str(cur), out]
        commands["evidently"] = (evidently_cmd, (0,))
        runs["evidently"] = args.evidently_runs
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    print(f"{args.rows:,} rows x 10 columns; {args.runs} runs each (round robin), medians; cwd {work}", flush=True)
    for i in range(max(runs.values())):
        for name, (cmd, ok) in commands.items():
            if i < runs[name]:
                results[name].append(run(cmd, work, ok))
                print(f"  run {i + 1} {name}: {results[name][-1][0]:.2f} s", flush=True)
    median = {name: tuple(statistics.median(r[k] for r in rs) for k in range(3)) for name, rs in results.items()}
    print()
    print(f"{'command':<16} {'runs':>4} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12}")
    for name, (wall, cpu, rss) in median.items():
        print(f"{name:<16} {len(results[name]):>4} {wall:>8.2f} {cpu:>8.2f} {rss:>12.0f}")

    probe = subprocess.run(
        [sys.executable, "-c", PROFILE_PROBE, str(profile), str(legacy)], capture_output=True, text=True, check=True
    )
    sizes = json.loads(probe.stdout)
    print()
    print(f"{'profile':<22} {'MB':>7} {'arrays MB':>10} {'load s':>8} {'+detectors s':>13}")
    for label, path in (("format 2 (.profile)", profile), ("format 1 (.json)", legacy)):
        s = sizes[str(path)]
        print(f"{label:<22} {s['size'] / 1e6:>7.1f} {s['arrays'] / 1e6:>10.1f} {s['load']:>8.3f} {s['rebuilt']:>13.3f}")

    two, one = sizes[str(profile)], sizes[str(legacy)]
    wall = {name: m[0] for name, m in median.items()}
    cpu = {name: m[1] for name, m in median.items()}
    print()
    print("ratios (wall; CPU in brackets):")
    for tail, label in (("", "shifted batch"), ("-same", "unshifted batch")):
        if f"detect-parquet{tail}" not in wall:
            continue
        print(f"  {label}:")
        parquet, profiled = f"detect-parquet{tail}", f"detect-profile{tail}"
        print(
            f"    plain-scipy / detect-parquet: {wall[f'plain-scipy{tail}'] / wall[parquet]:.2f}x "
            f"({cpu[f'plain-scipy{tail}'] / cpu[parquet]:.2f}x)   goal >= 3x"
        )
        if "evidently" in wall:
            print(
                f"    evidently / detect-parquet:   {wall['evidently'] / wall[parquet]:.1f}x "
                f"({cpu['evidently'] / cpu[parquet]:.1f}x)   goal >= 40x"
                + ("" if not tail else "   (evidently ran on the shifted batch)")
            )
        print(
            f"    detect-profile - read-batch:  {wall[profiled] - wall['read-batch']:.2f} s "
            f"({cpu[profiled] - cpu['read-batch']:.2f} s)   goal < 0.5 s"
        )
    print(f"  arlequin --help:              {wall['help']:.2f} s ({cpu['help']:.2f} s)   goal < 0.3 s")
    print(
        f"  profile format 2: load {two['load']:.3f} s (goal < 0.1 s), size / arrays held "
        f"{two['size'] / two['arrays']:.2f} (goal <= 1); vs format 1: load {one['load'] / two['load']:.1f}x, "
        f"load + detectors {one['rebuilt'] / two['rebuilt']:.1f}x faster, size {two['size'] / one['size']:.2f}x"
    )


if __name__ == "__main__":
    main()

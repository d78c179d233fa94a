"""``arlequin detect`` end to end: real Parquet/CSV files, exit codes, JSON and HTML reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.drift import Profile
from arlequin_core.errors import EXIT_DRIFT, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE

CONFIG = '[data]\nlabel = "label"\n[drift]\ndrift_share = 0.2\n'


def detect(*args: str, config: str | None = CONFIG):
    if config is not None:
        Path("arlequin.toml").write_text(config)
    return CliRunner().invoke(main, ["detect", *args], catch_exceptions=False)


@pytest.fixture
def files(make_frame):
    """Reference, a drifted batch (age x 1.5, colour frequencies shifted) and a same-distribution batch."""
    make_frame(5000, 1).to_parquet("ref.parquet")
    make_frame(5000, 2, scale=1.5, shift_categories=True).to_parquet("drifted.parquet")
    make_frame(5000, 3).to_parquet("same.parquet")
    make_frame(3000, 4).to_csv("same.csv", index=False)


def test_detect_flags_exactly_the_scaled_and_shifted_columns_exits_3_and_writes_html(files):
    args = ["--reference", "ref.parquet", "--current", "drifted.parquet", "--json", "r.json", "--html", "r.html"]
    result = detect(*args)
    assert result.exit_code == EXIT_DRIFT, result.output
    assert result.output.startswith("DRIFT: 2 of 6 columns drifted (share 0.33 >= 0.20): age, colour")
    assert [r["column"] for r in json.loads(Path("r.json").read_text())["multivariate"]] == ["__multivariate_pca__"]
    report = json.loads(Path("r.json").read_text())
    assert report["drifted"] is True
    assert report["drifted_columns"] == ["age", "colour"]
    assert [c["column"] for c in report["columns"] if c["drifted"]] == ["age", "colour"]
    page = Path("r.html").read_text()
    assert page.index("Drift detected") < page.index("<h2>Columns</h2>")
    assert page.count("data:image/png;base64,") == 6
    assert Path("r.html").stat().st_size < 1_000_000


def test_detect_identical_distribution_exits_0(files):
    result = detect("-r", "ref.parquet", "-c", "same.parquet")
    assert result.exit_code == EXIT_OK, result.output
    assert result.output.startswith("no drift: 0 of 6 columns drifted")
    assert "OK" not in result.output


def test_detect_reads_csv_batches(files):
    result = detect("-r", "ref.parquet", "-c", "same.csv", "--json", "r.json")
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(Path("r.json").read_text())["rows_cur"] == 3000


@pytest.mark.parametrize("name", ["p.profile", "p.json", "renamed.bin"])
def test_detect_with_a_saved_profile_gives_the_same_report(files, name):
    first = detect("-r", "ref.parquet", "-c", "drifted.parquet", "--json", "a.json", "--save-profile", "p.profile")
    if name == "p.json":  # format 1, as arlequin wrote before format 2
        Profile.load("p.profile").save(name)
    elif name != "p.profile":  # a profile under any name is still told from data
        Path("p.profile").rename(name)
    second = detect("-r", name, "-c", "drifted.parquet", "--json", "b.json")
    assert first.exit_code == second.exit_code == EXIT_DRIFT
    a, b = (json.loads(Path(p).read_text()) for p in ("a.json", "b.json"))
    for report in (a, b):
        report.pop("created_at")
    assert a == b


def test_auto_reads_a_small_local_batch_whole_beside_the_reference_and_reports_like_arrow(files):
    streamed = detect("-r", "ref.parquet", "-c", "drifted.parquet", "--engine", "arrow", "--json", "a.json")
    whole = detect("-r", "ref.parquet", "-c", "drifted.parquet", "--json", "b.json")
    assert streamed.exit_code == whole.exit_code == EXIT_DRIFT
    a, b = (json.loads(Path(p).read_text()) for p in ("a.json", "b.json"))
    assert (a.pop("engine"), b.pop("engine")) == ("arrow", "memory")
    for report in (a, b):
        report.pop("created_at")
    assert a["drifted_columns"] == b["drifted_columns"] == ["age", "colour"]
    for x, y in zip(a["columns"], b["columns"], strict=True):
        assert x["column"] == y["column"] and x["drifted"] == y["drifted"]
        assert x["p_value"] == pytest.approx(y["p_value"], rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "absent.parquet", "-c", "same.parquet"], "error: absent.parquet: no such file or directory"),
        (["-r", "ref.parquet", "-c", "broken.parquet"], "error: broken.parquet: not a complete Parquet file"),
        (["-r", "bad.json", "-c", "same.parquet"], "error: bad.json: not valid JSON"),
        (["-r", "ref.parquet", "-c", "narrow.parquet"], "error: narrow.parquet: missing column 'colour'"),
        (["-r", "ref.parquet", "-c", "empty.parquet"], "error: empty.parquet: the batch has no rows"),
    ],
)
def test_detect_bad_input_exits_2_naming_the_file(files, make_frame, args, message):
    Path("broken.parquet").write_bytes(Path("same.parquet").read_bytes()[:500])
    Path("bad.json").write_text("{")
    make_frame(100, 5).drop(columns=["colour"]).to_parquet("narrow.parquet")
    make_frame(100, 5).iloc[:0].to_parquet("empty.parquet")
    result = CliRunner().invoke(main, ["detect", *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output


def test_detect_bad_config_exits_2_naming_the_key(files):
    result = detect("-r", "ref.parquet", "-c", "same.parquet", config='[drift]\nnumeric_detector = "kss"\n')
    assert result.exit_code == EXIT_USAGE
    assert "unknown detector 'kss'; known detectors:" in result.output


def test_detect_usage_error_exits_2(files):
    result = CliRunner().invoke(main, ["detect", "-r", "ref.parquet"])
    assert result.exit_code == EXIT_USAGE and "Missing option '--current'" in result.output


def test_detect_internal_error_exits_1(files, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("arlequin_core.drift.engines.check_uri", broken)
    result = detect("-r", "ref.parquet", "-c", "same.parquet")
    assert result.exit_code == EXIT_INTERNAL and "internal error: RuntimeError: boom" in result.output


@pytest.mark.slow
def test_wrong_schema_exits_2_every_time_never_aborts(tmp_path) -> None:
    """A batch with none of the reference's columns: exit 2 with the message, in every run.

    It used to abort (SIGABRT, exit 134, ``terminate called without an active exception``)
    about 1 run in 8: Arrow's I/O threads, reading a Python file object, still finishing
    when the quick error exit shut the interpreter down. Run in fresh processes, many times.
    """
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"a": rng.normal(size=5000), "b": rng.integers(0, 5, 5000).astype(str)}), "ref.parquet")
    pq.write_table(pa.table({"x": rng.normal(size=5000)}), "wrong_schema.parquet")
    arlequin = str(Path(sys.executable).parent / "arlequin")
    codes = []
    for n in range(16):
        engine = ("memory", "arrow")[n % 2]
        args = ["detect", "--engine", engine, "--reference", "ref.parquet", "--current", "wrong_schema.parquet"]
        done = subprocess.run([arlequin, *args], capture_output=True, text=True, timeout=300)
        assert "terminate called" not in done.stderr, done.stderr
        assert "missing columns 'a', 'b'" in done.stderr
        codes.append(done.returncode)
    assert codes == [2] * 16


LONG = "patient_age_at_admission_in_completed_years_since_birth"  # 55 characters: cut at 40


def _long_names(make_frame) -> None:
    names = {"age": LONG, "income": "yearly_household_income_eur"}
    make_frame(3000, 1).rename(columns=names).to_parquet("ref.parquet")
    make_frame(3000, 2, scale=1.5).rename(columns=names).to_parquet("drifted.parquet")


def test_the_column_table_aligns_long_names_and_cuts_the_longest(make_frame) -> None:
    _long_names(make_frame)
    result = detect("-r", "ref.parquet", "-c", "drifted.parquet", "--json", "r.json")
    assert result.exit_code == EXIT_DRIFT, result.output
    table = [line for line in result.output.splitlines() if line.startswith("  ") and "engine:" not in line][:7]
    assert table[0].split()[:2] == ["column", "detector"]
    offset = table[0].index("detector")
    for line in table[1:]:  # every detector name starts under the header's
        assert line[offset - 1] == " " and line[offset] != " " and " " in line[2:offset], table
    cut = LONG[:39] + "…"
    assert any(line.startswith(f"  {cut} ") for line in table), table
    assert any("DRIFT" in line and cut in line for line in table), table
    assert LONG in Path("r.json").read_text()  # the JSON keeps the whole name
    assert "\x1b[" not in result.output  # not a terminal: no colors


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """``arlequin ARGS`` with a pseudo-terminal as stdout; what it printed."""
    import os
    import pty
    import sys

    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "arlequin_core.cli", *args], {**os.environ, **env})
    out = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    os.waitpid(pid, 0)
    os.close(fd)
    return out.decode("utf-8", "replace")


def test_drift_is_red_on_a_terminal_unless_no_color(make_frame) -> None:
    _long_names(make_frame)
    Path("arlequin.toml").write_text(CONFIG)
    args = ("--log-format", "json", "detect", "-r", "ref.parquet", "-c", "drifted.parquet", "--no-progress")
    colored = _on_a_terminal(*args, env={"NO_COLOR": ""})
    assert "\x1b[1;31mDRIFT\x1b[0m: " in colored and "\x1b[1;31mDRIFT\x1b[0m\r\n" in colored, colored
    plain = _on_a_terminal(*args, env={"NO_COLOR": "1"})
    assert "DRIFT: " in plain and "\x1b[" not in plain, plain


def test_progress_goes_to_stderr_when_asked_and_never_to_stdout(files) -> None:
    Path("arlequin.toml").write_text(CONFIG)
    runner = CliRunner()
    args = ["detect", "-r", "ref.parquet", "-c", "drifted.parquet", "--json", "r.json", "--html", "r.html"]
    shown = runner.invoke(main, [*args, "--progress"], catch_exceptions=False)
    assert shown.exit_code == EXIT_DRIFT, shown.output
    for phase in ("reading ref.parquet", "fitting the reference (5,000 rows)", "checking drifted.parquet", "drawing"):
        assert phase in shown.stderr, shown.stderr
        assert phase not in shown.stdout
    assert shown.stdout.startswith("DRIFT: ")
    quiet = runner.invoke(main, args, catch_exceptions=False)  # not a terminal, not asked: nothing
    assert "fitting the reference" not in quiet.stderr and quiet.stdout == shown.stdout


def test_detect_from_two_parquet_files_imports_no_pandas_nor_scipy(tmp_path):
    """The reference fit reads and samples without pyarrow's pandas layer (the PCA fit takes a
    200,000-row sample of a larger reference), so a one-off check from two files loads neither."""
    import os
    import subprocess
    import sys

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from arlequin_core.drift.multivariate import PCA_ROWS

    rng = np.random.default_rng(5)
    for name, rows, shift in (("ref", PCA_ROWS + 5_000, 0.0), ("cur", 20_000, 0.2)):
        table = pa.table(
            {
                "amount": rng.normal(shift, 1.0, rows),
                "age": rng.integers(18, 90, rows),
                "channel": rng.choice(["web", "shop", "phone"], rows),
                "city": rng.choice([f"c{i}" for i in range(40)], rows),
            }
        )
        pq.write_table(table, tmp_path / f"{name}.parquet")
    code = (
        "import sys\n"
        "from arlequin_core.cli import main\n"
        "try:\n"
        "    main.main(sys.argv[1:], prog_name='arlequin')\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'scipy') or m == 'pyarrow.dataset'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARLEQUIN_")} | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    args = ["detect", "-r", "ref.parquet", "-c", "cur.parquet", "--json", "r.json", "-q"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert "exit 3" in proc.stdout, proc.stdout + proc.stderr  # the shifted amount drifted: it really ran
    assert "amount" in json.loads((tmp_path / "r.json").read_text())["drifted_columns"]
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_detect_reads_the_batch_once_early_without_a_config_and_as_the_config_says_with_one(files, monkeypatch):
    """Without a config file the batch is read before the config loads (the defaults decide the
    read), once; with one, the config's read is the only one (here it keeps a pandas index column
    that the config names as the timestamp, which the default read would drop)."""
    import pandas as pd

    import arlequin_core.io as io

    reads: list[tuple[str, tuple[str, ...]]] = []
    real = io.read_table

    def counted(uri, fmt="auto", columns=None, keep_index=(), **kw):
        reads.append((str(uri), tuple(sorted(keep_index))))
        return real(uri, fmt, columns, keep_index, **kw)

    monkeypatch.setattr(io, "read_table", counted)
    import arlequin_core.commands.detect as detect_module

    early: list[bool] = []
    real_early = detect_module._early_read

    def spied(*args):
        future = real_early(*args)
        early.append(future is not None)
        return future

    monkeypatch.setattr(detect_module, "_early_read", spied)
    frame = pd.read_parquet("same.parquet")
    frame["when"] = pd.date_range("2026-01-01", periods=len(frame), freq="min")
    frame.set_index("when").to_parquet("indexed.parquet")
    assert (
        detect(
            "--reference", "ref.parquet", "--current", "same.parquet", "--save-profile", "p.profile", config=None
        ).exit_code
        == EXIT_OK
    )
    reads.clear()
    result = detect("--reference", "p.profile", "--current", "indexed.parquet", "--json", "a.json", config=None)
    assert result.exit_code == EXIT_OK, result.output
    assert reads == [("indexed.parquet", ())] and early[-1] is True
    assert "'when': the pandas index" in " ".join(json.loads(Path("a.json").read_text())["notes"])

    reads.clear()
    result = detect(
        "--reference",
        "p.profile",
        "--current",
        "indexed.parquet",
        "--json",
        "b.json",
        config='[data]\ntimestamp = "when"\n',
    )
    assert result.exit_code == EXIT_OK, result.output
    assert reads == [("indexed.parquet", ("when",))] and early[-1] is False
    assert not any("'when'" in note for note in json.loads(Path("b.json").read_text())["notes"])

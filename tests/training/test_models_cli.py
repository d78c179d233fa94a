"""The CLI: train, validate, promote, models, models rollback; exit statuses and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.journal import read_journal

pytestmark = pytest.mark.slow


@pytest.fixture
def cli(isolated: Path):
    """Run ``arlequin --config <tmp>/arlequin.toml ARGS``; extra TOML lines may be given."""

    def run(*args: str, toml: str = "", label: str = 'label = "y"'):
        config = isolated / "arlequin.toml"
        config.write_text(
            f'[arlequin]\nhome = "{isolated / ".arlequin"}"\njournal_fsync = false\n'
            f'[data]\n{label}\nexclude = ["id"]\n{toml}',
            encoding="utf-8",
        )
        return CliRunner().invoke(main, ["--config", str(config), *args])

    return run


CRIPPLED = '[training]\nmetric = "log_loss"\nparams = { C = 1e-6 }\n'


def test_train_prints_run_version_metrics_and_verdict(cli, write_batch) -> None:
    out = cli("train", "--data", write_batch("b1", n=1500))
    assert out.exit_code == 0, out.output
    assert "run id:" in out.stdout
    assert "model:     arlequin-model version 1" in out.stdout
    assert "roc_auc=" in out.stdout
    assert "verdict:   PROMOTED to champion: first model" in out.stdout


def test_a_failed_first_train_leaves_no_empty_state_directory(cli, write_batch, isolated: Path) -> None:
    """The home is made by the training that needs it; a failure removes what it made (only that)."""
    import pandas as pd

    home = isolated / ".arlequin"
    assert cli("train", "--data", str(isolated / "missing.parquet")).exit_code == 2
    assert not home.exists()
    no_label = isolated / "no_label.parquet"
    pd.DataFrame({"x1": [1.0, 2.0, 3.0]}).to_parquet(no_label, index=False)
    out = cli("train", "--data", str(no_label))
    assert out.exit_code == 2, out.output
    assert not home.exists()
    # A home that holds something already is left as it was (the failed run's own directory goes).
    (home / "keep").mkdir(parents=True)
    assert cli("train", "--data", str(isolated / "missing.parquet")).exit_code == 2
    assert sorted(p.name for p in home.iterdir()) == ["keep"]


def test_train_shows_its_phases_on_stderr_when_asked_and_json_stays_clean(cli, write_batch) -> None:
    out = cli("train", "--data", write_batch("p", n=1500), "--json", "--progress")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)  # stdout is the JSON alone
    assert result["version"] == "1"
    phases = ["reading the training data", "fitting", "on 1,200 rows", "scoring 300 held-out rows", "profiling"]
    phases += ["connecting to MLflow", "logging to MLflow, registering", "validating against the champion"]
    for phase in phases:
        assert phase in out.stderr, out.stderr
    assert "fitting" not in cli("train", "--data", write_batch("q", n=1500, seed=3)).stderr  # not a terminal


def test_two_batches_in_one_training(cli, write_batch) -> None:
    out = cli("train", "--data", write_batch("a", n=800, seed=1), "--data", write_batch("b", n=800, seed=2), "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["data_uris"]) == 2
    assert result["metrics"]["roc_auc"] > 0.8


def test_bad_input_exits_2_naming_the_file(cli, isolated: Path) -> None:
    out = cli("train", "--data", str(isolated / "missing.parquet"))
    assert out.exit_code == 2
    assert f"error: {isolated / 'missing.parquet'}: no such file or directory" in out.output
    usage = cli("train")
    assert usage.exit_code == 2
    assert "give --data URI" in usage.output


def test_bad_label_rule_exits_2_with_a_caret(cli, write_batch) -> None:
    rule = '[training]\nlabel_rule = "x1 > 1 andd c == 1"\n'
    out = cli("train", "--data", write_batch("b1", n=200), toml=rule)
    # [data] label and [training] label_rule are both set: that is the first error.
    assert out.exit_code == 2
    assert "not both" in out.output
    out = cli("train", "--data", write_batch("b1", n=200), toml=rule, label="")
    assert out.exit_code == 2
    assert "label_rule, at column 8: unexpected 'andd'" in out.output
    assert "    x1 > 1 andd c == 1\n           ^^^^" in out.output
    out = cli("train", "--data", write_batch("b1", n=200), toml='[training]\nlabel_rule = "x9 > 1"\n', label="")
    assert out.exit_code == 2
    assert "unknown column 'x9' (known columns: c, flag, id, x1, x2, y)" in out.output


def test_jenkins_stages_train_no_promote_validate_promote(cli, write_batch) -> None:
    recent = write_batch("recent", n=1000, seed=3)
    out = cli("train", "--data", write_batch("a", n=1500, seed=1), "--no-promote")
    assert out.exit_code == 0, out.output
    assert "NOT promoted: passed validation; not promoted (--no-promote): first model" in out.stdout
    assert cli("validate", "--data", recent, "--require-pass").exit_code == 0
    out = cli("promote")
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == "arlequin-model: champion is version 1"


def test_validate_require_pass_exits_4_on_rejection_and_0_without(cli, write_batch) -> None:
    assert cli("train", "--data", write_batch("a", n=1500, seed=1)).exit_code == 0
    assert cli("train", "--data", write_batch("b", n=1500, seed=2), "--no-promote", toml=CRIPPLED).exit_code == 0
    recent = write_batch("recent", n=1000, seed=3)
    out = cli("validate", "--data", recent, toml=CRIPPLED)
    assert out.exit_code == 0, out.output
    assert (
        "verdict: REJECTED: significantly worse than the champion by more than 0 (non_inferior): log_loss challenger"
        in out.stdout
    )
    assert "challenger v2" in out.stdout
    assert "champion v1" in out.stdout
    out = cli("validate", "--data", recent, "--require-pass", toml=CRIPPLED)
    assert out.exit_code == 4
    # Version 1 against itself (it is the champion) passes.
    out = cli("validate", "--data", recent, "--version", "1", "--require-pass", "--json", toml=CRIPPLED)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["reason"] == "is the champion"


def test_promote_refuses_a_rejected_version_without_force_then_rollback(cli, write_batch, isolated: Path) -> None:
    assert cli("train", "--data", write_batch("a", n=1500, seed=1)).exit_code == 0
    out = cli("train", "--data", write_batch("b", n=1500, seed=2), toml=CRIPPLED)
    assert "NOT promoted" in out.stdout

    out = cli("promote")  # the challenger, version 2
    assert out.exit_code == 2
    assert "version 2 of 'arlequin-model' was rejected by validation" in out.output
    assert "--force" in out.output

    out = cli("promote", "--version", "2", "--force")
    assert out.exit_code == 0, out.output
    assert "champion is version 2 (was version 1)" in out.stdout

    out = cli("models", "--json")
    rows = {row["version"]: row for row in json.loads(out.stdout)}
    assert rows["2"]["aliases"] == ["champion"]  # promoted: no longer the challenger
    assert rows["2"]["status"] == "rejected,forced"
    assert rows["1"]["aliases"] == []
    assert rows["1"]["metrics"]["roc_auc"] > 0.8

    out = cli("models", "rollback")
    assert out.exit_code == 0, out.output
    assert "champion is version 1 (rolled back from version 2)" in out.stdout
    listing = cli("models")
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:4] == ["version", "aliases", "status", "created"]
    assert lines[1].split()[:2] == ["1", "champion"]
    assert lines[2].split()[:2] == ["2", "rejected,forced,rolled-back"]  # champion once: no challenger alias
    # The verdict of version 2 against version 1: the paired test's difference, interval and p-value.
    assert lines[0].endswith("vs champion (difference, interval, p)")
    assert " v1 log_loss +" in lines[2] and " bootstrap non_inferior: rejected" in lines[2]
    verdict = rows["2"]["validation"]
    assert (verdict["metric"], verdict["method"], verdict["passed"]) == ("log_loss", "bootstrap", False)
    assert verdict["low"] > 0 and 0 <= verdict["p_value"] < 0.05  # log loss: worse is a positive difference

    out = cli("models", "rollback")
    assert out.exit_code == 2
    assert "was the first champion; there is no previous one" in out.output

    out = cli("promote", "--version", "9")
    assert out.exit_code == 2
    assert "has no version '9'; versions: 1, 2" in out.output

    # Hand promotions and rollbacks are events too, so the daemon follows the champion.
    journal = list(read_journal(isolated / ".arlequin" / "journal.jsonl"))
    reasons = [e.reason for e in journal if e.name == "model-registered"]
    assert reasons[-2:] == ["promoted by hand (forced)", "rollback from version 2"]


def test_models_without_any_version(cli) -> None:
    out = cli("models")
    assert out.exit_code == 0
    assert "no versions of 'arlequin-model' yet" in out.stdout
    out = cli("promote")
    assert out.exit_code == 2
    assert "has no challenger to promote" in out.output
    out = cli("models", "rollback")
    assert out.exit_code == 2
    assert "has no champion" in out.output


def test_train_help_documents_exit_status_and_resume(cli) -> None:
    out = cli("train", "--help")
    assert "exit status 0" in out.stdout
    assert "--resume" in out.stdout
    out = cli("validate", "--help")
    assert "--require-pass" in out.stdout
    assert "exit 4" in out.stdout


def test_models_says_which_rows_each_versions_metrics_were_measured_on(cli, write_batch) -> None:
    assert cli("train", "--data", write_batch("a", n=1500, seed=1)).exit_code == 0
    assert (
        cli("train", "--data", write_batch("b", n=1000, seed=2), "--data", write_batch("c", n=1000, seed=3)).exit_code
        == 0
    )
    rows = {row["version"]: row for row in json.loads(cli("models", "--json").stdout)}
    assert (
        rows["1"]["heldout"]["rows"] == 300 and rows["1"]["heldout"]["description"] == "300 held-out rows of a.parquet"
    )
    assert rows["2"]["heldout"]["description"] == "400 held-out rows of b.parquet, c.parquet"
    lines = cli("models").stdout.splitlines()
    assert "metrics measured on" in lines[0]
    assert "300 held-out rows of a.parquet" in lines[1]
    assert "400 held-out rows of b.parquet, c.parquet" in lines[2]
    assert lines[-1].startswith("note: each version's metrics are on its own held-out rows, so they are not comparable")
    # The columns stay aligned: the verdict column starts at the same place on every row.
    start = lines[0].index("vs champion")
    assert lines[2][start:].startswith("v1 roc_auc ")

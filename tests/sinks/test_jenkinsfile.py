"""The repository's Jenkinsfile, read by a small declarative-pipeline reader (tested here too)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from arlequin_jenkins.settings import PARAMETERS
from arlequin_jenkins.sink import JenkinsSink

from .conftest import drift, jenkins_table
from .jenkinsfile import JenkinsfileError, Step, decode, parse, strip_comments
from .servers import Job

ROOT = Path(__file__).resolve().parents[2]
JENKINSFILE = ROOT / "Jenkinsfile"

SAMPLE = r"""
// a comment with { braces } and 'quotes'
/* block comment: pipeline { stages { } } */
pipeline {
    agent any
    parameters {
        string(name: 'A', defaultValue: 'x (y), z: w', description: 'it\'s {tricky}')
        booleanParam(name: 'B', defaultValue: true, description: "b")
    }
    environment { E1 = 'one'
        E2 = "two" }
    stages {
        stage('First one') {
            steps {
                sh 'echo "a b" && exit 0'
                sh(script: 'echo second', returnStatus: true)
                sh script: 'echo third', label: 'x'
                script { def shx = 1 }
                sh '''
                    echo multi
                    echo line
                '''
                sh "echo ${params.A}"
                fish 'not a step'
            }
        }
        stage("Second") {
            when { expression { false } }
            steps { sh('echo four') }
        }
    }
    post { failure { echo 'x' } }
}
"""


def test_reader_finds_parameters_environment_and_sh_steps_in_order() -> None:
    pipeline = parse(SAMPLE)
    assert pipeline.parameters == {"A": "x (y), z: w", "B": "true"}
    assert pipeline.parameter_kinds == {"A": "string", "B": "booleanParam"}
    assert pipeline.environment == {"E1": "one", "E2": "two"}
    assert [s.name for s in pipeline.stages] == ["First one", "Second"]
    first, second = pipeline.stages
    assert [s.script.strip() for s in first.steps] == [
        'echo "a b" && exit 0',
        "echo second",
        "echo third",
        "echo multi\n                    echo line",
        "echo ${params.A}",
    ]
    assert [s.interpolated for s in first.steps] == [False, False, False, False, True]
    assert second.steps == [Step("echo four")]
    assert set(pipeline.post) == {"failure"}


def test_reader_decodes_groovy_escapes_and_keeps_strings_out_of_comment_stripping() -> None:
    assert decode(r"'it\'s'").value == "it's"
    assert decode(r"'a\\b'").value == "a\\b"
    assert decode('"cost: \\$5"') == decode('"cost: \\$5"') and not decode('"cost: \\$5"').interpolated
    assert decode('"${x}"').interpolated and not decode("'${x}'").interpolated
    assert strip_comments("sh 'http://x' // gone\n") == "sh 'http://x' \n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("node { sh 'x' }", "no pipeline"),
        ("pipeline { agent any }", "no stages"),
        ("pipeline { stages { stage('a') { steps { sh 'oops } } } }", "unterminated string"),
        ("pipeline { stages { stage('a') { steps { sh 'x' } }", "unbalanced"),
    ],
)
def test_reader_refuses_what_it_cannot_read(text: str, message: str) -> None:
    with pytest.raises(JenkinsfileError, match=message):
        parse(text)


# ---------------------------------------------------------------------- the repository's Jenkinsfile
@pytest.fixture(scope="module")
def pipeline():
    return parse(JENKINSFILE.read_text())


def test_stages_are_the_five_and_each_is_one_arlequin_call(pipeline) -> None:
    assert [s.name for s in pipeline.stages] == ["Setup", "Check drift", "Train", "Validate", "Promote"]
    for stage in pipeline.stages:
        (step,) = stage.steps
        assert step.script.count("arlequin ") == 1, stage.name
        assert not step.interpolated, f"{stage.name}: let the shell expand parameters, not Groovy"
    scripts = [s.steps[0].script for s in pipeline.stages]
    assert "arlequin detect --reference" in scripts[1] and "--json" in scripts[1] and "--html" in scripts[1]
    assert scripts[2].startswith("arlequin train --data ")
    assert scripts[3].startswith("arlequin validate --data ") and "--require-pass" in scripts[3]
    assert scripts[4] == "arlequin promote"


def test_parameters_match_what_the_sink_sends(pipeline) -> None:
    assert set(PARAMETERS) <= set(pipeline.parameters)
    assert all(pipeline.parameter_kinds[name] == "string" for name in PARAMETERS)


def test_options_post_and_environment(pipeline) -> None:
    assert "disableConcurrentBuilds()" in pipeline.options
    assert any(option.startswith("timeout(time:") for option in pipeline.options)
    assert "archiveArtifacts" in pipeline.post["always"] and "reports/**" in pipeline.post["always"]
    assert pipeline.environment["REPORTS"] == "reports"
    assert pipeline.environment["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_every_parameter_the_sink_sends_reaches_this_pipeline(pipeline, make_app, jenkins) -> None:
    # A job declared with exactly the Jenkinsfile's parameters keeps everything the sink sends.
    jenkins.jobs["ml/retrain"] = Job(parameters=tuple(pipeline.parameters))
    app = make_app({"jenkins": jenkins_table(jenkins)})
    sink = JenkinsSink(app.config.sinks["jenkins"], app)
    sink.submit(drift("b1"))
    sink.flush()
    sink.close()
    (trigger,) = jenkins.triggers
    assert set(trigger) == set(PARAMETERS)


@pytest.mark.parametrize(("detect_status", "stage_status"), [(0, 0), (3, 0), (1, 1), (2, 2)])
def test_check_drift_stage_passes_on_drift_and_fails_on_errors(pipeline, tmp_path, detect_status, stage_status):
    """Run the stage's shell line as Jenkins does (``sh -xe``) with a stand-in ``arlequin`` exiting ``status``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "arlequin"
    fake.write_text(f'#!/bin/sh\necho "arlequin $*" >> calls.txt\nexit {detect_status}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, **pipeline.parameters, **pipeline.environment, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    (step,) = pipeline.stages[1].steps
    done = subprocess.run(["/bin/sh", "-xe", "-c", step.script], env=env, cwd=tmp_path, capture_output=True)
    assert (done.returncode == 0) == (stage_status == 0)
    call = (tmp_path / "calls.txt").read_text().strip()
    assert call == (
        "arlequin detect --reference data/reference.parquet --current data/current.parquet "
        "--json reports/drift.json --html reports/drift.html"
    )


def test_all_steps_in_order_with_the_embedded_defaults_against_a_stand_in(pipeline, tmp_path) -> None:
    """Every stage's shell line, as ``sh -xe`` runs it, calls ``arlequin`` with the parameters expanded."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "arlequin"
    fake.write_text('#!/bin/sh\necho "arlequin $* ($# args)" >> calls.txt\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, **pipeline.parameters, **pipeline.environment, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env["BATCH_URI"] = "hdfs:///landing/b 7.parquet"  # a space must survive the shell
    for stage in pipeline.stages:
        for step in stage.steps:
            done = subprocess.run(["/bin/sh", "-xe", "-c", step.script], env=env, cwd=tmp_path, capture_output=True)
            assert done.returncode == 0, (stage.name, done.stderr)
    assert (tmp_path / "reports").is_dir()
    assert (tmp_path / "calls.txt").read_text().splitlines() == [
        "arlequin plugins (1 args)",
        "arlequin detect --reference data/reference.parquet --current hdfs:///landing/b 7.parquet "
        "--json reports/drift.json --html reports/drift.html (9 args)",
        "arlequin train --data hdfs:///landing/b 7.parquet --no-promote (4 args)",
        "arlequin validate --data hdfs:///landing/b 7.parquet --require-pass (4 args)",
        "arlequin promote (1 args)",
    ]

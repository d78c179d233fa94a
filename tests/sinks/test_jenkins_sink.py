"""The jenkins sink against a server that speaks Jenkins' remote access API."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl

import pytest

from arlequin_core.errors import ConfigError
from arlequin_core.events import BuildFinished, SinkDelivered, SinkFailed
from arlequin_core.journal import read_journal
from arlequin_jenkins.settings import PARAMETERS, JenkinsSettings
from arlequin_jenkins.sink import JenkinsSink

from .conftest import TOKEN, drift, jenkins_table
from .servers import FakeJenkins, Job


def _sink(make_app, server: FakeJenkins, **overrides) -> JenkinsSink:
    app = make_app({"jenkins": jenkins_table(server, **overrides)})
    return JenkinsSink(app.config.sinks["jenkins"], app)


def _events(sink: JenkinsSink, cls):
    sink.app.bus.join()
    return [e for e in read_journal(sink.app.journal_path) if isinstance(e, cls)]


def test_arlequin_on_drift_detected_triggers_build_with_parameters_and_follows_it(make_app, jenkins) -> None:
    sink = _sink(make_app, jenkins)
    event = drift("b1")
    sink.arlequin_on_drift_detected(event)
    result = sink.flush()
    sink.close()

    assert (result.delivered, result.deliveries, result.failed) == (1, 1, 0)
    assert jenkins.triggers == [
        {
            "BATCH_URI": "file:///data/b1.parquet",
            "BATCH_IDS": "b1",
            "DRIFT_REPORT": "file:///reports/b1.html",
            "MODEL_NAME": "churn",
            "REASON": "3 of 4 columns drifted (holm-corrected KS)",
            "EVENT_ID": event.event_id,
        }
    ]
    # Credentials on the very first request: Jenkins sends no challenge.
    first = jenkins.requests[0]
    assert first.method == "POST" and first.path == "/job/ml/job/retrain/buildWithParameters"
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(f"arlequin:{TOKEN}".encode()).decode()
    assert TOKEN not in first.query and TOKEN.encode() not in first.body
    # An API token needs no crumb: the issuer was never asked.
    assert not any(r.path.startswith("/crumbIssuer") for r in jenkins.requests)

    (delivered,) = _events(sink, SinkDelivered)
    build_url = f"{jenkins.root}job/ml/job/retrain/1/"
    assert delivered.sink == "jenkins" and delivered.batch_id == "b1" and delivered.cause_event_id == event.event_id
    assert delivered.target == build_url
    assert delivered.detail["build_number"] == 1 and delivered.detail["build_url"] == build_url
    assert delivered.detail["queue_url"] == f"{jenkins.root}queue/item/100/"
    (finished,) = _events(sink, BuildFinished)
    assert (finished.result, finished.build_number, finished.build_url) == ("SUCCESS", 1, build_url)
    assert finished.batch_id == "b1"


def test_folders_and_context_path_make_the_job_url(make_app) -> None:
    with FakeJenkins(token=TOKEN, context="/jenkins") as server:
        server.jobs = {"team a/ml/retrain": Job()}
        sink = _sink(make_app, server, job="team a/ml/retrain")
        sink.submit(drift("b1"))
        assert sink.flush().delivered == 1
        sink.close()
        assert server.trigger_posts()[0].path == "/jenkins/job/team%20a/job/ml/job/retrain/buildWithParameters"


def test_exactly_one_build_per_drifted_batch_also_across_a_restart(make_app, jenkins) -> None:
    sink = _sink(make_app, jenkins)
    for event in (drift("b1"), drift("b2"), drift("b1")):  # b1 again: re-detected
        sink.arlequin_on_drift_detected(event)
        sink.flush()
    sink.close()
    assert [t["BATCH_IDS"] for t in jenkins.triggers] == ["b1", "b2"]

    # A restart: new app, new sink instance, same home. b1 and b2 are known.
    restarted = _sink(make_app, jenkins)
    for event in (drift("b2"), drift("b1"), drift("b3")):
        restarted.arlequin_on_drift_detected(event)
    restarted.flush()
    restarted.close()
    assert [t["BATCH_IDS"] for t in jenkins.triggers] == ["b1", "b2", "b3"]


def test_503_for_a_while_then_success_gives_one_trigger(make_app, jenkins) -> None:
    jenkins.script = [503, 503, 502]
    sink = _sink(make_app, jenkins, max_attempts=5)
    sink.submit(drift("b1"))
    result = sink.flush()
    sink.close()
    assert result.delivered == 1
    assert len(jenkins.trigger_posts()) == 4  # three refused, one accepted
    assert len(jenkins.triggers) == 1 and len(jenkins.queue) == 1
    (letter,) = sink.store.letters("jenkins")
    assert letter.state == "delivered" and letter.attempts == 4


def test_401_gives_one_clear_error_and_no_retry_loop(make_app, jenkins) -> None:
    jenkins.token = "a-different-token-than-configured"
    sink = _sink(make_app, jenkins, max_attempts=6)
    sink.submit(drift("b1"))
    result = sink.flush()
    sink.close()
    assert (result.delivered, result.failed) == (0, 1)
    assert len(jenkins.requests) == 1  # one request, no retry
    (failed,) = _events(sink, SinkFailed)
    assert "rejected the credentials of user 'arlequin' (401" in failed.error
    assert "JENKINS_TOKEN" in failed.error and failed.retryable is False
    (dead,) = sink.store.letters("jenkins", state="dead")
    assert dead.key == "drift-detected:b1" and dead.attempts == 1


@pytest.mark.parametrize(
    ("setup", "status", "advice"),
    [
        (
            lambda j: j.jobs.update({"ml/retrain": Job(can_build=False)}),
            403,
            "grant it Overall/Read, Job/Read and Job/Build",
        ),
        (lambda j: j.jobs.clear() or j.jobs.update({"other": Job()}), 404, "job 'ml/retrain' not found"),
        (lambda j: j.jobs.update({"ml/retrain": Job(disabled=True)}), 409, "it is disabled; enable it in Jenkins"),
        (lambda j: j.jobs.update({"ml/retrain": Job(parameters=None)}), 500, "has no parameters"),
        (lambda j: setattr(j, "script", [400]), 400, "parameter definitions"),
    ],
    ids=["403-no-permission", "404-job-missing", "409-job-disabled", "no-parameters", "400-bad-request"],
)
def test_permanent_refusals_are_not_retried_and_say_what_to_do(make_app, jenkins, setup, status, advice) -> None:
    setup(jenkins)
    sink = _sink(make_app, jenkins, max_attempts=6)
    sink.submit(drift("b1"))
    assert sink.flush().failed == 1
    sink.close()
    assert len(jenkins.trigger_posts()) == 1
    (failed,) = _events(sink, SinkFailed)
    assert advice in failed.error and failed.retryable is False
    assert str(status) in failed.error


def test_5xx_until_the_budget_is_spent_makes_a_dead_letter(make_app, jenkins) -> None:
    jenkins.script = [500] * 10
    sink = _sink(make_app, jenkins, max_attempts=3)
    sink.submit(drift("b1"))
    assert sink.flush().failed == 1
    sink.close()
    assert len(jenkins.trigger_posts()) == 3
    (failed,) = _events(sink, SinkFailed)
    assert "Jenkins answered 500" in failed.error and failed.retryable is True
    assert [letter.key for letter in sink.store.letters("jenkins", state="dead")] == ["drift-detected:b1"]


def test_slow_answers_time_out_and_are_retried(make_app, jenkins) -> None:
    jenkins.script = ["slow"]
    jenkins.slow_seconds = 1.0
    sink = _sink(make_app, jenkins, read_timeout=0.2)
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.close()
    # The slow request was still served after the client gave up: Jenkins saw the same
    # parameters queued and merged the retry into it (303) instead of a second build.
    assert len(jenkins.trigger_posts()) == 2
    assert len(jenkins.queue) == 1


def test_unreachable_jenkins_is_retried_then_dead_lettered(make_app, jenkins) -> None:
    table = jenkins_table(jenkins, url="http://127.0.0.1:9/", max_attempts=2)  # discard port: refused
    app = make_app({"jenkins": table})
    sink = JenkinsSink(app.config.sinks["jenkins"], app)
    sink.submit(drift("b1"))
    assert sink.flush().failed == 1
    sink.close()
    (failed,) = _events(sink, SinkFailed)
    assert "cannot reach http://127.0.0.1:9/job/ml/job/retrain/buildWithParameters" in failed.error


def test_crumb_is_fetched_only_when_required_and_sent_with_its_session(make_app) -> None:
    with FakeJenkins(token=TOKEN, require_crumb=True) as server:
        sink = _sink(make_app, server)
        sink.submit(drift("b1"))
        sink.submit(drift("b2"))
        sink.settings.coalesce = False
        assert sink.flush().delivered == 2
        sink.close()
        paths = [(r.method, r.path) for r in server.requests if not r.path.endswith("api/json") or "crumb" in r.path]
        assert paths == [
            ("POST", "/job/ml/job/retrain/buildWithParameters"),  # 403: no valid crumb
            ("GET", "/crumbIssuer/api/json"),
            ("POST", "/job/ml/job/retrain/buildWithParameters"),  # with crumb and session cookie
            ("POST", "/job/ml/job/retrain/buildWithParameters"),  # crumb kept for the session
        ]
        posts = server.trigger_posts()
        assert "Jenkins-Crumb" not in posts[0].headers
        assert posts[1].headers["Jenkins-Crumb"] == posts[2].headers["Jenkins-Crumb"]
        assert "JSESSIONID" in posts[1].headers["Cookie"]
        assert len(server.triggers) == 2


def test_build_token_goes_in_the_form_body(make_app, jenkins) -> None:
    jenkins.jobs["ml/retrain"].auth_token = "remote-trigger-secret-42"
    sink = _sink(make_app, jenkins, build_token="remote-trigger-secret-42")
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.close()
    post = jenkins.trigger_posts()[0]
    assert dict(parse_qsl(post.body.decode()))["token"] == "remote-trigger-secret-42"
    assert "token" not in post.query


def test_cancelled_queue_item_is_a_dead_letter_that_replay_can_send(make_app, jenkins) -> None:
    jenkins.cancel_queue = True
    sink = _sink(make_app, jenkins)
    sink.submit(drift("b1"))
    assert sink.flush().failed == 1
    (failed,) = _events(sink, SinkFailed)
    assert "was cancelled in Jenkins" in failed.error and failed.retryable
    sink.close()


def test_expired_queue_item_still_counts_as_delivered(make_app, jenkins) -> None:
    jenkins.expire_queue = True
    sink = _sink(make_app, jenkins)
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.close()
    (delivered,) = _events(sink, SinkDelivered)
    assert delivered.target == f"{jenkins.root}queue/item/100/" and "build_number" not in delivered.detail
    assert len(jenkins.triggers) == 1


def test_drift_storm_causes_one_build_at_a_time_and_loses_nothing(make_app, jenkins) -> None:
    """While build 1 runs, b2..b4 arrive; they go out together as build 2 once build 1 finished."""
    from .conftest import wait_until

    jenkins.hold_builds = True
    sink = _sink(make_app, jenkins)
    sink.start()
    sink.arlequin_on_drift_detected(drift("b1"))
    wait_until(lambda: jenkins.building())
    for batch in ("b2", "b3", "b4"):
        sink.arlequin_on_drift_detected(drift(batch))
    wait_until(lambda: sink.store.counts("jenkins")["pending"] == 3)
    assert len(jenkins.triggers) == 1  # nothing else triggered while build 1 runs

    jenkins.finish(1)
    wait_until(lambda: len(jenkins.building()) == 1 and jenkins.building()[0].number == 2)
    jenkins.finish(2)
    wait_until(lambda: sink.store.counts("jenkins")["delivered"] == 4)
    wait_until(lambda: len(_events(sink, BuildFinished)) == 2)
    sink.close()
    assert [t["BATCH_IDS"] for t in jenkins.triggers] == ["b1", "b2,b3,b4"]
    second = jenkins.triggers[1]
    assert second["BATCH_URI"] == "file:///data/b4.parquet"  # the newest batch leads
    assert "3 earlier" not in second["REASON"] and "2 earlier drifted batch(es) coalesced" in second["REASON"]
    delivered = _events(sink, SinkDelivered)
    assert sorted(e.batch_id for e in delivered) == ["b1", "b2", "b3", "b4"]
    assert {e.detail["build_number"] for e in delivered if e.batch_id != "b1"} == {2}
    assert [e.result for e in _events(sink, BuildFinished)] == ["SUCCESS", "SUCCESS"]


def test_cooldown_holds_the_next_trigger_and_survives_a_restart(make_app, jenkins) -> None:
    sink = _sink(make_app, jenkins, cooldown=3600)
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.submit(drift("b2"))
    assert sink.cooldown_remaining() > 3000
    sink.close()
    restarted = _sink(make_app, jenkins, cooldown=3600)
    assert restarted.cooldown_remaining() > 3000
    restarted.start()
    restarted.close()
    assert len(jenkins.triggers) == 1
    assert restarted.store.counts("jenkins")["pending"] == 1  # kept, not dropped


def test_close_stops_a_retry_loop_and_keeps_the_letter(make_app, jenkins) -> None:
    from .conftest import wait_until

    jenkins.script = [503] * 1000
    sink = _sink(make_app, jenkins, max_attempts=100, backoff_initial=3600, backoff_max=3600)
    sink.start()
    sink.submit(drift("b1"))
    wait_until(lambda: len(jenkins.trigger_posts()) >= 1)
    sink.close(timeout=30)
    assert not sink._thread.is_alive()  # it was waiting an hour to retry
    (letter,) = sink.store.letters("jenkins")
    assert letter.state == "pending"  # delivered by the next start, never lost


def test_a_crash_mid_delivery_becomes_a_dead_letter_not_a_second_build(make_app, jenkins) -> None:
    import sqlite3

    sink = _sink(make_app, jenkins)
    sink.submit(drift("b1"))
    sink.close()
    # Simulate a process that claimed the letter and died before recording the outcome.
    db = sqlite3.connect(sink.store.path)
    db.execute("UPDATE letters SET state = 'delivering', owner = ? WHERE key = 'drift-detected:b1'", (_dead_owner(),))
    db.commit()
    db.close()
    restarted = _sink(make_app, jenkins)
    (dead,) = restarted.store.letters("jenkins", state="dead")
    assert "may or may not have reached the target" in dead.error
    assert restarted.flush().deliveries == 0
    restarted.close()
    assert jenkins.triggers == []


def _dead_owner() -> str:
    import socket
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{proc.stdout.strip()}"


def test_extra_parameters_are_sent_and_reserved_names_refused(make_app, jenkins) -> None:
    sink = _sink(make_app, jenkins, parameters={"REFERENCE_URI": "hdfs:///ref/2026-11"})
    jenkins.jobs["ml/retrain"].parameters = (*PARAMETERS, "REFERENCE_URI")
    sink.submit(drift("b1"))
    sink.flush()
    sink.close()
    assert jenkins.triggers[0]["REFERENCE_URI"] == "hdfs:///ref/2026-11"
    with pytest.raises(ConfigError, match=r"sinks\.jenkins\.parameters.*BATCH_URI"):
        _sink(make_app, jenkins, parameters={"BATCH_URI": "x"})


def test_parameter_names_rename_what_the_sink_sends(make_app, jenkins) -> None:
    jenkins.jobs["ml/retrain"].parameters = (
        "DATA_PATH",
        "BATCH_IDS",
        "DRIFT_REPORT",
        "MODEL_NAME",
        "REASON",
        "EVENT_ID",
    )
    sink = _sink(make_app, jenkins, parameter_names={"BATCH_URI": "DATA_PATH"})
    sink.submit(drift("b1"))
    sink.flush()
    sink.close()
    (trigger,) = jenkins.triggers
    assert trigger["DATA_PATH"] == "file:///data/b1.parquet" and "BATCH_URI" not in trigger
    with pytest.raises(ConfigError, match="BATCH_URL not sent by the sink"):
        _sink(make_app, jenkins, parameter_names={"BATCH_URL": "X"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token": None}, "user 'arlequin' has no token"),
        ({"url": "ftp://jenkins/"}, "key sinks.jenkins.url"),
        ({"url": "https://u:p@jenkins/"}, "must not hold credentials"),
        ({"job": "/"}, "must name a job"),
        ({"retries": 3}, "key sinks.jenkins.retries: unknown key"),
        ({"token_file": "missing-token.txt"}, "cannot read missing-token.txt"),
    ],
)
def test_bad_config_names_the_key(make_app, jenkins, overrides, message) -> None:
    table = {k: v for k, v in jenkins_table(jenkins, **overrides).items() if v is not None}
    if "token_file" in overrides:
        table.pop("token")
    app = make_app({"jenkins": table})
    with pytest.raises(ConfigError, match=message) as info:
        JenkinsSink(app.config.sinks["jenkins"], app)
    assert "arlequin.toml" in str(info.value)


def test_token_file_is_read_and_job_url_has_folders(tmp_path) -> None:
    secret = tmp_path / "jenkins_token"
    secret.write_text("file-token-0123456789\n")
    settings = JenkinsSettings(url="https://ci.example.com/jenkins", job="a/b", user="bot", token_file=secret)
    assert settings.token is not None and settings.token.get_secret_value() == "file-token-0123456789"
    assert settings.job_url() == "https://ci.example.com/jenkins/job/a/job/b/"
    assert "file-token" not in repr(settings) and "file-token" not in json.dumps(settings.model_dump(mode="json"))


def test_a_bug_while_confirming_does_not_resend_what_was_sent(make_app, jenkins, monkeypatch) -> None:
    sink = _sink(make_app, jenkins)
    monkeypatch.setattr(sink.client, "wait_for_build", lambda queue_url: 1 / 0)
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.close()
    (letter,) = sink.store.letters("jenkins")
    assert letter.state == "delivered" and letter.target == f"{jenkins.root}queue/item/100/"
    assert len(jenkins.triggers) == 1


def test_build_is_followed_at_the_address_the_sink_uses_even_if_jenkins_root_url_differs(make_app, jenkins) -> None:
    jenkins.root_url = "http://jenkins.internal.invalid:8080/"  # Jenkins' own idea of its URL
    sink = _sink(make_app, jenkins)
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.close()
    (finished,) = _events(sink, BuildFinished)
    assert finished.result == "SUCCESS"
    assert finished.build_url == "http://jenkins.internal.invalid:8080/job/ml/job/retrain/1/"  # as Jenkins names it

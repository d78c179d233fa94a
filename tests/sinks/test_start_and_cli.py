"""Sinks as the daemon runs them (start_sinks, the bus), the ``arlequin sinks`` commands, and secrets."""

from __future__ import annotations

import json

import pytest
import structlog
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.errors import UnknownComponentError
from arlequin_core.events import SinkDelivered
from arlequin_core.journal import read_journal
from arlequin_core.logs import configure_logging
from arlequin_core.plugins import PluginHost
from arlequin_core.sinks import start_sinks, stop_sinks
from arlequin_jenkins.sink import JenkinsSink
from arlequin_webhook.sink import WebhookSink

from .conftest import TOKEN, WEBHOOK_SECRET, drift, jenkins_table, wait_until, webhook_table
from .servers import FakeJenkins, WebhookReceiver


def _cli(*args: str):
    return CliRunner().invoke(main, ["--log-format", "json", *args], catch_exceptions=False)


def test_arlequin_register_sinks_registers_jenkins_and_webhook() -> None:
    host = PluginHost().load()
    assert host.registry.get("sink", "jenkins") is JenkinsSink
    assert host.registry.get("sink", "webhook") is WebhookSink
    assert "sink:jenkins" in host.plugins["jenkins"].components
    assert "sink:webhook" in host.plugins["webhook"].components


def test_start_sinks_registers_enabled_sinks_and_the_bus_feeds_them(make_app, jenkins, receiver) -> None:
    app = make_app({"jenkins": jenkins_table(jenkins), "webhook": webhook_table(receiver, enabled=False)})
    sinks = start_sinks(app)
    assert [type(s) for s in sinks] == [JenkinsSink]
    assert app.host.pm.get_plugin("sink:jenkins") is sinks[0]
    assert app.host.pm.get_plugin("sink:webhook") is None

    app.bus.publish(drift("b1"))  # as the drift monitor does
    app.bus.publish(drift("b1"))  # re-detected: no second build
    wait_until(lambda: sinks[0].store.counts("jenkins")["delivered"] == 1)
    wait_until(lambda: any(e.name == "build-finished" for e in read_journal(app.journal_path)))
    stop_sinks(app, sinks)
    assert app.host.pm.get_plugin("sink:jenkins") is None
    assert len(jenkins.triggers) == 1
    assert receiver.requests == []


def test_start_sinks_with_an_unknown_sink_lists_the_known_ones(make_app, jenkins) -> None:
    app = make_app({"jenkins": jenkins_table(jenkins), "pagerduty": {"enabled": True}})
    with pytest.raises(UnknownComponentError, match=r"unknown sink 'pagerduty'; known sinks: .*jenkins.*webhook"):
        start_sinks(app)
    # The sink started before the failure was stopped again, not leaked.
    assert app.host.pm.get_plugin("sink:jenkins") is None


def test_sinks_dead_and_replay_deliver_later(make_app, jenkins) -> None:
    down = jenkins_table(jenkins, url="http://127.0.0.1:9/", max_attempts=2)
    app = make_app({"jenkins": down})
    sink = JenkinsSink(app.config.sinks["jenkins"], app)
    sink.submit(drift("b1"))
    sink.submit(drift("b2"))
    assert sink.flush().failed == 2  # coalesced, both dead
    sink.close()
    app.close()

    listed = _cli("sinks", "dead", "--json")
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["sink"], r["batch_id"], r["attempts"]) for r in rows] == [("jenkins", "b1", 2), ("jenkins", "b2", 2)]
    assert "cannot reach" in rows[0]["error"]

    make_app({"jenkins": jenkins_table(jenkins, cooldown=3600)})  # Jenkins is back; config fixed
    replayed = _cli("sinks", "replay", "--batch", "b1")
    assert replayed.exit_code == 0, replayed.output
    assert "jenkins: 1 of 1 letter(s) delivered in 1 delivery(ies); 0 failed again" in replayed.output
    replayed = _cli("sinks", "replay")  # the cooldown does not hold a replay back
    assert replayed.exit_code == 0
    assert [t["BATCH_IDS"] for t in jenkins.triggers] == ["b1", "b2"]
    assert _cli("sinks", "dead").output.strip() == "no dead letters"
    assert _cli("sinks", "replay").output.strip() == "no dead letters to replay"
    journal = list(read_journal(app.journal_path))
    assert sorted(e.batch_id for e in journal if isinstance(e, SinkDelivered)) == ["b1", "b2"]


def test_replay_that_fails_again_exits_1_and_keeps_the_letter(make_app, jenkins) -> None:
    app = make_app({"jenkins": jenkins_table(jenkins, url="http://127.0.0.1:9/", max_attempts=1)})
    sink = JenkinsSink(app.config.sinks["jenkins"], app)
    sink.submit(drift("b1"))
    sink.flush()
    sink.close()
    result = _cli("sinks", "replay")
    assert result.exit_code == 1
    assert "1 letter(s) failed again; see `arlequin sinks dead`" in result.output
    assert "b1" in _cli("sinks", "dead").output


def test_the_token_appears_in_no_log_journal_ledger_or_report(make_app, capsys) -> None:
    configure_logging("json", "debug")
    raw: list[str] = []  # every record before redaction: the code never hands a secret to the logger

    def keep_raw(_logger, _method, event_dict):
        raw.append(repr(event_dict))
        return event_dict

    structlog.configure(processors=[keep_raw, *structlog.get_config()["processors"]])
    with (
        FakeJenkins(token="not-what-we-send-0000") as wrong,
        FakeJenkins(token=TOKEN) as right,
        WebhookReceiver() as receiver,
    ):
        app = make_app({"jenkins": jenkins_table(wrong, build_token="remote-build-token-77")})
        refused = JenkinsSink(app.config.sinks["jenkins"], app)
        refused.submit(drift("b1"))
        assert refused.flush().failed == 1  # 401
        refused.close()
        app = make_app(
            {
                "jenkins": jenkins_table(right, build_token="remote-build-token-77"),
                "webhook": webhook_table(receiver, events=["drift-detected"]),
            }
        )
        right.jobs["ml/retrain"].auth_token = "remote-build-token-77"
        for sink in (JenkinsSink(app.config.sinks["jenkins"], app), WebhookSink(app.config.sinks["webhook"], app)):
            sink.submit(drift("b2"))
            assert sink.flush().delivered == 1
            sink.close()
        app.bus.join()
        dead = _cli("sinks", "dead", "--json").output + _cli("sinks", "dead").output
        shown = _cli("config", "show", "--json").output
    assert right.triggers and receiver.requests and "401" in dead and raw  # the scenario did happen
    captured = capsys.readouterr()
    logs = captured.err + captured.out
    assert "sink_delivery_failed" in logs and "jenkins_build_finished" in logs
    ledger = b"".join(p.read_bytes() for p in app.home.glob("sinks.db*"))
    for secret in (TOKEN, "remote-build-token-77", WEBHOOK_SECRET):
        assert secret not in repr(raw)
        assert secret not in logs
        assert secret not in app.journal_path.read_text()
        assert secret.encode() not in ledger
        assert secret not in dead and secret not in shown


def test_the_watcher_daemon_starts_and_stops_the_enabled_sinks(make_app, jenkins) -> None:
    from arlequin_core.daemon import Daemon

    app = make_app({"jenkins": jenkins_table(jenkins)})
    daemon = Daemon(app, sources=[], consumers=[object()])
    daemon.start(dispatch=False)
    try:
        sink = app.host.pm.get_plugin("sink:jenkins")
        assert isinstance(sink, JenkinsSink)
        app.bus.publish(drift("b1"))
        wait_until(lambda: jenkins.triggers)
    finally:
        daemon.stop(timeout=5)
    assert app.host.pm.get_plugin("sink:jenkins") is None
    assert sink.stopping.is_set()


def test_local_retrain_sink_is_on_by_default_and_off_when_jenkins_retrains(make_app, jenkins) -> None:
    from arlequin_retrain.sink import RetrainSink

    app = make_app({})
    sinks = start_sinks(app)
    assert [type(s) for s in sinks] == [RetrainSink]
    stop_sinks(app, sinks)
    app = make_app({"retrain": {"cooldown": 5}})  # tuned, still on
    sinks = start_sinks(app)
    assert [type(s) for s in sinks] == [RetrainSink] and sinks[0].settings.cooldown == 5
    stop_sinks(app, sinks)
    app = make_app({"retrain": {"enabled": False}})
    assert start_sinks(app) == []
    app = make_app({"jenkins": jenkins_table(jenkins)})  # retraining moves to Jenkins
    sinks = start_sinks(app)
    assert [type(s) for s in sinks] == [JenkinsSink]
    stop_sinks(app, sinks)


def test_start_sinks_validates_a_sink_like_any_plugin(make_app) -> None:
    from arlequin_core import hookimpl
    from arlequin_core.errors import PluginError
    from arlequin_core.sinks.base import Sink

    class Typo(Sink):
        name = "typo"

        @hookimpl
        def arlequin_on_drift_detectd(self, event) -> None:  # misspelt: never called
            pass

    app = make_app({"typo": {"enabled": True}, "retrain": {"enabled": False}})
    app.registry.register("sink", Typo, "test")
    with pytest.raises(PluginError, match=r"cannot register sink:typo: .*unknown hook\(s\) arlequin_on_drift_detectd"):
        start_sinks(app)
    assert app.host.pm.get_plugin("sink:typo") is None


def test_one_stop_path_for_sinks_the_daemon_and_stop_sinks(make_app) -> None:
    from arlequin_core.daemon import default_start_sinks, default_stop_sinks

    app = make_app({})
    sinks = default_start_sinks(app)
    assert [s.name for s in sinks] == ["retrain"]
    assert app.host.plugins["sink:retrain"].hooks  # registered like a plugin, listed like one
    default_stop_sinks(app, sinks)
    assert app.host.pm.get_plugin("sink:retrain") is None and "sink:retrain" not in app.host.plugins
    sinks = start_sinks(app)  # and again, by the sinks' own functions
    stop_sinks(app, sinks)
    assert app.host.pm.get_plugin("sink:retrain") is None and "sink:retrain" not in app.host.plugins


def test_replay_of_the_retrain_sink_needs_no_sinks_retrain_table(make_app, tmp_path) -> None:
    from arlequin_core.events import DriftDetected
    from arlequin_retrain.sink import RetrainSink

    app = make_app({})  # the retrain sink runs without a [sinks.retrain] table
    sink = RetrainSink({}, app)
    missing = tmp_path / "gone.parquet"
    sink.submit(DriftDetected(batch_id="b1", uri=str(missing), reason="amount drifted", drift_share=1.0))
    assert sink.flush().failed == 1  # no [data] label to train with: a dead letter
    sink.close()
    assert "retrain" in _cli("sinks", "dead").output

    replayed = _cli("sinks", "replay")
    assert "no [sinks.retrain] table" not in replayed.output
    assert "retrain: 0 of 1 letter(s) delivered" in replayed.output and "1 failed again" in replayed.output
    assert replayed.exit_code == 1  # still no label: it failed again, and stays a dead letter
    assert "training needs a label" in _cli("sinks", "dead").output


def test_replay_of_a_sink_that_needs_its_table_still_names_it(make_app, jenkins) -> None:
    app = make_app({"jenkins": jenkins_table(jenkins, url="http://127.0.0.1:9/", max_attempts=1)})
    sink = JenkinsSink(app.config.sinks["jenkins"], app)
    sink.submit(drift("b1"))
    sink.flush()
    sink.close()
    make_app({})  # the [sinks.jenkins] table is gone
    result = _cli("sinks", "replay")
    assert (
        result.exit_code == 2 and "no [sinks.jenkins] table: cannot replay 1 dead letter(s) of jenkins" in result.output
    )

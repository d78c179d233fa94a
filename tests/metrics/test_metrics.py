"""The metrics plugin: the daemon checks real batches, and /metrics is scraped over real HTTP."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import requests
from drift.conftest import frame
from prometheus_client.parser import text_string_to_metric_families

from arlequin_core.app import App
from arlequin_core.config import load_config
from arlequin_core.daemon import Daemon
from arlequin_core.drift import build_profile
from arlequin_core.errors import ConfigError
from arlequin_core.events import (
    BatchChecked,
    BuildFinished,
    DataArrived,
    ModelRegistered,
    PluginFailed,
    SinkDelivered,
    SinkFailed,
)
from arlequin_core.monitor import Monitor
from arlequin_core.sinks import start_sinks, stop_sinks
from arlequin_core.sinks.store import STORE_NAME, DeliveryStore
from arlequin_metrics.exporter import METRICS, ArlequinMetrics, MetricsSink
from arlequin_watch.local import LocalSource

CONFIG = """
[arlequin]
home = "state"
log_format = "json"
journal_fsync = false

[data]
label = "label"

[drift]
drift_share = 0.3
html = false

[watch]
sweep_interval = 0.1
drain_timeout = 20

[sinks.retrain]
enabled = false

[metrics]
port = 0
"""


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET ``url`` and parse the Prometheus text: {(sample name, sorted labels): value}."""
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app(tmp_path: Path):
    (tmp_path / "arlequin.toml").write_text(CONFIG)
    with App(load_config(tmp_path / "arlequin.toml")) as application:
        yield application


def test_metrics_are_scraped_over_http_after_the_daemon_checks_real_batches(app: App, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    profile = build_profile(frame(3000, 0), app.config, app.registry, source="train.parquet")
    monitor = Monitor(app.config, app.registry, app.bus, lambda: (profile, "churn", "7"))
    source = LocalSource({"path": str(landing), "settle": 0.1}, instance="landing")
    daemon = Daemon(app, sources=[source], consumers=[monitor])
    daemon.start()
    try:
        [sink] = [s for s in daemon._sinks if isinstance(s, MetricsSink)]
        url = sink.url
        assert url is not None and sink.port not in (None, 0)

        def land(name: str, write) -> None:
            done = sum(daemon.ledger.counts()[s] for s in ("done", "rejected"))
            tmp = landing / f".{name}.tmp"
            write(tmp)
            tmp.rename(landing / name)
            wait_for(lambda: sum(daemon.ledger.counts()[s] for s in ("done", "rejected")) == done + 1, what=name)

        land("01-clean.parquet", lambda p: frame(2000, 2).to_parquet(p))
        land("02-garbage.parquet", lambda p: p.write_bytes(b"not parquet at all"))
        land("03-drifted.parquet", lambda p: frame(2000, 1, scale=1.5, shift_categories=True).to_parquet(p))
        app.bus.join()
        samples = scrape(url)
    finally:
        daemon.stop(timeout=10)

    assert samples[("arlequin_batches_seen_total", ())] == 3
    assert samples[("arlequin_batches_checked_total", (("verdict", "no_drift"),))] == 1
    assert samples[("arlequin_batches_checked_total", (("verdict", "drift"),))] == 1
    assert samples[("arlequin_batches_rejected_total", (("reason", "InputError"),))] == 1
    assert samples[("arlequin_drift_detected_total", ())] == 1
    assert samples[("arlequin_rows_checked_total", ())] == 4000
    assert samples[("arlequin_verdict_latency_seconds_count", ())] == 3
    assert samples[("arlequin_verdict_latency_seconds_sum", ())] > 0
    assert samples[("arlequin_champion_version", (("model", "churn"),))] == 7

    # The per-column figures are those of the last checked batch's own JSON report.
    report = json.loads((app.home / "reports" / f"{_batch_id(app, '03-drifted.parquet')}.json").read_text())
    assert samples[("arlequin_drift_share", ())] == pytest.approx(report["drift_share"])
    assert samples[("arlequin_drifted_columns", ())] == len(report["drifted_columns"]) == 2
    for column in report["columns"]:
        labels = (("column", column["column"]), ("detector", column["detector"]))
        assert samples[("arlequin_column_drift_statistic", labels)] == pytest.approx(column["statistic"])
        assert samples[("arlequin_column_drifted", labels)] == float(column["drifted"])
        if column["p_value"] is not None:
            assert samples[("arlequin_column_drift_p_value", labels)] == pytest.approx(column["p_value"])
            assert samples[("arlequin_column_drift_p_value_adjusted", labels)] == pytest.approx(
                column["p_value_adjusted"]
            )
    assert samples[("arlequin_column_drifted", (("column", "age"), ("detector", "ks")))] == 1
    assert ("arlequin_column_drift_p_value", (("column", "age"), ("detector", "ks"))) in samples
    # The endpoint is gone with the daemon.
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def _batch_id(app: App, name: str) -> str:
    from arlequin_core.ledger import open_ledger

    ledger = open_ledger(app.home)
    try:
        return next(b.batch_id for b in ledger.batches() if b.uri.endswith(name))
    finally:
        ledger.close()


def test_retrains_promotions_sinks_and_dead_letters_are_counted_from_real_events(app: App) -> None:
    sinks = start_sinks(app)
    [sink] = sinks
    try:
        store = DeliveryStore(app.home / STORE_NAME)
        bus = app.bus
        bus.publish(ModelRegistered(model_name="fraud", model_version="3", run_id="r3", promoted=False))
        bus.publish(ModelRegistered(model_name="fraud", model_version="4", run_id="r4", promoted=True))
        bus.publish(SinkDelivered(sink="jenkins", target="http://jenkins:8080/job/x/5/"))
        bus.publish(BuildFinished(sink="jenkins", build_url="http://jenkins:8080/job/x/5/", result="SUCCESS"))
        failed = DataArrived(uri="file:///b.parquet", batch_id="b9")
        store.record("webhook", failed)
        store.mark_dead("webhook", [store.letters("webhook")[0].key], "HTTP 500", retryable=True)
        bus.publish(SinkFailed(sink="webhook", error="HTTP 500"))
        bus.publish(PluginFailed(plugin="sink:webhook", hook="arlequin_on_drift_detected", error="boom"))
        bus.join()
        samples = scrape(sink.url)
        assert samples[("arlequin_models_registered_total", (("promoted", "false"),))] == 1
        assert samples[("arlequin_models_registered_total", (("promoted", "true"),))] == 1
        assert samples[("arlequin_promotions_total", ())] == 1
        assert samples[("arlequin_champion_version", (("model", "fraud"),))] == 4
        assert samples[("arlequin_sink_deliveries_total", (("sink", "jenkins"),))] == 1
        assert samples[("arlequin_builds_finished_total", (("result", "SUCCESS"), ("sink", "jenkins")))] == 1
        assert samples[("arlequin_sink_failures_total", (("sink", "webhook"),))] == 1
        assert samples[("arlequin_sink_dead_letters", (("sink", "webhook"),))] == 1
        assert samples[("arlequin_plugin_failures_total", (("plugin", "sink:webhook"),))] == 1
        store.requeue_dead("webhook")  # `arlequin sinks replay` lowers the gauge at the next scrape
        assert ("arlequin_sink_dead_letters", (("sink", "webhook"),)) not in scrape(sink.url)
    finally:
        stop_sinks(app, sinks)


def test_the_champions_estimated_performance_is_exported_from_batch_checked(app: App) -> None:
    sinks = start_sinks(app)
    [sink] = sinks
    try:
        estimate = {"roc_auc": 0.91, "precision": 0.7, "recall": None, "f1": 0.3}
        app.bus.publish(
            BatchChecked(uri="b.parquet", drifted=True, estimated_performance=estimate, performance_dropped=True)
        )
        app.bus.join()
        samples = scrape(sink.url)
        assert samples[("arlequin_estimated_performance", (("metric", "roc_auc"),))] == 0.91
        assert samples[("arlequin_estimated_performance", (("metric", "f1"),))] == 0.3
        assert ("arlequin_estimated_performance", (("metric", "recall"),)) not in samples  # undefined: not exported
        assert samples[("arlequin_performance_dropped", ())] == 1.0
    finally:
        stop_sinks(app, sinks)


def test_every_exported_metric_is_documented_and_has_help() -> None:
    families = {
        f.name: f for f in text_string_to_metric_families(ArlequinMetrics().text()) if not f.name.endswith("_created")
    }
    assert set(families) == set(METRICS)
    assert all(f.documentation for f in families.values())
    deploy = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    missing = [name for name in METRICS if f"`{name}" not in deploy]
    assert not missing, f"docs/deploy.md does not list {missing}"


def test_metrics_are_off_by_default_and_a_bad_section_names_the_key(tmp_path: Path) -> None:
    with App(load_config(None)) as plain:
        assert not any(isinstance(s, MetricsSink) for s in _started(plain))  # embedded mode: no endpoint
    path = tmp_path / "bad.toml"
    path.write_text("[metrics]\nprot = 9108\n")
    with App(load_config(path)) as app, pytest.raises(ConfigError, match=r"bad.toml: key metrics.prot: unknown key"):
        start_sinks(app)
    path.write_text("[metrics]\nport = 70000\n")
    with App(load_config(path)) as app, pytest.raises(ConfigError, match=r"key metrics.port: .*65535"):
        start_sinks(app)
    path.write_text('[metrics]\nhost = "example.com"\nport = 9108\n')
    with App(load_config(path)) as app, pytest.raises(ConfigError, match=r"key metrics.host: .*IP address"):
        start_sinks(app)


def test_a_port_in_use_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        path = tmp_path / "a.toml"
        path.write_text(f"[sinks.retrain]\nenabled = false\n[metrics]\nport = {taken.getsockname()[1]}\n")
        with App(load_config(path)) as app, pytest.raises(ConfigError, match=r"key metrics.port: cannot listen"):
            start_sinks(app)


def test_a_fixed_port_serves_and_an_unreadable_report_costs_only_the_column_figures(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "a.toml"
    path.write_text(f"[sinks.retrain]\nenabled = false\n[metrics]\nport = {port}\n")
    with App(load_config(path)) as app:
        sinks = start_sinks(app)
        try:
            from arlequin_core.events import BatchChecked

            app.bus.publish(BatchChecked(uri="b.parquet", drifted=False, report_uri=str(tmp_path / "gone.json")))
            app.bus.join()
            samples = scrape(f"http://127.0.0.1:{port}/metrics")
            assert samples[("arlequin_batches_checked_total", (("verdict", "no_drift"),))] == 1
            assert not any(name == "arlequin_column_drift_statistic" for name, _ in samples)
        finally:
            stop_sinks(app, sinks)


def _started(app: App) -> list:
    sinks = start_sinks(app)
    stop_sinks(app, sinks)
    return sinks

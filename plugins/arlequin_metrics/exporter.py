"""The watcher's Prometheus metrics: what each event changes, and the ``/metrics`` endpoint.

:class:`ArlequinMetrics` turns events into metrics on its own
:class:`prometheus_client.CollectorRegistry` (never the library's global one, so two
daemons in one process, as in tests, do not share numbers). :class:`MetricsSink` is
what the daemon starts: it validates ``[metrics]``, serves the registry over HTTP
with ``prometheus_client``'s own server, and feeds it every event the bus delivers.

Per-column figures come from the JSON drift report the monitor writes for each
checked batch (``report_uri`` of ``batch-checked``): the event carries the verdict,
the report carries each column's statistic and p-value.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from arlequin_core import hookimpl
from arlequin_core.config import validate_section
from arlequin_core.drift.report import DriftReport
from arlequin_core.errors import ConfigError
from arlequin_core.events import (
    BatchChecked,
    BatchRejected,
    BuildFinished,
    DataArrived,
    DriftDetected,
    Event,
    ModelRegistered,
    PluginFailed,
    SinkDelivered,
    SinkFailed,
)
from arlequin_core.logs import get_logger
from arlequin_core.sinks.base import Sink
from arlequin_core.sinks.store import STORE_NAME, DeliveryStore
from arlequin_metrics.settings import MetricsSettings

log = get_logger(__name__)

#: ``data-arrived`` events remembered for the latency histogram (a verdict that never comes must not leak).
_MAX_PENDING = 10_000

#: Every metric the daemon exports, name -> help text (Prometheus adds ``_total``, ``_bucket``, ...).
METRICS: dict[str, str] = {
    "arlequin_batches_seen": "Batches handed to the drift monitor (data-arrived events).",
    "arlequin_batches_checked": "Batches tested for drift, by verdict (drift, no_drift).",
    "arlequin_batches_rejected": "Batches that could not be checked, by the class of the error (reason).",
    "arlequin_drift_detected": "Batches the drift policy judged drifted (drift-detected events).",
    "arlequin_rows_checked": "Rows of the batches tested for drift.",
    "arlequin_drift_share": "Share of the tested columns that drifted, in the last checked batch.",
    "arlequin_drifted_columns": "Number of drifted columns in the last checked batch.",
    "arlequin_column_drift_statistic": "Each column's drift statistic or distance in the last checked batch.",
    "arlequin_column_drift_p_value": "Each column's raw p-value in the last checked batch (p-value tests only).",
    "arlequin_column_drift_p_value_adjusted": "Each column's p-value after the multiple-testing correction.",
    "arlequin_column_drifted": "1 when the column drifted in the last checked batch, else 0.",
    "arlequin_verdict_latency_seconds": "Seconds from a batch's data-arrived event to its verdict.",
    "arlequin_last_verdict_timestamp_seconds": "Unix time of the last verdict.",
    "arlequin_models_registered": "Model versions registered by retraining, by whether they were promoted.",
    "arlequin_promotions": "Model versions promoted to champion.",
    "arlequin_champion_version": "Version of the champion model the last batch was measured against, by model.",
    "arlequin_estimated_performance": "The champion's estimated metric on the last batch (CBPE, no labels), by metric.",
    "arlequin_performance_dropped": "1 when the last batch's estimate fell below [drift] performance_drop, else 0.",
    "arlequin_builds_finished": "External retraining builds (Jenkins) that finished, by sink and result.",
    "arlequin_sink_deliveries": "Events a sink delivered to its target, by sink.",
    "arlequin_sink_failures": "Deliveries a sink gave up on after its retries (each becomes a dead letter), by sink.",
    "arlequin_sink_dead_letters": "Dead letters waiting for `arlequin sinks replay`, by sink.",
    "arlequin_plugin_failures": "Event hooks that raised, by plugin.",
}


def _seconds(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return None


def _version_number(version: str | None) -> float | None:
    try:
        number = float(version) if version is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


class _DeadLetters(Collector):
    """``arlequin_sink_dead_letters``, read from the sinks' delivery store at each scrape.

    Read rather than counted, so a replay (``arlequin sinks replay``, another process)
    lowers it. The store is only opened once it exists: scraping creates no file.
    """

    def __init__(self, home: Path | None) -> None:
        self.path = None if home is None else home / STORE_NAME
        self._store: DeliveryStore | None = None

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily("arlequin_sink_dead_letters", METRICS["arlequin_sink_dead_letters"], labels=["sink"])]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("arlequin_sink_dead_letters", METRICS["arlequin_sink_dead_letters"], labels=["sink"])
        if self.path is not None and self.path.exists():
            try:
                if self._store is None:
                    self._store = DeliveryStore(self.path)
                counts: dict[str, int] = {}
                for letter in self._store.letters(state="dead"):
                    counts[letter.sink] = counts.get(letter.sink, 0) + 1
                for sink, n in sorted(counts.items()):
                    family.add_metric([sink], n)
            except Exception as exc:  # a scrape must answer even when the store is unreadable
                error = f"{type(exc).__name__}: {exc}"
                log.warning("metrics_dead_letters_unreadable", path=str(self.path), error=error)
        yield family


class ArlequinMetrics:
    """The metrics of one daemon, updated by :meth:`observe`.

    :param home: the state directory, where the sinks' dead letters are read from
        (None: no dead-letter gauge values).
    :param latency_buckets: upper bounds, in seconds, of the latency histogram.
    """

    def __init__(self, home: Path | None = None, latency_buckets: Iterable[float] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        m = METRICS
        self.seen = Counter("arlequin_batches_seen", m["arlequin_batches_seen"], registry=r)
        self.checked = Counter("arlequin_batches_checked", m["arlequin_batches_checked"], ["verdict"], registry=r)
        self.rejected = Counter("arlequin_batches_rejected", m["arlequin_batches_rejected"], ["reason"], registry=r)
        self.drift = Counter("arlequin_drift_detected", METRICS["arlequin_drift_detected"], registry=r)
        self.rows = Counter("arlequin_rows_checked", METRICS["arlequin_rows_checked"], registry=r)
        self.share = Gauge("arlequin_drift_share", METRICS["arlequin_drift_share"], registry=r)
        self.drifted_columns = Gauge("arlequin_drifted_columns", METRICS["arlequin_drifted_columns"], registry=r)
        by_column = ["column", "detector"]
        self.statistic = Gauge(
            "arlequin_column_drift_statistic", METRICS["arlequin_column_drift_statistic"], by_column, registry=r
        )
        self.p_value = Gauge("arlequin_column_drift_p_value", m["arlequin_column_drift_p_value"], by_column, registry=r)
        self.p_adjusted = Gauge(
            "arlequin_column_drift_p_value_adjusted",
            METRICS["arlequin_column_drift_p_value_adjusted"],
            by_column,
            registry=r,
        )
        self.column_drifted = Gauge("arlequin_column_drifted", m["arlequin_column_drifted"], by_column, registry=r)
        buckets = list(latency_buckets) if latency_buckets is not None else list(Histogram.DEFAULT_BUCKETS[:-1])
        self.latency = Histogram(
            "arlequin_verdict_latency_seconds", METRICS["arlequin_verdict_latency_seconds"], buckets=buckets, registry=r
        )
        self.last_verdict = Gauge(
            "arlequin_last_verdict_timestamp_seconds", METRICS["arlequin_last_verdict_timestamp_seconds"], registry=r
        )
        self.registered = Counter(
            "arlequin_models_registered", METRICS["arlequin_models_registered"], ["promoted"], registry=r
        )
        self.promotions = Counter("arlequin_promotions", METRICS["arlequin_promotions"], registry=r)
        self.champion = Gauge("arlequin_champion_version", METRICS["arlequin_champion_version"], ["model"], registry=r)
        self.estimated = Gauge(
            "arlequin_estimated_performance", METRICS["arlequin_estimated_performance"], ["metric"], registry=r
        )
        self.dropped = Gauge("arlequin_performance_dropped", METRICS["arlequin_performance_dropped"], registry=r)
        self.builds = Counter(
            "arlequin_builds_finished", METRICS["arlequin_builds_finished"], ["sink", "result"], registry=r
        )
        self.deliveries = Counter("arlequin_sink_deliveries", METRICS["arlequin_sink_deliveries"], ["sink"], registry=r)
        self.failures = Counter("arlequin_sink_failures", METRICS["arlequin_sink_failures"], ["sink"], registry=r)
        self.plugin_failures = Counter(
            "arlequin_plugin_failures", METRICS["arlequin_plugin_failures"], ["plugin"], registry=r
        )
        r.register(_DeadLetters(home))
        self._arrived: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ events
    def observe(self, event: Event) -> None:
        """Update the metrics an event changes; events that change none are ignored."""
        handler = self._handlers.get(type(event).__name__)
        if handler is not None:
            handler(self, event)

    def _data_arrived(self, event: DataArrived) -> None:
        self.seen.inc()
        at = _seconds(event.created_at)
        if at is not None:
            with self._lock:
                self._arrived[event.event_id] = at
                while len(self._arrived) > _MAX_PENDING:
                    self._arrived.popitem(last=False)

    def _verdict(self, event: Event) -> None:
        at = _seconds(event.created_at)
        if at is None:
            return
        self.last_verdict.set(at)
        with self._lock:
            arrived = self._arrived.pop(event.cause_event_id, None) if event.cause_event_id else None
        if arrived is not None:
            self.latency.observe(max(0.0, at - arrived))

    def _batch_checked(self, event: BatchChecked) -> None:
        self.checked.labels(verdict="drift" if event.drifted else "no_drift").inc()
        self.share.set(event.drift_share)
        self.drifted_columns.set(len(event.drifted_columns))
        if event.rows:
            self.rows.inc(event.rows)
        number = _version_number(event.model_version)
        if event.model_name and number is not None:
            self.champion.labels(model=event.model_name).set(number)
        self._verdict(event)
        for metric, value in (event.estimated_performance or {}).items():
            if value is not None:
                self.estimated.labels(metric=metric).set(value)
        if event.performance_dropped is not None:
            self.dropped.set(1.0 if event.performance_dropped else 0.0)
        if event.report_uri:
            self._columns(event.report_uri)

    def _columns(self, report_uri: str) -> None:
        path = Path(report_uri.removeprefix("file://"))
        try:
            report = DriftReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("metrics_report_unreadable", report=report_uri, error=f"{type(exc).__name__}: {exc}")
            return
        # The last batch's columns only: a column gone from the reference must not linger.
        for gauge in (self.statistic, self.p_value, self.p_adjusted, self.column_drifted):
            gauge.clear()
        for result in report.columns:
            labels = {"column": result.column, "detector": result.detector}
            self.column_drifted.labels(**labels).set(1.0 if result.drifted else 0.0)
            if result.statistic is not None:
                self.statistic.labels(**labels).set(result.statistic)
            if result.p_value is not None:
                self.p_value.labels(**labels).set(result.p_value)
            if result.p_value_adjusted is not None:
                self.p_adjusted.labels(**labels).set(result.p_value_adjusted)

    def _batch_rejected(self, event: BatchRejected) -> None:
        self.rejected.labels(reason=event.error_type or "unknown").inc()
        self._verdict(event)

    def _drift_detected(self, event: DriftDetected) -> None:
        self.drift.inc()

    def _model_registered(self, event: ModelRegistered) -> None:
        self.registered.labels(promoted="true" if event.promoted else "false").inc()
        if event.promoted:
            self.promotions.inc()
            number = _version_number(event.model_version)
            if number is not None:
                self.champion.labels(model=event.model_name).set(number)

    def _sink_delivered(self, event: SinkDelivered) -> None:
        self.deliveries.labels(sink=event.sink).inc()

    def _sink_failed(self, event: SinkFailed) -> None:
        self.failures.labels(sink=event.sink).inc()

    def _build_finished(self, event: BuildFinished) -> None:
        self.builds.labels(sink=event.sink, result=event.result or "unknown").inc()

    def _plugin_failed(self, event: PluginFailed) -> None:
        self.plugin_failures.labels(plugin=event.plugin).inc()

    _handlers: ClassVar[dict[str, Any]] = {
        "DataArrived": _data_arrived,
        "BatchChecked": _batch_checked,
        "BatchRejected": _batch_rejected,
        "DriftDetected": _drift_detected,
        "ModelRegistered": _model_registered,
        "SinkDelivered": _sink_delivered,
        "SinkFailed": _sink_failed,
        "BuildFinished": _build_finished,
        "PluginFailed": _plugin_failed,
    }

    def text(self) -> str:
        """The current metrics in Prometheus' text format (what ``/metrics`` answers)."""
        return generate_latest(self.registry).decode("utf-8")


class MetricsSink(Sink):
    """Serves :class:`ArlequinMetrics` on ``http://<host>:<port>/metrics`` while the daemon runs.

    Started by the daemon when ``[metrics]`` is in the config; it validates that
    top-level table (not a ``[sinks.metrics]`` one, which may only say ``enabled``).
    Without ``[metrics] port`` it serves nothing and its hooks return at once.

    :raises ConfigError: ``[metrics]`` is invalid, or the port cannot be bound
        (the message names the key and the address).
    """

    name = "metrics"
    enabled_by_default = True

    @classmethod
    def starts_by_default(cls, app: Any) -> bool:
        """Started when ``[metrics]`` has any key, so a misspelt key is reported rather than ignored."""
        return bool(getattr(app.config, "metrics", None))

    def __init__(self, config: Any = None, app: Any = None) -> None:
        super().__init__(config, app)
        where = str(app.config.source_path or "(no config file)") if app is not None else "(no config)"
        extra = sorted(set(config or {}) - {"enabled"})
        if extra:
            raise ConfigError(
                f"{where}: key sinks.metrics.{extra[0]}: the metrics endpoint is configured in [metrics] "
                "(port, host), not [sinks.metrics]"
            )
        raw = getattr(app.config, "metrics", {}) if app is not None else {}
        self.settings = validate_section(MetricsSettings, dict(raw or {}), where, "metrics")
        home = app.config.home if app is not None else None
        self.metrics = ArlequinMetrics(home, self.settings.latency_buckets)
        self._where = where
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int | None:
        """The port actually listened on (differs from the config's when it is 0), or None."""
        return None if self._server is None else int(self._server.server_port)

    @property
    def url(self) -> str | None:
        """``http://host:port/metrics`` while serving."""
        if self._server is None:
            return None
        host = self.settings.host
        host = "127.0.0.1" if host in ("0.0.0.0", "localhost") else f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> None:
        """Listen on ``[metrics] host:port``; nothing when no port is configured."""
        if not self.settings.enabled:
            log.debug("metrics_off", hint="set [metrics] port to serve /metrics")
            return
        try:
            self._server, self._thread = start_http_server(
                self.settings.port, addr=self.settings.host, registry=self.metrics.registry
            )
        except OSError as exc:
            raise ConfigError(
                f"{self._where}: key metrics.port: cannot listen on {self.settings.host}:{self.settings.port}: "
                f"{exc.strerror or exc}; pick a free port"
            ) from None
        log.info("metrics_serving", url=self.url)

    def close(self) -> None:
        """Stop the HTTP server (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @hookimpl
    def arlequin_on_event(self, event: Event) -> None:
        """Every event the bus delivers: update the metrics it changes (none while no endpoint is served)."""
        if self._server is not None:
            self.metrics.observe(event)

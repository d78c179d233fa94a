"""The Grafana dashboard queries only metrics the daemon exports, and shows all of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from arlequin_metrics.exporter import METRICS, ArlequinMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "dashboards" / "arlequin.json"
#: What Prometheus' text format adds to a family's name, by type.
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"), "gauge": ("",)}


def exported_series() -> set[str]:
    """Every series name the daemon's registry can expose (from the registry, not a list kept by hand)."""
    names = set()
    for family in ArlequinMetrics().registry.collect():
        names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def queries() -> list[tuple[str, str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(p["title"], t["expr"]) for p in panels for t in p.get("targets", [])]


def named_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\barlequin_[a-z0-9_]+", expr))


def test_every_dashboard_query_names_only_metrics_the_daemon_exports() -> None:
    series = exported_series()
    assert "arlequin_batches_checked_total" in series and "arlequin_verdict_latency_seconds_bucket" in series
    found = queries()
    assert found, "the dashboard has no queries"
    unknown = {(title, name) for title, expr in found for name in named_metrics(expr) if name not in series}
    assert not unknown, f"the dashboard queries metrics the daemon does not export: {sorted(unknown)}"
    assert all(named_metrics(expr) for _, expr in found), "a query names no arlequin metric"


def test_the_check_catches_a_misspelt_metric() -> None:
    series = exported_series()
    assert not named_metrics("rate(arlequin_batches_check_total[5m])") <= series
    assert not named_metrics("arlequin_drift_share_total") <= series  # a gauge has no _total


def test_every_exported_metric_is_on_the_dashboard() -> None:
    shown = {name for _, expr in queries() for name in named_metrics(expr)}
    missing = [m for m in METRICS if not any(s == m or s.startswith(m + "_") for s in shown)]
    assert not missing, f"no panel shows {missing}"

"""The monitor on a real bus and journal: verdict events, reports, rejections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recorders import Recorder

from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import Profile, build_profile
from arlequin_core.errors import ConfigError
from arlequin_core.events import BatchChecked, BatchRejected, DataArrived, DriftDetected
from arlequin_core.monitor import Monitor


@pytest.fixture
def app():
    config = ArlequinConfig.model_validate(
        {
            "arlequin": {"home": "state", "journal_fsync": False},
            "data": {"label": "label"},
            "drift": {"drift_share": 0.3},
        }
    )
    with App(config) as app:
        yield app


@pytest.fixture
def setup(app, make_frame):
    profile = build_profile(make_frame(3000, 0), app.config, app.registry, source="train.parquet")
    monitor = Monitor.attach(app, lambda: (profile, "churn", "7"))
    recorder = Recorder()
    app.host.register_plugin(recorder, "recorder")
    return monitor, recorder


def arrive(app: App, uri: str, batch_id: str) -> DataArrived:
    event = DataArrived(batch_id=batch_id, uri=uri, source="test")
    app.bus.publish(event)
    app.bus.join()
    return event


def test_arlequin_on_data_arrived_publishes_drift_with_the_cause_and_writes_reports(app, setup, make_frame):
    monitor, recorder = setup
    make_frame(2000, 1, scale=1.5, shift_categories=True).to_parquet("b1.parquet")
    arrived = arrive(app, "b1.parquet", "b1")
    checked, drift = recorder.events
    assert isinstance(checked, BatchChecked) and isinstance(drift, DriftDetected)
    assert checked.drifted and checked.rows == 2000 and checked.drifted_columns == ("age", "colour")
    assert drift.drifted_columns == ("age", "colour") and drift.reason.startswith("2 of 6 columns drifted")
    for event in (checked, drift):
        assert event.cause_event_id == arrived.event_id and event.batch_id == "b1"
        assert (event.model_name, event.model_version) == ("churn", "7")
        assert event.report_uri == str(monitor.reports_dir / "b1.json")
    report = json.loads(Path(drift.report_uri).read_text())
    assert report["drifted_columns"] == ["age", "colour"]
    assert (report["batch_id"], report["model_name"], report["model_version"]) == ("b1", "churn", "7")
    assert monitor.renderer.wait_idle(60)  # plots are drawn off the monitor's lane
    assert (monitor.reports_dir / "b1.html").read_text().count("data:image/png") == 6
    assert "href='b1.html'" in (monitor.reports_dir / "index.html").read_text()  # drift over time
    journal = [json.loads(line)["name"] for line in app.journal_path.read_text().splitlines()]
    assert journal == ["data-arrived", "batch-checked", "drift-detected"]


def test_arlequin_on_data_arrived_without_drift_publishes_batch_checked_only(app, setup, make_frame):
    monitor, recorder = setup
    make_frame(2000, 2).to_csv("b2.csv", index=False)
    arrive(app, "b2.csv", "b2")
    [checked] = recorder.events
    assert isinstance(checked, BatchChecked) and not checked.drifted and checked.drifted_columns == ()
    assert (monitor.reports_dir / "b2.json").exists()


def test_arlequin_on_data_arrived_html_only_when_configured(app, make_frame):
    app.config.drift.html = False
    profile = build_profile(make_frame(500, 0), app.config, app.registry)
    monitor = Monitor.attach(app, lambda: (profile, None, None))
    make_frame(500, 3).to_parquet("b3.parquet")
    arrive(app, "b3.parquet", "batch/with:odd*chars")
    assert (monitor.reports_dir / "batch_with_odd_chars.json").exists()
    assert not list(monitor.reports_dir.glob("*.html"))


@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        (lambda f: None, "missing.parquet: no such file or directory"),
        (lambda f: Path("missing.parquet").write_bytes(b"PAR1 truncated"), "not a complete Parquet file"),
        (lambda f: f(50, 4).iloc[:0].to_parquet("missing.parquet"), "the batch has no rows"),
        (lambda f: f(50, 4).drop(columns=["age"]).to_parquet("missing.parquet"), "missing column 'age'"),
    ],
)
def test_arlequin_on_data_arrived_rejects_bad_batches_without_raising(app, setup, make_frame, prepare, reason):
    _, recorder = setup
    prepare(make_frame)
    arrived = arrive(app, "missing.parquet", "bad")
    [rejected] = recorder.events
    assert isinstance(rejected, BatchRejected) and reason in rejected.reason
    assert rejected.error_type == "InputError" and rejected.cause_event_id == arrived.event_id
    assert rejected.batch_id == "bad"
    names = [json.loads(line)["name"] for line in app.journal_path.read_text().splitlines()]
    assert "plugin-failed" not in names


def test_arlequin_on_data_arrived_without_a_profile_rejects_the_batch(app, make_frame):
    def no_champion() -> tuple[Profile, str | None, str | None]:
        raise ConfigError("no champion model yet: train one first (arlequin train)")

    Monitor.attach(app, no_champion)
    recorder = Recorder()
    app.host.register_plugin(recorder, "recorder")
    make_frame(50, 5).to_parquet("b.parquet")
    arrive(app, "b.parquet", "b")
    [rejected] = recorder.events
    assert rejected.error_type == "ConfigError" and "no champion model yet" in rejected.reason


@pytest.mark.parametrize("engine", ["arrow", "spark"])
def test_the_monitor_checks_with_the_configured_engine_and_the_report_names_it(app, setup, make_frame, engine, request):
    if engine == "spark":
        request.getfixturevalue("spark")  # the test run's one session: [spark] reuses the active one
    monitor, recorder = setup
    app.config.drift.engine = engine
    make_frame(2000, 1, scale=1.5, shift_categories=True).to_parquet(Path("e1.parquet").resolve())
    arrive(app, str(Path("e1.parquet").resolve()), f"e-{engine}")
    checked, drift = recorder.events
    assert checked.rows == 2000 and drift.drifted_columns == ("age", "colour")
    report = json.loads(Path(drift.report_uri).read_text())
    assert report["engine"] == engine
    assert monitor.renderer.wait_idle(60)  # plots are drawn off the monitor's lane
    assert (monitor.reports_dir / f"e-{engine}.html").read_text().count("data:image/png") == 6


def test_a_batch_whose_row_group_does_not_decode_is_rejected_naming_it(app, setup, make_frame):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, recorder = setup
    app.config.drift.engine = "arrow"
    pq.write_table(pa.Table.from_pandas(make_frame(3000, 3)), "bad.parquet", row_group_size=1000)
    column = pq.ParquetFile("bad.parquet").metadata.row_group(1).column(0)
    raw = bytearray(Path("bad.parquet").read_bytes())
    raw[column.data_page_offset + 20 : column.data_page_offset + column.total_compressed_size - 20] = b"\xff" * (
        column.total_compressed_size - 40
    )
    Path("bad.parquet").write_bytes(bytes(raw))
    arrive(app, "bad.parquet", "bad")
    [rejected] = recorder.events
    assert isinstance(rejected, BatchRejected)
    assert "bad.parquet, row group 1 of 3: cannot decode" in rejected.reason and "whole batch" in rejected.reason


def test_plots_never_hold_up_verdicts_and_a_backlog_leaves_placeholders_to_render_on_demand(
    app, make_frame, monkeypatch
) -> None:
    import threading

    import arlequin_core.drift.html as html_module

    profile = build_profile(make_frame(1000, 0), app.config, app.registry, source="train.parquet")
    monitor = Monitor.attach(app, lambda: (profile, "churn", "7"))
    monitor.renderer.backlog = 2
    recorder = Recorder()
    app.host.register_plugin(recorder, "recorder")
    gate, drawing = threading.Event(), threading.Event()
    real = html_module.write_html

    def slow_plots(*args, **kwargs):  # the real renderer, held until the test lets it go
        drawing.set()
        gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(html_module, "write_html", slow_plots)
    for i in range(6):
        make_frame(800, 10 + i).to_parquet(f"p{i}.parquet")
        app.bus.publish(DataArrived(batch_id=f"p{i}", uri=f"p{i}.parquet", source="test"))
    app.bus.join()
    assert drawing.wait(30)
    # All six verdicts are out while the first report's plots are still being drawn.
    assert sorted(e.batch_id for e in recorder.events if isinstance(e, BatchChecked)) == [f"p{i}" for i in range(6)]
    gate.set()
    assert monitor.renderer.wait_idle(120)
    pages = {i: (monitor.reports_dir / f"p{i}.html").read_text() for i in range(6)}
    drawn = [i for i, page in pages.items() if "data:image/png" in page]
    waiting = [i for i, page in pages.items() if "arlequin report p" in page]
    assert 0 in drawn and {4, 5} <= set(drawn)  # the first, and the newest `backlog` ones
    assert waiting and set(waiting) | set(drawn) == set(range(6)) and not set(waiting) & set(drawn)
    assert (monitor.renderer.rendered, monitor.renderer.deferred) == (len(drawn), len(waiting))
    index = (monitor.reports_dir / "index.html").read_text()
    assert all(f"href='p{i}.html'" in index for i in range(6))
    monitor.close()


def test_an_unreachable_mlflow_store_rejects_the_batch_naming_the_store_and_the_retry(tmp_path, make_frame):
    """The champion's profile cannot be read (the store is not a database): a rejection, not plugin-failed."""
    from arlequin_core.monitor import champion_profile_provider

    store = tmp_path / "mlflow.db"
    store.mkdir()  # sqlite cannot open a directory: the store is unreachable
    config = ArlequinConfig.model_validate(
        {
            "arlequin": {"home": str(tmp_path / "state"), "journal_fsync": False},
            "data": {"label": "label"},
            "mlflow": {"tracking_uri": f"sqlite:///{store}"},
        }
    )
    with App(config) as app:
        Monitor.attach(app, champion_profile_provider(app.config))
        recorder = Recorder()
        app.host.register_plugin(recorder, "recorder")
        make_frame(50, 5).to_parquet(tmp_path / "b.parquet")
        arrive(app, str(tmp_path / "b.parquet"), "b")
        [rejected] = recorder.events
        names = [json.loads(line)["name"] for line in app.journal_path.read_text().splitlines()]
    assert isinstance(rejected, BatchRejected), rejected
    assert f"sqlite:///{store}" in rejected.reason and "arlequin retry BATCH" in rejected.reason, rejected.reason
    assert "plugin-failed" not in names


@pytest.mark.parametrize("engine", ["memory", "arrow"])
def test_the_daemons_reports_carry_the_notes_and_name_the_reference(app, make_frame, engine):
    """A pandas index and an id column in the daemon's batches: noted once; the reference is the model's rows."""
    app.config.drift.engine = engine
    reference = make_frame(3000, 0)
    reference["order_id"] = [f"o{i}" for i in range(len(reference))]
    profile = build_profile(reference, app.config, app.registry, source="train.parquet")
    profile.data["trained_on"] = {"batch_ids": ["b-01", "b-02"], "uris": ["b-01.parquet", "b-02.parquet"]}
    Monitor.attach(app, lambda: (profile, "churn", "7"))
    batch = make_frame(2000, 2)
    batch["order_id"] = [f"n{i}" for i in range(len(batch))]
    batch.sort_values("age").to_parquet("b3.parquet")  # pandas' default index=True: __index_level_0__
    arrive(app, "b3.parquet", "b3")
    report = json.loads((Path("state") / "reports" / "b3.json").read_text())
    notes = report["notes"]
    assert len(notes) == 2, notes
    assert notes[0].startswith("column '__index_level_0__': the pandas index")
    assert notes[1].startswith("column 'order_id' is not tested: looks like an identifier (3,000 distinct values")
    assert "__index_level_0__" not in report["extra_columns"]
    assert report["reference"]["description"] == (
        "model 'churn' version 7's training rows from batches b-01, b-02, 3,000 rows"
    )

"""The webhook sink: signed JSON POSTs through the same delivery mechanism as Jenkins."""

from __future__ import annotations

import json

import pytest

from arlequin_core.errors import ConfigError
from arlequin_core.events import (
    BatchChecked,
    BatchRejected,
    BuildFinished,
    DataArrived,
    ModelRegistered,
    PluginFailed,
    SinkDelivered,
    SinkFailed,
    event_from_dict,
)
from arlequin_core.journal import read_journal
from arlequin_core.sinks.delivering import DeliveringSink
from arlequin_jenkins.sink import JenkinsSink
from arlequin_webhook.signature import HEADER, sign, verify
from arlequin_webhook.sink import WebhookSink

from .conftest import WEBHOOK_SECRET, drift, webhook_table


def _sink(make_app, receiver, **overrides) -> WebhookSink:
    app = make_app({"webhook": webhook_table(receiver, **overrides)})
    return WebhookSink(app.config.sinks["webhook"], app)


def _events(sink, cls):
    sink.app.bus.join()
    return [e for e in read_journal(sink.app.journal_path) if isinstance(e, cls)]


def test_drift_detected_is_posted_signed_with_hmac_sha256(make_app, receiver) -> None:
    sink = _sink(make_app, receiver)
    event = drift("b1")
    sink.arlequin_on_event(event)
    assert sink.flush().delivered == 1
    sink.close()
    (request,) = receiver.requests
    # The receiver's side: recompute the HMAC of the raw body with the shared secret.
    assert verify(WEBHOOK_SECRET, request.body, request.headers[HEADER])
    assert request.headers[HEADER] == sign(WEBHOOK_SECRET, request.body)
    assert not verify("another-secret", request.body, request.headers[HEADER])
    assert not verify(WEBHOOK_SECRET, request.body + b" ", request.headers[HEADER])
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Arlequin-Event"] == "drift-detected"
    assert request.headers["X-Arlequin-Delivery"] == event.event_id
    assert event_from_dict(json.loads(request.body)) == event
    (delivered,) = _events(sink, SinkDelivered)
    assert delivered.target == receiver.url and delivered.detail["http_status"] == 204


def test_signature_helpers_reject_malformed_headers() -> None:
    body = b'{"a":1}'
    assert sign("k", body).startswith("sha256=") and len(sign("k", body)) == 7 + 64
    for header in (None, "", "sha1=abc", "sha256=", "sha256=zz", sign("k", body) + "0"):
        assert not verify("k", body, header)


def test_5xx_then_success_is_one_event_with_the_same_delivery_id(make_app, receiver) -> None:
    receiver.script = [500, 503]
    sink = _sink(make_app, receiver)
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.close()
    assert len(receiver.requests) == 3
    assert len({r.headers["X-Arlequin-Delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1


@pytest.mark.parametrize(("status", "advice"), [(401, "same secret"), (404, "check url"), (410, "gone")])
def test_4xx_is_not_retried(make_app, receiver, status, advice) -> None:
    receiver.script = [status]
    sink = _sink(make_app, receiver)
    sink.submit(drift("b1"))
    assert sink.flush().failed == 1
    sink.close()
    assert len(receiver.requests) == 1
    (failed,) = _events(sink, SinkFailed)
    assert str(status) in failed.error and advice in failed.error and not failed.retryable


def test_429_is_retried(make_app, receiver) -> None:
    receiver.script = [429]
    sink = _sink(make_app, receiver)
    sink.submit(drift("b1"))
    assert sink.flush().delivered == 1
    sink.close()
    assert len(receiver.requests) == 2


def test_one_post_per_batch_also_across_a_restart_and_no_merging(make_app, receiver) -> None:
    sink = _sink(make_app, receiver)
    for batch in ("b1", "b2", "b1"):
        sink.submit(drift(batch))
    assert sink.flush().deliveries == 2  # one event per request, never merged
    sink.close()
    restarted = _sink(make_app, receiver)
    restarted.submit(drift("b2"))
    restarted.submit(drift("b3"))
    restarted.flush()
    restarted.close()
    assert [json.loads(r.body)["batch_id"] for r in receiver.requests] == ["b1", "b2", "b3"]


def test_jenkins_and_webhook_share_the_delivery_mechanism() -> None:
    # One code path, not a copy: neither overrides the mechanism's methods.
    for cls in (JenkinsSink, WebhookSink):
        assert issubclass(cls, DeliveringSink)
        for method in ("submit", "flush", "start", "_cycle", "_run", "_fail", "publish"):
            assert getattr(cls, method) is getattr(DeliveringSink, method)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"secret": None}, "a signing secret is required"),
        ({"events": ["drift-found"]}, "unknown event"),
        ({"coalesce": True}, "one event per request"),
        ({"url": "mailto:x@example.com"}, "key sinks.webhook.url"),
    ],
)
def test_bad_config_names_the_key(make_app, receiver, overrides, message) -> None:
    table = {k: v for k, v in webhook_table(receiver, **overrides).items() if v is not None}
    app = make_app({"webhook": table})
    with pytest.raises(ConfigError, match=message):
        WebhookSink(app.config.sinks["webhook"], app)


def test_secret_file(make_app, receiver, tmp_path) -> None:
    path = tmp_path / "webhook.secret"
    path.write_text("from-a-file-secret-99\n")
    table = webhook_table(receiver, secret_file=str(path))
    table.pop("secret")
    app = make_app({"webhook": table})
    sink = WebhookSink(app.config.sinks["webhook"], app)
    sink.submit(drift("b1"))
    sink.flush()
    sink.close()
    (request,) = receiver.requests
    assert verify("from-a-file-secret-99", request.body, request.headers[HEADER])


# Every event reaches the webhook through ``arlequin_on_event`` on the bus; ``events`` picks those sent.
EXAMPLES = (
    DataArrived(batch_id="b1", uri="file:///d/b1.parquet", source="watch"),
    BatchChecked(batch_id="b1", uri="file:///d/b1.parquet", drifted=False, drift_share=0.0),
    drift("b1"),
    BatchRejected(batch_id="b1", uri="file:///d/b1.parquet", reason="truncated parquet footer"),
    ModelRegistered(model_name="churn", model_version="7", run_id="r1", promoted=True, batch_ids=("b1",)),
    SinkDelivered(sink="jenkins", target="http://ci/job/x/3/", batch_id="b1"),
    SinkFailed(sink="jenkins", error="401", batch_id="b1"),
    BuildFinished(sink="jenkins", build_url="http://ci/job/x/3/", result="SUCCESS", build_number=3),
    PluginFailed(plugin="stats", hook="arlequin_on_data_arrived", error="boom", batch_id="b1"),
)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.name)
def test_webhook_arlequin_on_event_sends_each_configured_event_from_the_bus(make_app, receiver, event) -> None:
    sink = _sink(make_app, receiver, events=[event.name])
    app = sink.app
    assert app.host.register_plugin(sink, "sink:webhook"), app.host.failures
    assert app.host.plugins["sink:webhook"].hooks == ["arlequin_on_event"]
    other = BatchChecked(batch_id="b2", uri="u", drifted=False) if event.name != "batch-checked" else drift("b2")
    app.bus.publish(other)  # not in `events`: filtered out
    app.bus.publish(event)
    app.bus.join()
    assert sink.flush().delivered == 1
    app.host.pm.unregister(sink)
    sink.close()
    (request,) = receiver.requests
    assert request.headers["X-Arlequin-Event"] == event.name
    assert event_from_dict(json.loads(request.body)) == event


def test_webhook_never_sends_its_own_outcome(make_app, receiver) -> None:
    sink = _sink(make_app, receiver, events=["sink-delivered", "sink-failed", "plugin-failed"])
    assert not sink.submit(SinkDelivered(sink="webhook", target=receiver.url))
    assert not sink.submit(SinkFailed(sink="webhook", error="x"))
    assert not sink.submit(PluginFailed(plugin="sink:webhook", hook="arlequin_on_sink_failed", error="x"))
    assert sink.submit(SinkDelivered(sink="jenkins", target="http://ci/"))
    sink.close()


def test_the_sink_example_in_docs_works(make_app, receiver) -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sinks.md").read_text()
    section = doc.split("## Writing a sink that delivers somewhere", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/sinks.md", "exec"), namespace)
    app = make_app({"chat": {"enabled": True, "url": receiver.url}})
    sink = namespace["ChatSink"](app.config.sinks["chat"], app)
    event = ModelRegistered(model_name="churn", model_version="7", run_id="r1", promoted=True)
    sink.arlequin_on_model_registered(event)
    assert sink.flush().delivered == 1
    sink.close()
    (request,) = receiver.requests
    assert json.loads(request.body) == {"text": "model churn v7 registered"}

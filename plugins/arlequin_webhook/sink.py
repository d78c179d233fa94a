"""The ``webhook`` sink: POST each chosen event as signed JSON."""

from __future__ import annotations

import json
from typing import Any

from arlequin_core import hookimpl
from arlequin_core.events import BuildFinished, Event, PluginFailed, SinkDelivered, SinkFailed
from arlequin_core.secrets import redact
from arlequin_core.sinks.delivering import DeliveringSink, Receipt
from arlequin_core.sinks.http import excerpt, new_session, request, retry_after, status_is_retryable
from arlequin_core.sinks.retry import DeliveryError
from arlequin_core.sinks.store import Letter
from arlequin_webhook.settings import WebhookSettings
from arlequin_webhook.signature import HEADER, sign


def body_of(event: Event) -> bytes:
    """The exact bytes POSTed for ``event``: its JSON (secrets redacted), keys sorted, compact."""
    return json.dumps(redact(event.to_dict()), separators=(",", ":"), sort_keys=True, default=str).encode("utf-8")


class WebhookSink(DeliveringSink):
    """POST events to ``url`` with ``X-Arlequin-Signature: sha256=<HMAC-SHA256 of the body>``.

    Headers also carry ``X-Arlequin-Event`` (the event name) and
    ``X-Arlequin-Delivery`` (the event id: the same on every retry and replay, so a
    receiver can drop repeats). Retry, dedupe per (event, batch), cooldown and dead
    letters come from :class:`~arlequin_core.sinks.delivering.DeliveringSink`.
    """

    name = "webhook"
    settings_model = WebhookSettings
    settings: WebhookSettings
    can_coalesce = False

    def __init__(self, config: Any = None, app: Any = None) -> None:
        super().__init__(config, app)
        self.session = new_session(self.settings.verify_tls)
        assert self.settings.secret is not None  # the settings model requires it
        self._secret = self.settings.secret.get_secret_value()

    def accepts(self, event: Event) -> bool:
        if event.name not in self.settings.events:
            return False
        # Never echo this sink's own outcome back to itself: that would loop.
        if isinstance(event, (SinkDelivered, SinkFailed, BuildFinished)) and event.sink == self.name:
            return False
        return not (isinstance(event, PluginFailed) and event.plugin.endswith(f":{self.name}"))

    def send(self, letters: list[Letter]) -> Receipt:
        (letter,) = letters
        event = letter.event
        body = body_of(event)
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(self._secret, body),
            "X-Arlequin-Event": event.name,
            "X-Arlequin-Delivery": event.event_id,
        }
        response = request(
            self.session, "POST", self.settings.url, self.settings.timeout, "webhook", data=body, headers=headers
        )
        status = response.status_code
        if 200 <= status < 300:
            return Receipt(target=self.settings.url, detail={"http_status": status, "event_name": event.name})
        raise self._refusal(response)

    def _refusal(self, response: Any) -> DeliveryError:
        status = response.status_code
        body = excerpt(response, 200) or "no detail"
        url = self.settings.url
        if status_is_retryable(status):
            return DeliveryError(f"webhook {url} answered {status} ({body})", True, status, retry_after(response))
        if 300 <= status < 400:
            where = response.headers.get("Location", "(nowhere)")
            return DeliveryError(f"webhook {url} redirected ({status}) to {where}: set url to the final address", False)
        advice = {
            401: "the receiver rejected the signature or wants credentials: check that it uses the same secret",
            403: "the receiver refused the request: check its allow-list and the shared secret",
            404: "no receiver at this address: check url",
            410: "the receiver is gone: remove or update [sinks.webhook]",
            413: "the event is too large for the receiver",
        }.get(status, "the receiver refused the event")
        return DeliveryError(f"webhook {url} answered {status} ({body}): {advice}", False, status)

    def close(self, timeout: float | None = 10.0) -> None:
        super().close(timeout)
        self.session.close()

    @hookimpl
    def arlequin_on_event(self, event: Event) -> None:
        """Every event; :meth:`accepts` keeps those named in ``events`` (and never this sink's own outcomes)."""
        self.submit(event)

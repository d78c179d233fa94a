"""The ``[sinks.webhook]`` table.

Example::

    [sinks.webhook]
    enabled = true
    url = "https://hooks.example.com/arlequin"
    secret = "${ARLEQUIN_WEBHOOK_SECRET}"     # or secret_file = "/run/secrets/webhook"
    events = ["drift-detected", "model-registered"]
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from arlequin_core.events import EVENT_TYPES
from arlequin_core.sinks.settings import SinkSettings, read_secret_file


class WebhookSettings(SinkSettings):
    """Keys of ``[sinks.webhook]`` on top of the shared ones."""

    #: Where events are POSTed as JSON.
    url: str
    #: The HMAC-SHA256 key for ``X-Arlequin-Signature``: ``"${ENV_VAR}"``; or use ``secret_file``.
    secret: SecretStr | None = None
    secret_file: Path | None = None
    #: Names of the events to send.
    events: list[str] = Field(default_factory=lambda: ["drift-detected"])
    #: TLS: true, false, or the path of a CA bundle.
    verify_tls: bool | str = True
    #: A receiver takes one event per request: nothing is merged.
    coalesce: bool = False

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        if parts.username or parts.password:
            raise ValueError("must not hold credentials; the body is signed with secret instead")
        return value

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(unknown)}; known: {', '.join(sorted(EVENT_TYPES))}")
        if not value:
            raise ValueError("name at least one event, e.g. ['drift-detected']")
        return value

    @field_validator("coalesce")
    @classmethod
    def _check_coalesce(cls, value: bool) -> bool:
        if value:
            raise ValueError("a webhook sends one event per request; remove coalesce (use cooldown to slow it)")
        return value

    @model_validator(mode="after")
    def _check_secret(self) -> WebhookSettings:
        if self.secret is not None and self.secret_file is not None:
            raise ValueError("set secret or secret_file, not both")
        if self.secret_file is not None:
            self.secret = read_secret_file(self.secret_file, "secret_file")
        if self.secret is None or not self.secret.get_secret_value():
            raise ValueError('a signing secret is required: secret = "${ARLEQUIN_WEBHOOK_SECRET}" or secret_file')
        return self

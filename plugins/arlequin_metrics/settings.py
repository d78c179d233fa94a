"""The ``[metrics]`` table, validated by this plugin like a sink validates its ``[sinks.<name>]``."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from arlequin_core.config import Section


class MetricsSettings(Section):
    """Keys of ``[metrics]``."""

    #: TCP port of the ``/metrics`` endpoint; 0 picks a free one (logged); unset: no endpoint.
    port: int | None = Field(default=None, ge=0, le=65535)
    #: Address to listen on; ``0.0.0.0`` in a container so Prometheus can reach it.
    host: str = "127.0.0.1"
    #: Upper bounds (seconds) of the landing-to-verdict latency histogram's buckets.
    latency_buckets: list[float] = Field(
        default_factory=lambda: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]
    )

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        if value != "localhost":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"must be an IP address to listen on (127.0.0.1, 0.0.0.0), got {value!r}") from None
        return value

    @field_validator("latency_buckets")
    @classmethod
    def _check_buckets(cls, value: list[float]) -> list[float]:
        if not value or any(b <= 0 for b in value) or sorted(set(value)) != value:
            raise ValueError("must be positive, increasing and distinct, e.g. [0.1, 1, 10]")
        return value

    @property
    def enabled(self) -> bool:
        """Whether an endpoint is served."""
        return self.port is not None

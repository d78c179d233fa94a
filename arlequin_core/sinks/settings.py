"""The keys every ``[sinks.<name>]`` table shares: switch, retry budget, cooldown.

A sink's own config model subclasses :class:`SinkSettings` and adds its keys;
unknown keys are errors, as everywhere in Arlequin's config. Times are seconds.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from arlequin_core.config import Section
from arlequin_core.secrets import register_secret
from arlequin_core.sinks.retry import Backoff


class SinkSettings(Section):
    """Keys shared by every delivering sink (see ``docs/sinks.md``)."""

    #: Only sinks with ``enabled = true`` are started by the daemon.
    enabled: bool = False
    #: Attempts per delivery in all, the first included (unset: no count limit, ``retry_for`` decides).
    max_attempts: int | None = Field(default=None, ge=1)
    #: Seconds a retryable failure (target down, 5xx, timeout) is retried from the first
    #: attempt before the letters become dead letters: long enough for a restart or an
    #: upgrade of the target. Delays are capped by ``backoff_max``.
    retry_for: float = Field(default=3600.0, gt=0.0)
    #: Delay before the first retry; it doubles (``backoff_multiplier``) per attempt.
    backoff_initial: float = Field(default=1.0, ge=0.0)
    #: Cap on any delay between attempts (and on a target's ``Retry-After``).
    backoff_max: float = Field(default=60.0, ge=0.0)
    backoff_multiplier: float = Field(default=2.0, ge=1.0)
    #: Share of each delay drawn at random (0: none, 1: anywhere between 0 and the delay).
    backoff_jitter: float = Field(default=0.5, ge=0.0, le=1.0)
    #: After a delivery settles, wait this long before the next one; events meanwhile are kept.
    cooldown: float = Field(default=0.0, ge=0.0)
    #: Send everything waiting as one delivery (one build for a drift storm).
    coalesce: bool = True
    #: Seconds to establish a connection, and to wait for an answer.
    connect_timeout: float = Field(default=5.0, gt=0.0)
    read_timeout: float = Field(default=30.0, gt=0.0)
    #: How often an idle sink looks for letters queued by another process (replay).
    idle_poll: float = Field(default=5.0, gt=0.0)

    def backoff(self) -> Backoff:
        """The retry schedule these settings describe."""
        return Backoff(
            max_attempts=self.max_attempts,
            initial=self.backoff_initial,
            maximum=self.backoff_max,
            multiplier=self.backoff_multiplier,
            jitter=self.backoff_jitter,
            deadline=self.retry_for,
        )

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) timeouts for :mod:`requests`."""
        return (self.connect_timeout, self.read_timeout)


def read_secret_file(path: Path, key: str) -> SecretStr:
    """The stripped content of a secret file, registered for redaction.

    :param key: the config key naming the file, for the error message.
    :raises ValueError: the file cannot be read or is empty (pydantic reports it under ``key``).
    """
    try:
        text = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{key}: cannot read {path}: {exc.strerror or exc}") from None
    if not text:
        raise ValueError(f"{key}: {path} is empty")
    register_secret(text)
    return SecretStr(text)

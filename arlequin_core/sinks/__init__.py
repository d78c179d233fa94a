"""Sinks: components that act on events (retrain locally, trigger Jenkins, webhooks).

* :mod:`arlequin_core.sinks.base`: the :class:`Sink` interface;
* :mod:`arlequin_core.sinks.delivering`: the shared delivery mechanism (retry with
  backoff and jitter, persisted dedupe, dead letters, cooldown and coalescing);
* :func:`start_sinks` / :func:`stop_sinks`: what the daemon calls.
"""

from arlequin_core.sinks.base import Sink
from arlequin_core.sinks.lifecycle import start_sinks, stop_sinks

__all__ = ["Sink", "start_sinks", "stop_sinks"]

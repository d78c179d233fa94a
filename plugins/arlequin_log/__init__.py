"""Built-in plugin ``log``: one structured log line per event.

It implements every event hook, so the daemon's log tells the story as it happens:
batches arriving, verdicts, retrains, sink deliveries and plugin failures.
Disable it with ``ARLEQUIN_DISABLE_PLUGINS=log``.
"""

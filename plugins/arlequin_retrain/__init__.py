"""Built-in plugin ``retrain``: the local retrain sink, the embedded default.

On ``drift-detected`` it retrains in-process on a window of recent batches,
validates the new model against the champion, registers it and promotes it when it
passes (:func:`arlequin_core.training.flow.retrain`). It runs on the shared delivery
mechanism of :mod:`arlequin_core.sinks`, so one drifted batch causes at most one
retrain (also across restarts), a burst is coalesced, MLflow outages are retried with
backoff (resuming the trained model rather than training again) and what cannot be
done lands in the dead-letter store (``arlequin sinks dead|replay``).
"""

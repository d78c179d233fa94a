"""Built-in plugin ``jenkins``: trigger a parameterised Jenkins job when drift is real.

Enable it in config::

    [sinks.jenkins]
    enabled = true
    url = "https://jenkins.example.com/"
    job = "ml/retrain"
    user = "arlequin"
    token = "${JENKINS_TOKEN}"

On ``drift-detected`` it POSTs ``buildWithParameters`` (BATCH_URI, BATCH_IDS,
DRIFT_REPORT, MODEL_NAME, REASON, EVENT_ID), waits for the queue item to become a
build, journals ``sink-delivered`` with the build number and URL, and (``follow``)
publishes ``build-finished`` with the result. See ``docs/sinks.md``.
"""

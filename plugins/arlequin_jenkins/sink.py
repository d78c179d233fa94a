"""The ``jenkins`` sink: on drift, trigger the retraining job and follow its build."""

from __future__ import annotations

from typing import Any

from arlequin_core import hookimpl
from arlequin_core.events import BuildFinished, DriftDetected, Event
from arlequin_core.sinks.delivering import DeliveringSink, Receipt
from arlequin_core.sinks.store import Letter
from arlequin_jenkins.client import JenkinsClient
from arlequin_jenkins.settings import JenkinsSettings


class JenkinsSink(DeliveringSink):
    """Trigger ``buildWithParameters`` of a Jenkins job for drifted batches.

    One build at a time: while a triggered build is queued or running (and during
    ``cooldown`` after it), further drifted batches wait in the ledger and go out
    together as the next build (``BATCH_IDS`` lists them; ``BATCH_URI`` is the
    newest). Retry, dedupe and dead letters come from
    :class:`~arlequin_core.sinks.delivering.DeliveringSink`.
    """

    name = "jenkins"
    #: Jenkins retrains in a pipeline: enabling it turns the local retrain sink off.
    retrains = True
    settings_model = JenkinsSettings
    settings: JenkinsSettings

    def __init__(self, config: Any = None, app: Any = None) -> None:
        super().__init__(config, app)
        self.client = JenkinsClient(self.settings, self.stopping)

    @hookimpl
    def arlequin_on_drift_detected(self, event: DriftDetected) -> None:
        """Record the drifted batch; the worker triggers the build."""
        self.submit(event)

    def accepts(self, event: Event) -> bool:
        return isinstance(event, DriftDetected)

    def parameters(self, letters: list[Letter]) -> dict[str, str]:
        """The build parameters for ``letters`` (the newest batch leads; all batch ids listed).

        Named as in :data:`~arlequin_jenkins.settings.PARAMETERS`, or as ``parameter_names`` says.
        """
        newest = letters[-1].event
        assert isinstance(newest, DriftDetected)
        reason = newest.reason
        if len(letters) > 1:
            reason += f" (and {len(letters) - 1} earlier drifted batch(es) coalesced into this build)"
        model_name = newest.model_name or self.app.config.mlflow.model_name
        own = {
            "BATCH_URI": newest.uri,
            "BATCH_IDS": ",".join(letter.batch_id for letter in letters if letter.batch_id),
            "DRIFT_REPORT": newest.report_uri or "",
            "MODEL_NAME": model_name,
            "REASON": reason,
            "EVENT_ID": newest.event_id,
        }
        names = self.settings.parameter_names
        return {**self.settings.parameters, **{names.get(key, key): value for key, value in own.items()}}

    def send(self, letters: list[Letter]) -> Receipt:
        params = self.parameters(letters)
        target, detail = self.client.trigger(params)
        return Receipt(target=target, detail={"job": self.settings.job, **detail, "parameters": params})

    def confirm(self, receipt: Receipt, letters: list[Letter]) -> Receipt:
        queue_url = receipt.detail.get("queue_url")
        if not queue_url:
            return receipt
        build = self.client.wait_for_build(queue_url)
        if build is None or build.number is None:
            return receipt
        # Jenkins writes executable.url with its configured root URL, which may not be the
        # address this sink reaches it at (a proxy, a wrong setting): poll by job URL + number.
        poll_url = f"{self.settings.job_url()}{build.number}/"
        build_url = build.url or poll_url
        detail = {**receipt.detail, "build_number": build.number, "build_url": build_url, "poll_url": poll_url}
        return Receipt(target=build_url, detail=detail)

    def settle(self, receipt: Receipt, letters: list[Letter]) -> None:
        build_url = receipt.detail.get("build_url")
        poll_url = receipt.detail.get("poll_url")
        if not self.settings.follow or not build_url or not poll_url:
            return
        result = self.client.follow(poll_url)
        if result is None:
            return
        newest = letters[-1]
        self.log.info("jenkins_build_finished", build_url=build_url, result=result)
        self.publish(
            BuildFinished(
                sink=self.name,
                build_url=build_url,
                result=result,
                build_number=receipt.detail.get("build_number"),
                batch_id=newest.batch_id,
                cause_event_id=newest.event.event_id,
            )
        )

    def close(self, timeout: float | None = 10.0) -> None:
        super().close(timeout)
        self.client.close()

"""A small client of Jenkins' remote access API: trigger, queue item, build.

What it relies on, as Jenkins documents and implements it:

* ``POST <job>/buildWithParameters`` with form parameters and Basic credentials
  (user + API token) sent on the first request: Jenkins never sends a challenge.
  It answers ``201 Created`` with ``Location: <root>/queue/item/<id>/``, or
  ``303 See Other`` to the same kind of URL when an identical item was already
  queued (Jenkins merged the two), or a redirect to the job page when nothing was
  queued. ``409`` means the job is not buildable (disabled); a job without
  parameters fails with "This build is not parameterized!" (a 500).
* CSRF: a request authenticated with an API token needs no crumb (Jenkins 2.96+).
  When a server still answers ``403 No valid crumb was included in the request``,
  the client gets one from ``GET crumbIssuer/api/json`` (``crumbRequestField``
  and ``crumb``), keeps the session cookie it is tied to, and retries once.
* ``GET <queue item>api/json``: ``executable`` ({number, url}) once the build has
  started, ``cancelled: true`` if someone cancelled it, ``why`` while it waits.
  Jenkins keeps a left item for about 5 minutes, then answers 404.
* ``GET <build>api/json``: ``building`` until the build is over, then ``result``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests

from arlequin_core.logs import get_logger
from arlequin_core.sinks.http import excerpt, new_session, request, retry_after, status_is_retryable
from arlequin_core.sinks.retry import DeliveryError
from arlequin_jenkins.settings import JenkinsSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class Build:
    """A build Jenkins started for a queue item (``number`` and ``url`` unknown when it expired)."""

    number: int | None
    url: str | None


class JenkinsClient:
    """Talk to one Jenkins job.

    :param settings: the validated ``[sinks.jenkins]`` table.
    :param stop: set it to end polls at once (the sink is closing).
    """

    def __init__(self, settings: JenkinsSettings, stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.session = new_session(settings.verify_tls)
        token = settings.token.get_secret_value() if settings.token is not None else None
        # requests' HTTPBasicAuth sends the header on the first request (no challenge needed).
        self._auth = (settings.user, token) if settings.user and token else None
        self._crumb: dict[str, str] = {}

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    # ------------------------------------------------------------------ trigger
    def trigger(self, parameters: dict[str, str]) -> tuple[str, dict[str, Any]]:
        """Queue a build with ``parameters``; return the queue item URL and details.

        :raises DeliveryError: retryable for transport errors and 5xx; not for
            401/403/404/409/400 and a job without parameters, with what to do.
        """
        url = self.settings.job_url() + "buildWithParameters"
        data = dict(parameters)
        if self.settings.build_token is not None:
            # In the form body, not the query string, so it stays out of proxy access logs.
            data["token"] = self.settings.build_token.get_secret_value()
        response = self._post(url, data, "trigger build")
        status = response.status_code
        location = response.headers.get("Location")
        if status in (201, 303) and location and "/queue/item/" in location:
            queue_url = urljoin(self.settings.url, location)
            queue_url = queue_url if queue_url.endswith("/") else queue_url + "/"
            detail: dict[str, Any] = {"queue_url": queue_url, "http_status": status}
            if status == 303:
                # An identical item (same parameters) was still queued: Jenkins merged them.
                detail["merged_with_queued_item"] = True
            return queue_url, detail
        if status == 201:
            return self.settings.job_url(), {"http_status": status, "note": "no queue item URL in the answer"}
        if 300 <= status < 400:
            raise DeliveryError(
                f"Jenkins answered {status} with a redirect to {location or '(nowhere)'} instead of queueing a "
                "build: either a login page sits in front of Jenkins (use a URL that accepts API tokens) or "
                "Jenkins refused to queue the item; check the job's page",
                False,
                status,
            )
        raise self._refusal(response, "trigger build")

    def _post(self, url: str, data: dict[str, str], what: str) -> requests.Response:
        response = self._send("POST", url, what, data=data, headers=self._crumb)
        if response.status_code == 403 and _wants_crumb(response):
            log.info("jenkins_crumb_required", job=self.settings.job)
            self._crumb = self._fetch_crumb()
            response = self._send("POST", url, what, data=data, headers=self._crumb)
            if response.status_code == 403 and _wants_crumb(response):
                self._crumb = {}
                raise DeliveryError(
                    "Jenkins refused the CSRF crumb it had just issued (403): crumbs are tied to the web session "
                    "and client address; behind a proxy enable 'Enable proxy compatibility' in Jenkins' CSRF "
                    "settings, or authenticate with an API token (exempt from crumbs since Jenkins 2.96)",
                    False,
                    403,
                )
        return response

    def _fetch_crumb(self) -> dict[str, str]:
        url = self.settings.url + "crumbIssuer/api/json"
        response = self._send("GET", url, "get CSRF crumb")
        if response.status_code == 404:
            raise DeliveryError(
                f"Jenkins asked for a CSRF crumb but {url} answered 404 (no crumb issuer): check that url "
                "points at Jenkins itself, not at a proxy that rewrites paths",
                False,
                404,
            )
        if response.status_code != 200:
            raise self._refusal(response, "get CSRF crumb")
        try:
            data = response.json()
            return {str(data["crumbRequestField"]): str(data["crumb"])}
        except (ValueError, KeyError, TypeError):
            raise DeliveryError(
                f"{url} did not answer crumb JSON ({excerpt(response, 120)})", False, response.status_code
            ) from None

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        return request(self.session, method, url, self.settings.timeout, what, auth=self._auth, **kwargs)

    def _refusal(self, response: requests.Response, what: str) -> DeliveryError:
        """The actionable error for a non-success answer of Jenkins."""
        status = response.status_code
        s = self.settings
        user = s.user or "anonymous"
        body = excerpt(response)
        if status == 401:
            if s.user is None:
                message = "Jenkins requires authentication (401): set user and token in [sinks.jenkins]"
            else:
                message = (
                    f"Jenkins rejected the credentials of user {user!r} (401 Unauthorized): the API token is wrong, "
                    f"revoked or belongs to another user; create one at {s.url}user/{user}/security/ and put it "
                    'in JENKINS_TOKEN (token = "${JENKINS_TOKEN}") or token_file'
                )
        elif status == 403:
            message = (
                f"user {user!r} may not build job {s.job!r} (403 Forbidden: {body or 'no detail'}): grant it "
                "Overall/Read, Job/Read and Job/Build, or set build_token if the job uses 'Trigger builds remotely'"
            )
        elif status == 404:
            message = (
                f"job {s.job!r} not found at {s.job_url()} (404): check job (folders as 'folder/job') and url in "
                f"[sinks.jenkins], and that user {user!r} has Job/Read on it (Jenkins hides jobs a user cannot see)"
            )
        elif status == 409:
            message = (
                f"job {s.job!r} is not buildable (409 Conflict): it is disabled; enable it in Jenkins, "
                "then run `arlequin sinks replay`"
            )
        elif status == 400:
            message = (
                f"Jenkins refused the build request (400 Bad Request: {body or 'no detail'}): check the job's "
                "parameter definitions (a choice or boolean parameter rejects other values)"
            )
        elif "not parameterized" in body:
            message = (
                f"job {s.job!r} has no parameters ({status}: 'This build is not parameterized!'): declare "
                "BATCH_URI, BATCH_IDS, DRIFT_REPORT, MODEL_NAME, REASON and EVENT_ID as string parameters (the "
                "repository's Jenkinsfile does; a pipeline job learns them on its first run, so run it once)"
            )
            return DeliveryError(message, False, status)
        elif status_is_retryable(status):
            return DeliveryError(
                f"{what}: Jenkins answered {status} ({body or 'no detail'})", True, status, retry_after(response)
            )
        else:
            message = f"{what}: Jenkins answered {status} unexpectedly ({body or 'no detail'})"
        return DeliveryError(message, False, status)

    # ------------------------------------------------------------------ queue and build
    def wait_for_build(self, queue_url: str) -> Build | None:
        """Poll the queue item until its build starts; None when unknown (expired, timeout, stopped).

        :raises DeliveryError: the item was cancelled in Jenkins (``retryable``: a replay may run it).
        """
        api = queue_url + "api/json"
        deadline = time.monotonic() + self.settings.queue_timeout
        while True:
            data = self._get_json(api, "poll queue item")
            if data is _GONE:
                log.warning("jenkins_queue_item_gone", queue_url=queue_url, hint="left the queue over ~5 min ago")
                return None
            if isinstance(data, dict):
                if data.get("cancelled"):
                    raise DeliveryError(
                        f"the queued build {queue_url} was cancelled in Jenkins before it started; "
                        "`arlequin sinks replay` triggers it again",
                        True,
                    )
                executable = data.get("executable")
                if isinstance(executable, dict) and executable.get("number") is not None:
                    return Build(number=int(executable["number"]), url=executable.get("url"))
                log.debug("jenkins_queued", queue_url=queue_url, why=data.get("why"))
            if time.monotonic() >= deadline:
                log.warning("jenkins_queue_timeout", queue_url=queue_url, seconds=self.settings.queue_timeout)
                return None
            if self.stop.wait(self.settings.poll_interval):
                return None

    def follow(self, build_url: str) -> str | None:
        """Poll the build until it is over; its ``result`` (SUCCESS, FAILURE, ...) or None (timeout, stopped)."""
        api = build_url + "api/json?tree=number,url,building,result,duration"
        deadline = time.monotonic() + self.settings.build_timeout
        while True:
            data = self._get_json(api, "poll build")
            if data is _GONE:
                log.warning("jenkins_build_gone", build_url=build_url)
                return None
            if isinstance(data, dict) and data.get("building") is False and data.get("result"):
                return str(data["result"])
            if time.monotonic() >= deadline:
                log.warning("jenkins_follow_timeout", build_url=build_url, seconds=self.settings.build_timeout)
                return None
            if self.stop.wait(self.settings.poll_interval):
                return None

    def _get_json(self, url: str, what: str) -> Any:
        """The JSON at ``url``; ``_GONE`` on 404; None on any other failure (logged; polls go on)."""
        try:
            response = self._send("GET", url, what)
        except DeliveryError as exc:
            log.warning("jenkins_poll_failed", what=what, error=exc.message)
            return None
        if response.status_code == 404:
            return _GONE
        if response.status_code != 200:
            log.warning("jenkins_poll_failed", what=what, error=self._refusal(response, what).message)
            return None
        try:
            return response.json()
        except ValueError:
            log.warning("jenkins_poll_failed", what=what, error=f"not JSON: {excerpt(response, 120)}")
            return None


_GONE = object()


def _wants_crumb(response: requests.Response) -> bool:
    # Jenkins' CrumbFilter: 403 "No valid crumb was included in the request".
    return "crumb" in (response.text or "").lower()

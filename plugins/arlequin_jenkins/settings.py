"""The ``[sinks.jenkins]`` table.

Example::

    [sinks.jenkins]
    enabled = true
    url = "https://jenkins.example.com/"
    job = "ml/retrain"            # folders: job/ml/job/retrain
    user = "arlequin"
    token = "${JENKINS_TOKEN}"    # or token_file = "/run/secrets/jenkins_token"
    cooldown = 600
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from arlequin_core.sinks.settings import SinkSettings, read_secret_file

#: Build parameters the sink always sends (the Jenkinsfile declares them all).
PARAMETERS = ("BATCH_URI", "BATCH_IDS", "DRIFT_REPORT", "MODEL_NAME", "REASON", "EVENT_ID")


class JenkinsSettings(SinkSettings):
    """Keys of ``[sinks.jenkins]`` on top of the shared ones (times in seconds)."""

    #: Jenkins' root URL, with its context path if any (``https://host/jenkins/``).
    url: str
    #: The job's full name; folders separated by ``/`` (``ml/retrain``).
    job: str
    #: The user whose API token is sent (Basic auth, on every request).
    user: str | None = None
    #: The user's API token: ``"${JENKINS_TOKEN}"``; or use ``token_file``.
    token: SecretStr | None = None
    #: A file holding the API token (a mounted secret).
    token_file: Path | None = None
    #: The job's "Trigger builds remotely" token, if it uses one.
    build_token: SecretStr | None = None
    #: Extra build parameters sent with every trigger (``{ REFERENCE_URI = "hdfs:///ref" }``).
    parameters: dict[str, str] = Field(default_factory=dict)
    #: Names the job uses for the sink's parameters, when they differ (``{ BATCH_URI = "DATA_PATH" }``).
    parameter_names: dict[str, str] = Field(default_factory=dict)
    #: Follow the build to its result and publish ``build-finished``; the next trigger waits for it.
    follow: bool = True
    #: Seconds between polls of the queue item and of the build.
    poll_interval: float = Field(default=5.0, gt=0.0)
    #: Give up waiting for the queued build to start after this long (its queue record stays).
    queue_timeout: float = Field(default=3600.0, gt=0.0)
    #: Stop following a build after this long (it goes on in Jenkins).
    build_timeout: float = Field(default=6 * 3600.0, gt=0.0)
    #: TLS: true, false, or the path of a CA bundle.
    verify_tls: bool | str = True
    #: Wait this long after a build finished before the next trigger.
    cooldown: float = Field(default=300.0, ge=0.0)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL like https://jenkins.example.com/, got {value!r}")
        if parts.username or parts.password:
            raise ValueError("must not hold credentials; use user and token (or token_file)")
        if parts.query or parts.fragment:
            raise ValueError("must be Jenkins' root URL, without query or fragment")
        return value if value.endswith("/") else value + "/"

    @field_validator("job")
    @classmethod
    def _check_job(cls, value: str) -> str:
        segments = [s for s in value.strip().split("/") if s]
        if not segments:
            raise ValueError("must name a job, e.g. 'retrain' or 'folder/retrain'")
        return "/".join(segments)

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(set(value) & {*PARAMETERS, "token"})
        if clash:
            raise ValueError(f"{', '.join(clash)} are set by the sink itself; remove them")
        return value

    @field_validator("parameter_names")
    @classmethod
    def _check_parameter_names(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PARAMETERS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not sent by the sink; it sends {', '.join(PARAMETERS)}")
        if len(set(value.values())) != len(value) or not all(value.values()):
            raise ValueError("each parameter needs its own non-empty name")
        return value

    @model_validator(mode="after")
    def _check_credentials(self) -> JenkinsSettings:
        renamed = set(self.parameter_names.values()) & set(self.parameters)
        if renamed:
            raise ValueError(f"parameters and parameter_names both set {', '.join(sorted(renamed))}")
        if self.token is not None and self.token_file is not None:
            raise ValueError("set token or token_file, not both")
        if self.token_file is not None:
            self.token = read_secret_file(self.token_file, "token_file")
        if self.token is not None and not self.user:
            raise ValueError("token is set but user is not: Jenkins needs both for Basic auth")
        if self.user and self.token is None:
            raise ValueError(f'user {self.user!r} has no token: set token = "${{JENKINS_TOKEN}}" or token_file')
        return self

    def job_url(self) -> str:
        """The job's URL: ``a/b`` becomes ``<url>job/a/job/b/`` (each name URL-quoted)."""
        return self.url + "".join(f"job/{quote(segment, safe='')}/" for segment in self.job.split("/"))

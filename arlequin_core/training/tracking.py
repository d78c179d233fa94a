"""The connection to MLflow: tracking and registry URIs, credentials, the experiment.

The embedded default is a SQLite store at ``<home>/mlflow.db`` with artifacts beside
it in ``<home>/mlartifacts``. MLflow would otherwise put the artifacts of a database
store in ``./mlruns`` of whatever directory the process runs in, so the experiment
is created with an explicit ``artifact_location``: beside the SQLite file, or under
``<home>`` for other database stores, or ``[mlflow] artifact_location`` when set. A
``http(s)://`` tracking server decides for itself (``--artifacts-destination``).

MLflow's HTTP client retries a failing server with exponential back-off for minutes
by default; ``[mlflow] request_retries`` and ``request_timeout`` bound that, so an
unreachable server becomes a clear :class:`~arlequin_core.training.errors.TrackingError`
quickly. Credentials (``[mlflow] username/password/token``) reach MLflow through its
documented environment variables and are never logged.

Every MLflow conversation outside the retrain flow's own steps goes through
:func:`guard`: it holds the process-wide MLflow state for the duration and turns
whatever MLflow raises into one :class:`TrackingError` that names the store and
what was being done.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Progress bars would interleave with the daemon's JSON log lines.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ArlequinError
from arlequin_core.secrets import redact
from arlequin_core.training.errors import TrackingError

#: MLflow's fluent API keeps the tracking URI per process: one MLflow conversation at a time.
MLFLOW_LOCK = threading.RLock()

#: MLflow limits param values to 6000 characters and tag values to 5000.
PARAM_MAX = 6000
TAG_MAX = 5000

_DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def safe_uri(uri: str) -> str:
    """``uri`` without a password in its user-info and with known secrets masked (for logs and MLflow)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return str(redact(uri))
    if parts.password:
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        uri = urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, parts.fragment))
    return str(redact(uri))


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked ``...(truncated)`` when cut."""
    return text if len(text) <= limit else text[: limit - 15] + "...(truncated)"


def short_error(exc: BaseException) -> str:
    """The first line of ``exc``'s message, secrets masked, at most 400 characters."""
    text = str(redact(str(exc))).strip().splitlines()
    return text[0][:400] if text else type(exc).__name__


@dataclass(frozen=True)
class Tracking:
    """Where runs and models go, resolved from config.

    :param uri: the tracking URI.
    :param registry_uri: the model registry URI (default: the tracking URI).
    :param experiment: the experiment name.
    :param model_name: the registered model name.
    :param artifact_location: the experiment's artifact root when Arlequin creates it (None: the server's).
    """

    uri: str
    registry_uri: str
    experiment: str
    model_name: str
    artifact_location: str | None
    config: ArlequinConfig

    @classmethod
    def from_config(cls, config: ArlequinConfig) -> Tracking:
        """Resolve URIs and the artifact location from ``[mlflow]`` (see the module docstring)."""
        uri = config.tracking_uri()
        scheme = urlsplit(uri).scheme.split("+")[0]
        location = config.mlflow.artifact_location
        if location is None and scheme in _DB_SCHEMES:
            if scheme == "sqlite" and uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
                location = (Path(uri[len("sqlite:///") :]).parent / "mlartifacts").as_uri()
            else:
                location = (config.home / "mlartifacts").as_uri()
        elif location is not None and "://" not in location:
            location = Path(location).expanduser().resolve().as_uri()
        return cls(
            uri=uri,
            registry_uri=config.mlflow.registry_uri or uri,
            experiment=config.mlflow.experiment,
            model_name=config.mlflow.model_name,
            artifact_location=location,
            config=config,
        )

    @property
    def shown(self) -> str:
        """The tracking URI as it may be printed."""
        return safe_uri(self.uri)

    def activate(self) -> None:
        """Point MLflow's process-wide state at this store (call under :data:`MLFLOW_LOCK`)."""
        import mlflow

        mlflow_cfg = self.config.mlflow
        env = {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(mlflow_cfg.request_retries),
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(int(mlflow_cfg.request_timeout)),
        }
        if mlflow_cfg.username:
            env["MLFLOW_TRACKING_USERNAME"] = mlflow_cfg.username
        if mlflow_cfg.password is not None:
            env["MLFLOW_TRACKING_PASSWORD"] = mlflow_cfg.password.get_secret_value()
        if mlflow_cfg.token is not None:
            env["MLFLOW_TRACKING_TOKEN"] = mlflow_cfg.token.get_secret_value()
        os.environ.update(env)
        # MLflow installs its own INFO handler; its chatter would break the daemon's JSON log lines.
        logging.getLogger("mlflow").setLevel(max(logging.getLogger().getEffectiveLevel(), logging.WARNING))
        if self.uri.startswith("sqlite:///"):
            Path(self.uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.registry_uri)

    @contextmanager
    def scope(self) -> Iterator[Any]:
        """Hold :data:`MLFLOW_LOCK`, point MLflow at this store, yield a client, then put MLflow back.

        MLflow keeps the tracking and registry URIs in process globals (and exports them
        to the environment); restoring them keeps an embedding application's own MLflow
        use, and other code in the process, unaffected.
        """
        with MLFLOW_LOCK:
            saved = _snapshot()
            try:
                yield self.client()
            finally:
                _restore(saved)

    def client(self) -> Any:
        """An ``MlflowClient`` for this store (after :meth:`activate`)."""
        from mlflow import MlflowClient

        self.activate()
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.registry_uri)

    def experiment_id(self, client: Any) -> str:
        """The experiment's id, creating it (with :attr:`artifact_location`) when missing.

        :raises TrackingError: the experiment exists but was deleted.
        """
        from mlflow.exceptions import MlflowException

        exp = client.get_experiment_by_name(self.experiment)
        if exp is None:
            try:
                return client.create_experiment(self.experiment, artifact_location=self.artifact_location)
            except MlflowException as exc:
                # Another process created it between our lookup and create.
                exp = client.get_experiment_by_name(self.experiment)
                if exp is None:
                    raise TrackingError(f"cannot create MLflow experiment {self.experiment!r}: {exc}") from None
        if exp.lifecycle_stage == "deleted":
            raise TrackingError(
                f"MLflow experiment {self.experiment!r} at {self.shown} is deleted; restore it "
                "(mlflow experiments restore) or set [mlflow] experiment to another name"
            )
        return exp.experiment_id


@contextmanager
def guard(tracking: Tracking, what: str) -> Iterator[Any]:
    """Hold :meth:`Tracking.scope` and yield its client; MLflow failures become one clear error.

    :param what: the operation, as in "MLflow at URI failed while <what>".
    :raises TrackingError: anything but an :class:`~arlequin_core.errors.ArlequinError`
        raised inside (those pass through unchanged, as does a KeyboardInterrupt).
    """
    try:
        with tracking.scope() as client:
            yield client
    except ArlequinError:
        raise
    except Exception as exc:
        raise TrackingError(
            f"MLflow at {tracking.shown} failed while {what}: {type(exc).__name__}: {short_error(exc)}"
        ) from exc


_URI_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def _snapshot() -> tuple[Any, Any, dict[str, str | None]]:
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    env = {var: os.environ.get(var) for var in _URI_VARS}
    return getattr(tracking_utils, "_tracking_uri", None), getattr(registry_utils, "_registry_uri", None), env


def _restore(saved: tuple[Any, Any, dict[str, str | None]]) -> None:
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils

    tracking_uri, registry_uri, env = saved
    mlflow.set_tracking_uri(tracking_uri)
    registry_utils._registry_uri = registry_uri
    for var, value in env.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value

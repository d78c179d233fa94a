"""The drift monitor: checks every batch that arrives and says what it found.

:class:`Monitor` is registered on the plugin manager like a plugin; the bus hands it
each ``data-arrived`` event on its own lane (one thread, so batches are checked one
at a time, in order). For each batch it

1. asks ``profile_provider`` for the profile to compare against and the model it
   belongs to (the daemon returns the champion's profile from MLflow);
2. checks the batch with the engine of ``[drift] engine`` (:mod:`arlequin_core.drift.engines`:
   ``auto`` streams it with Arrow, or runs one pass on Spark when ``[spark] master`` is
   set and the batch is larger than ``[drift] spark_min_bytes``, and reads it whole
   only when the profile has online detectors or the model-error column); in memory it
   reads the batch (:func:`arlequin_core.io.read_table`) and runs
   :func:`arlequin_core.drift.check.check_batch`; when the profile has online
   detectors (``info.online``), their state is restored from
   ``<home>/online/`` before and saved after (:mod:`arlequin_core.drift.online_state`),
   so the stream goes on across batches and restarts; a batch those detectors were
   already fed (a retry) is not fed again: those columns are reported as skipped;
   when the profile watches the model's errors (``[drift] error_detector``), the
   champion model (loaded once per version into the model cache) predicts the batch and its per-row errors
   become the column ``__error__``; a batch without labels has that column skipped,
   with the reason, and its other columns checked as usual;
3. writes ``<home>/reports/<batch id>.json``;
4. runs the data-quality checks (:mod:`arlequin_core.drift.quality`); a batch with
   findings gets a ``quality`` section in its report, a ``data-quality-failed`` event,
   and does not count as drifted unless ``[drift] quality_is_drift``;
5. publishes ``batch-checked`` always, then ``drift-detected`` when the policy says
   so, both caused by the ``data-arrived`` event (``cause_event_id``);
6. then, when ``[drift] html`` is true, hands the report to its
   :class:`~arlequin_core.rendering.ReportRenderer`, which renders
   ``<home>/reports/<batch id>.html`` in its own thread and refreshes
   ``<home>/reports/index.html`` (the drift over time) once a burst is rendered. Plots
   cost far more than the statistics, so neither the verdict nor the next batch waits
   for them; under a backlog the oldest waiting report gets a placeholder page and is
   rendered on demand (``arlequin report BATCH``).

A batch that cannot be checked (unreadable, empty, missing columns, no profile yet)
is answered with ``batch-rejected`` carrying the reason; the batch stays where it is
and nothing is raised out of the hook. Unexpected errors do propagate, so the bus
journals them as ``plugin-failed``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from arlequin_core import hookimpl
from arlequin_core.cache import VersionCache
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import quality
from arlequin_core.drift.check import check_batch
from arlequin_core.drift.engines import check_uri, choose_engine
from arlequin_core.drift.multivariate import add_multivariate
from arlequin_core.drift.notes import annotate
from arlequin_core.drift.online_state import (
    OnlineStateStore,
    online_columns,
    restore_online_state,
    save_online_state,
    state_dir,
)
from arlequin_core.drift.profile import ERROR_COLUMN, Profile
from arlequin_core.drift.report import DriftReport
from arlequin_core.drift.sample import sample_table
from arlequin_core.errors import ArlequinError
from arlequin_core.events import (
    BatchChecked,
    BatchRejected,
    DataArrived,
    DataQualityFailed,
    DriftDetected,
    ModelRegistered,
)
from arlequin_core.io import read_table
from arlequin_core.logs import get_logger
from arlequin_core.registry import ComponentRegistry
from arlequin_core.rendering import ReportRenderer
from arlequin_core.serving import weigh_performance

if TYPE_CHECKING:
    from arlequin_core.app import App
    from arlequin_core.bus import Bus

log = get_logger(__name__)

#: Returns ``(profile, model name, model version)``; raises an ArlequinError when there is none yet.
ProfileProvider = Callable[[], tuple[Profile, "str | None", "str | None"]]

REPORTS_DIR = "reports"


class NoChampionError(ArlequinError):
    """There is no champion model yet, so there is nothing to measure drift against."""


def champion_profile_provider(config: ArlequinConfig, cache: VersionCache | None = None) -> ProfileProvider:
    """A provider returning the champion's profile from MLflow (the daemon's default).

    The champion alias is looked up for every batch, so a promotion or a rollback
    changes the reference at once; each version's profile is downloaded once.

    :param cache: where the profiles are kept (the daemon passes
        :attr:`App.profile_cache <arlequin_core.app.App.profile_cache>`); default: the
        provider's own.
    :raises NoChampionError: (when called) no model is registered as champion yet.
    """
    profiles = cache if cache is not None else VersionCache()

    def provide() -> tuple[Profile, str | None, str | None]:
        from arlequin_core.training.champion import champion_profile
        from arlequin_core.training.errors import TrackingError

        try:
            found = champion_profile(config, profiles)
        except TrackingError as exc:  # names the store (secrets masked); the batch itself is fine
            raise TrackingError(
                f"{exc}; the batch is not checked: once the store is reachable, `arlequin retry BATCH` checks it again"
            ) from exc
        if found is None:
            raise NoChampionError(
                f"no champion model {config.mlflow.model_name!r} yet to measure drift against; "
                "train one with `arlequin train --data REFERENCE`, then `arlequin retry BATCH`"
            )
        return found

    return provide


class Monitor:
    """Checks each arriving batch against the profile of the serving model.

    :param config: ``[data] format`` and ``[drift]`` are used; reports go under ``config.home``.
    :param registry: where the profiles' detectors are looked up.
    :param bus: where the verdicts are published.
    :param profile_provider: called once per batch.
    :param model_cache: where the champion model for the error stream is kept once
        loaded (:attr:`App.model_cache <arlequin_core.app.App.model_cache>`); default:
        the monitor's own.

    It owns its online detectors' state store, and resets it when a new champion is
    promoted (``model-registered`` with ``promoted``, a rollback included): on the
    same lane as the batches, so a reset never interleaves with a batch's save.
    """

    #: The name it is registered under on the plugin manager.
    name = "monitor"

    def __init__(
        self,
        config: ArlequinConfig,
        registry: ComponentRegistry,
        bus: Bus,
        profile_provider: ProfileProvider,
        model_cache: VersionCache | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.bus = bus
        self.profile_provider = profile_provider
        self.model_cache = model_cache if model_cache is not None else VersionCache(latest_only=True)
        self._online_store: OnlineStateStore | None = None
        #: Draws the HTML reports off the monitor's lane (see :mod:`arlequin_core.rendering`).
        self.renderer = ReportRenderer()
        self._recent: deque[int] | None = None

    def close(self) -> None:
        """Stop rendering: reports still waiting for plots get their placeholder page."""
        self.renderer.close()

    @classmethod
    def attach(cls, app: App, profile_provider: ProfileProvider) -> Monitor:
        """Make a monitor for ``app`` and put it on the app's bus (``app.host.add``), to embed one
        without the daemon; ``arlequin watch`` registers its monitor as a daemon consumer instead.

        :raises arlequin_core.errors.PluginError: a plugin named ``monitor`` is registered already.
        """
        monitor = cls(app.config, app.registry, app.bus, profile_provider, model_cache=app.model_cache)
        return app.host.add(monitor, cls.name)

    @property
    def reports_dir(self) -> Path:
        """Where reports are written: ``<home>/reports``."""
        return self.config.home / REPORTS_DIR

    @property
    def online_store(self) -> OnlineStateStore:
        """The online detectors' states, ``<home>/online`` (opened on first use, then kept
        so that a promotion resets it: see :meth:`arlequin_on_model_registered`)."""
        if self._online_store is None:
            self._online_store = OnlineStateStore(state_dir(self.config.home))
        return self._online_store

    @hookimpl
    def arlequin_on_model_registered(self, event: ModelRegistered) -> None:
        """A new champion has a new reference: online state learnt under the old one must not carry over.

        States saved by a monitor in another process are skipped on load (their champion differs).
        """
        if not event.promoted or self._online_store is None:
            return
        removed = self._online_store.reset()
        log.info(
            "online_state_reset_on_promotion",
            model_name=event.model_name,
            model_version=event.model_version,
            directory=str(self._online_store.directory),
            removed=removed,
        )

    @hookimpl
    def arlequin_on_data_arrived(self, event: DataArrived) -> None:
        """Check the batch of ``event`` and publish the verdict (see the module docstring)."""
        batch_id = event.batch_id or event.event_id
        try:
            profile, model_name, model_version = self.profile_provider()
            engine = self.config.drift.engine
            if engine == "auto":
                engine = choose_engine(profile, event.uri, self.config, self.registry)
            if engine != "memory":  # streamed (arrow) or on Spark: the batch is never held whole
                checked = check_uri(profile, event.uri, self.config, self.registry, engine=engine)
                report, table, rows = checked.report, checked.plots, checked.sample
            else:
                table = read_table(event.uri, self.config.data.format, keep_index=self.config.data.roles())
                table, skip = self._with_errors(profile, table, event.uri, batch_id, model_name, model_version)
                online = online_columns(profile, self.registry)
                if not online:  # batch tests only: no state, no file
                    report = check_batch(profile, table, self.config, self.registry, uri=event.uri, skip=skip)
                else:
                    profile, report = self._check_online(
                        profile, table, event.uri, batch_id, model_name, model_version, skip
                    )
                rows = sample_table(table, self.config.drift.sample_rows)
                if profile.multivariate:
                    add_multivariate(report, profile, rows, self.config, event.uri)
        except ArlequinError as exc:
            log.warning("batch_rejected", batch_id=batch_id, uri=event.uri, reason=str(exc))
            self.bus.publish(
                BatchRejected(
                    uri=event.uri,
                    reason=str(exc),
                    error_type=type(exc).__name__,
                    batch_id=batch_id,
                    cause_event_id=event.event_id,
                )
            )
            return
        report.batch_id, report.model_name, report.model_version = batch_id, model_name, model_version
        annotate(report, profile, self.config, event.uri)
        weigh_performance(
            report, profile, rows, self.config, self.registry, model_name, model_version, self.model_cache
        )
        # After the estimate: a batch that fails the data-quality checks is not drift, whatever it says.
        found = self._quality(profile, event.uri, report, table if engine == "memory" else None, engine, batch_id)
        report_path = self._write_json(batch_id, report)
        common = {
            "uri": event.uri,
            "drift_share": report.drift_share,
            "drifted_columns": tuple(report.drifted_columns),
            "report_uri": str(report_path),
            "model_name": model_name,
            "model_version": model_version,
            "batch_id": batch_id,
            "cause_event_id": event.event_id,
        }
        if found:
            self.bus.publish(
                DataQualityFailed(
                    findings=tuple(f.message for f in found),
                    rules=tuple(f.rule for f in found),
                    columns=tuple(f.column for f in found if f.column),
                    counts_as_drift=self.config.drift.quality_is_drift,
                    **{k: v for k, v in common.items() if k not in ("drift_share", "drifted_columns")},
                )
            )
        quality = tuple(f.message for f in found)
        perf = report.performance or {}
        estimated = {
            m: v["estimated"] if np.isfinite(v["estimated"]) else None for m, v in perf.get("metrics", {}).items()
        } or None
        self.bus.publish(
            BatchChecked(
                drifted=report.drifted,
                rows=report.rows_cur,
                columns_drifted=report.columns_drifted,
                estimated_performance=estimated,
                performance_dropped=perf.get("dropped"),
                quality=quality,
                **common,
            )
        )
        if report.drifted:
            self.bus.publish(DriftDetected(reason=report.reason, **common))
        # Plots take far longer than the verdict: drawn in the renderer's thread, beside the JSON.
        if self.config.drift.html:
            self.renderer.submit(batch_id, report, profile, table, report_path.with_suffix(".html"))

    def _quality(
        self, profile: Profile, uri: str, report: DriftReport, table: pa.Table | None, engine: str, batch_id: str
    ) -> list[quality.Finding]:
        """Run the data-quality checks (:mod:`arlequin_core.drift.quality`) and put their findings in ``report``.

        A batch with findings does not count as drifted unless ``[drift] quality_is_drift``.
        """
        if engine == "spark":
            return []  # the batch is not read on this machine; see docs/operations.md
        try:
            scanned = quality.tally_table(profile, table) if table is not None else quality.scan(profile, uri)
        except (ArlequinError, OSError, pa.ArrowException) as exc:
            log.warning("quality_check_failed", batch_id=batch_id, uri=uri, error=str(exc))
            return []
        recent = self._recent_rows()
        found = quality.findings(profile, scanned, recent, self.config.drift.quality_min_rows_share)
        if not found:
            recent.append(report.rows_cur)
            return []
        report.quality = [f.to_dict() for f in found]
        log.warning("data_quality_failed", batch_id=batch_id, uri=uri, findings=[f.message for f in found])
        if report.drifted and not self.config.drift.quality_is_drift:
            report.drifted = False
            report.reason = (
                "not counted as drift: the batch failed data-quality checks ([drift] quality_is_drift = false); "
                f"the drift tests said: {report.reason}"
            )
        elif not report.drifted and self.config.drift.quality_is_drift:
            report.drifted = True
            report.reason = (
                f"the batch failed data-quality checks ([drift] quality_is_drift = true): {found[0].message}"
            )
        return found

    def _recent_rows(self) -> deque[int]:
        """Row counts of the latest batches without findings ("usual"), read once from the reports."""
        if self._recent is None:
            self._recent = deque(quality.recent_rows(self.reports_dir), maxlen=quality.HISTORY)
        return self._recent

    def _check_online(
        self,
        profile: Profile,
        table: pa.Table,
        uri: str,
        batch_id: str,
        model_name: str | None,
        model_version: str | None,
        skip: dict[str, str] | None = None,
    ) -> tuple[Profile, DriftReport]:
        """``check_batch`` with the online detectors continued from, and saved to, the store.

        Columns in ``skip`` (with the reason) are not fed, and their state is left as
        it was, so the batch can still feed them later (e.g. once its labels arrive).

        The provider's profile may be cached across batches (the champion's is), so
        it is forked: its online columns are rebuilt from the saved state for every
        batch and the cached profile keeps the champion's warm-up, which a reset on
        promotion (or a state for another champion) falls back to.
        """
        store = self.online_store
        online = online_columns(profile, self.registry)
        fed = {
            column
            for column in online
            if store.has_fed(column, profile.columns[column].detector, batch_id, model_name, model_version)
        }
        if fed:
            log.info("online_batch_already_fed", batch_id=batch_id, columns=sorted(fed))
        skip = {
            **(skip or {}),
            **{column: f"batch {batch_id!r} was already fed to this online detector" for column in fed},
        }
        profile = profile.fork(online)
        restore_online_state(profile, self.registry, store, model_name, model_version)
        report = check_batch(profile, table, self.config, self.registry, uri=uri, skip=skip)
        save_online_state(
            profile,
            self.registry,
            store,
            batch_id,
            model_name,
            model_version,
            columns=[column for column in online if column not in skip],
        )
        return profile, report

    def _with_errors(
        self,
        profile: Profile,
        table: pa.Table,
        uri: str,
        batch_id: str,
        model_name: str | None,
        model_version: str | None,
    ) -> tuple[pa.Table, dict[str, str]]:
        """``table`` with the champion's per-row errors as :data:`ERROR_COLUMN`, when the profile watches them.

        :returns: the table, and ``{ERROR_COLUMN: reason}`` when the errors could not be
            computed (the column is then all missing and not fed); ``{}`` otherwise.
        """
        if profile.data.get("error_column") != ERROR_COLUMN or ERROR_COLUMN not in profile.columns:
            return table, {}
        from arlequin_core.training.model_errors import batch_errors, champion_model

        errors: np.ndarray | str
        if model_name is None or model_version is None:
            errors = "the profile belongs to no registered model, so there is no model to compute errors with"
        else:
            try:
                trainer, model = champion_model(self.config, self.registry, model_name, model_version, self.model_cache)
                errors = batch_errors(trainer, model, table, uri)
            except ArlequinError as exc:
                # The features' verdict does not depend on the model: keep it, say why the errors are missing.
                log.warning("champion_errors_failed", batch_id=batch_id, error=str(exc))
                errors = f"the champion's errors could not be computed: {exc}"
        skip: dict[str, str] = {}
        if isinstance(errors, str):
            log.info("champion_errors_skipped", batch_id=batch_id, reason=errors)
            skip[ERROR_COLUMN] = errors
            column = pa.nulls(table.num_rows, pa.float64())
        else:
            column = pa.array(errors, type=pa.float64())
        if ERROR_COLUMN in table.column_names:
            log.warning("batch_error_column_replaced", batch_id=batch_id, column=ERROR_COLUMN)
            table = table.drop_columns([ERROR_COLUMN])
        return table.append_column(ERROR_COLUMN, column), skip

    def _write_json(self, batch_id: str, report: DriftReport) -> Path:
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", batch_id)
        path = self.reports_dir / f"{stem}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(report.to_json() + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

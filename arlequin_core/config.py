"""Configuration: one TOML file, validated on load.

Where the file comes from: ``--config PATH``, else ``$ARLEQUIN_CONFIG``, else
``./arlequin.toml`` when it exists, else none at all: every key has a default under
which the embedded mode works.

Strings may hold ``${ENV_VAR}`` (a missing variable is an error naming the key) or
``${file:/path/to/secret}`` (the file's content, stripped). A key or variable name
looks secret when it contains one of :data:`SECRET_KEY_PARTS` (any case):
``token``, ``password``, ``passwd``, ``secret``, ``api_key``, ``apikey``,
``credential``, ``hmac_key``. What ``${file:...}`` reads, what ``${ENV_VAR}`` gives to a
key or from a variable that looks secret, and every :class:`pydantic.SecretStr` field
are registered with :mod:`arlequin_core.secrets`, so they are masked in logs and
journals; ``config show`` also masks any value of a key that looks secret.

Errors name the file, the key and what was expected. Unknown keys are errors, so a
typo is never silently ignored. Plugin sections (``[sinks.<name>]``,
``[sources.<name>]``, ``[metrics]``) are kept as tables here and validated by the plugin that owns
them with :func:`validate_section`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Literal, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator

from arlequin_core.config_file import find_config
from arlequin_core.errors import ConfigError
from arlequin_core.secrets import MASK, register_secret

#: A key (or environment variable) whose name contains one of these holds a secret.
SECRET_KEY_PARTS = ("token", "password", "passwd", "secret", "api_key", "apikey", "credential", "hmac_key")
_SECRET_KEY = re.compile("|".join(map(re.escape, SECRET_KEY_PARTS)), re.I)
_INTERP = re.compile(r"\$\{([^}]*)\}")

M = TypeVar("M", bound=BaseModel)

#: Keys that used to exist, and where their setting lives now (an error names the new place).
MOVED_KEYS = {"training.spark_master": "[spark] master"}


class Section(BaseModel):
    """Base of config sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class CoreSection(Section):
    """``[arlequin]``: where state lives and how to log."""

    #: State directory: journal, ledger, MLflow store, reports. Relative to the CWD.
    home: Path = Path(".arlequin")
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: fsync the journal after every event (see arlequin_core.journal).
    journal_fsync: bool = True
    #: Capacity of each plugin's event queue; publishing blocks when it is full.
    queue_size: int = Field(default=1000, ge=1)


class PluginsSection(Section):
    """``[plugins]``: entry-point names of plugins not to load."""

    disable: list[str] = Field(default_factory=list)


class DataSection(Section):
    """``[data]``: what the columns of a batch are."""

    #: The label column: never a feature, used by training.
    label: str | None = None
    #: A timestamp column, reported by online detectors; not a feature.
    timestamp: str | None = None
    #: Columns that are neither features nor label (ids).
    exclude: list[str] = Field(default_factory=list)
    #: Force column kinds; other columns are inferred (see docs/detectors.md).
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    #: File format of batches; ``auto`` decides by extension.
    format: Literal["auto", "parquet", "csv"] = "auto"

    def roles(self) -> set[str]:
        """Columns this section names (label, timestamp, forced kinds): a pandas index among them stays data."""
        named = {self.label, self.timestamp, *self.numeric, *self.categorical}
        return {c for c in named if c}


class ColumnDriftSection(Section):
    """``[drift.columns.<name>]``: the test and threshold for one column."""

    detector: str | None = None
    threshold: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    #: The smallest effect that counts as drift for this column (overrides ``[drift] min_effect``).
    min_effect: float | None = Field(default=None, ge=0.0, le=1.0)


class MinEffectSection(Section):
    """``[drift] min_effect``: the smallest effect that counts as drift, per column kind.

    A number sets all three. The effects are KS's D (numeric), total variation
    (categorical) and the change in the missing rate (see docs/detectors.md for the
    measurements behind the defaults).
    """

    numeric: float = Field(default=0.05, ge=0.0, le=1.0)
    categorical: float = Field(default=0.05, ge=0.0, le=1.0)
    missing: float = Field(default=0.05, ge=0.0, le=1.0)


class PerformanceDropSection(Section):
    """``[drift.performance_drop]``: how far the champion's estimated performance may fall."""

    #: The estimated metric watched (CBPE: docs/performance.md).
    metric: Literal["roc_auc", "precision", "recall", "f1"] = "roc_auc"
    #: Allowed drop below the champion's held-out value (absolute, in the metric's units);
    #: never smaller than the batch's own sampling noise (3 standard deviations).
    max_drop: float = Field(default=0.05, ge=0.0, le=1.0)


class DriftSection(Section):
    """``[drift]``: which tests run and how their results become one verdict."""

    numeric_detector: str = "ks"
    categorical_detector: str = "chi2"
    #: Multiple-testing correction over the p-value tests of one batch.
    correction: Literal["none", "bonferroni", "holm", "bh"] = "holm"
    #: The threshold of every column that sets none in [drift.columns.<name>] (a p-value
    #: level or a distance); None: each detector's default.
    threshold: float | None = None
    #: A p-value test flags a column only when its effect is at least this large too.
    min_effect: MinEffectSection = Field(default_factory=MinEffectSection)
    #: Calibrate each column's min_effect on the reference at fit time for batches of this
    #: many rows (0: off; see arlequin_core.drift.calibrate) ...
    calibrate_rows: int = Field(default=0, ge=0)
    #: ... at this quantile of the no-change effects of that many reference chunks.
    calibrate_quantile: float = Field(default=0.99, ge=0.5, le=1.0)
    calibrate_draws: int = Field(default=200, ge=1)
    #: None (default): the batch drifted when any tested column drifted. A share: when at
    #: least this share of columns drifted ...
    drift_share: float | None = Field(default=None, gt=0.0, le=1.0)
    #: ... or when any of these columns drifted.
    critical: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnDriftSection] = Field(default_factory=dict)
    #: Write an HTML report for every checked batch (daemon).
    html: bool = True
    #: Let a batch that fails the data-quality checks count as drifted (it is never trained on).
    quality_is_drift: bool = False
    #: A batch with fewer rows than this share of the recent median is a data-quality finding.
    quality_min_rows_share: float = Field(default=0.1, ge=0.0, le=1.0)
    #: P-value threshold of the test of a change in a column's missing rate; 0 turns it off.
    missing_threshold: float = Field(default=0.05, ge=0.0, lt=1.0)
    #: Number columns with at most this many distinct reference values are categorical.
    categorical_max_distinct: int = Field(default=20, ge=1)
    #: A text column whose distinct values are at least this share of its values (and more than
    #: categorical_max_distinct) is id-like: not tested, with a note (0: off; docs/detectors.md).
    id_like_share: float = Field(default=0.9, ge=0.0, le=1.0)
    #: Fit on a seeded uniform sample of at most this many reference rows (0: all rows).
    reference_sample: int = Field(default=0, ge=0)
    #: Watch the champion's per-row errors (column ``__error__``) with this online detector
    #: (``ddm``, ``eddm``, ``hddm_a``, ``hddm_w``) once labels arrive; None: off.
    error_detector: str | None = None
    #: Keyword arguments of ``error_detector``.
    error_params: dict[str, Any] = Field(default_factory=dict)
    #: What computes a batch's statistics: ``memory`` (the whole batch as one Arrow table),
    #: ``arrow`` (streamed by row groups, bounded memory), ``spark`` (one pass on ``[spark]``),
    #: or ``auto`` (see arlequin_core.drift.engines for the rule).
    engine: Literal["auto", "memory", "arrow", "spark"] = "auto"
    #: With ``engine = "auto"`` and a ``[spark] master``, batches larger than this go to Spark.
    spark_min_bytes: int = Field(default=2 << 30, ge=0)
    #: Estimate the champion's performance on every batch (CBPE) when its profile has a calibrator.
    performance: bool = True
    #: A batch whose estimated metric falls this far is drift whatever the columns say; None: off.
    performance_drop: PerformanceDropSection | None = Field(default_factory=PerformanceDropSection)
    #: What makes a batch drift (and retrain): the column tests, the estimated performance, or either.
    retrain_on: Literal["columns", "performance", "either"] = "either"
    #: The multivariate detectors and the champion's performance estimate use a seeded uniform
    #: sample of at most this many rows of a batch (0: all rows); see arlequin_core.drift.sample.
    #: 20,000 rows bound the estimate's band to about +-0.01 ROC AUC and keep both cheap at any batch size.
    sample_rows: int = Field(default=20_000, ge=0)
    #: Detectors over all feature columns together (docs/detectors.md): "pca", "classifier".
    multivariate: list[Literal["pca", "classifier"]] = Field(default_factory=lambda: ["pca"])

    @field_validator("min_effect", mode="before")
    @classmethod
    def _one_floor_for_all(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"numeric": value, "categorical": value, "missing": value}
        return value


class MlflowSection(Section):
    """``[mlflow]``: tracking store and registry."""

    #: Default: a SQLite store under ``<home>/mlflow.db``, artifacts beside it.
    tracking_uri: str | None = None
    registry_uri: str | None = None
    experiment: str = "arlequin"
    model_name: str = "arlequin-model"
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    #: Artifact root of the experiment when Arlequin creates it. Default: beside the
    #: SQLite file (``<home>/mlartifacts``); a tracking server decides for itself.
    artifact_location: str | None = None
    #: Retries and timeout (seconds) of each MLflow HTTP request before giving up.
    request_retries: int = Field(default=2, ge=0, le=10)
    request_timeout: float = Field(default=30.0, gt=0.0)


class TrainingSection(Section):
    """``[training]``: how models are trained, validated and promoted."""

    trainer: str = "sklearn-logreg"
    #: The model of trainer ``sklearn``: any scikit-learn-compatible estimator as
    #: ``"module:Class"``; ``params`` are its keyword arguments (see docs/training.md).
    estimator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    #: ``classification`` or ``regression``; None: inferred from the label (see docs/training.md).
    task: Literal["classification", "regression"] | None = None
    #: A rule that makes the label (see docs/training.md) when no label column exists.
    label_rule: str | None = None
    #: Metric that decides promotion (None: roc_auc for classification, rmse for regression),
    #: and how much worse than the champion is tolerated (``promote = "non_inferior"``).
    metric: Literal["roc_auc", "pr_auc", "f1", "precision", "recall", "log_loss", "rmse", "mae", "r2"] | None = None
    tolerance: float = Field(default=0.0, ge=0.0)
    #: Promotion rule on the paired test's interval: ``non_inferior`` (promote unless
    #: significantly worse by more than ``tolerance``) or ``superior`` (only when significantly better).
    promote: Literal["non_inferior", "superior"] = "non_inferior"
    #: Confidence level of the paired test's interval.
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    #: Resamples of the paired bootstrap (metrics other than roc_auc; seeded by ``seed``).
    resamples: int = Field(default=1000, ge=100)
    test_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    seed: int = 0
    #: Retrain on the last N batches.
    window: int = Field(default=3, ge=1)
    #: A retrain keeps the champion's column kinds (numeric/categorical) for the columns it
    #: tested; [data] numeric/categorical still win. False: infer them again from the new rows.
    keep_kinds: bool = True
    #: Seconds after a retrain during which further drift does not retrain again.
    cooldown: float = Field(default=60.0, ge=0.0)


class SparkSection(Section):
    """``[spark]``: the Spark connection, shared by the Spark drift engine and the Spark trainer.

    See :mod:`arlequin_core.spark_session` for how a session is obtained from it.
    """

    #: Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``); None: none configured
    #: (the Spark trainer then uses ``local[*]``, and ``[drift] engine = "auto"`` never picks Spark).
    master: str | None = None
    #: Application name of a session Arlequin creates.
    app_name: str = "arlequin"
    #: Extra Spark properties of a session Arlequin creates (``spark.executor.memory = "4g"``).
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)


class WatchSection(Section):
    """``[watch]``: the watcher daemon (sources are ``[sources.<name>]`` tables; see docs/watching.md)."""

    #: Batches handed to consumers and not yet concluded; the dispatcher waits beyond it.
    max_in_flight: int = Field(default=4, ge=1)
    #: Seconds to wait on SIGINT/SIGTERM for batches in flight before giving up on them.
    drain_timeout: float = Field(default=60.0, ge=0.0)
    #: Seconds between looks at the ledger for pending batches (``arlequin retry``).
    sweep_interval: float = Field(default=2.0, gt=0.0)
    #: Consumers of ``data-arrived`` as ``"module:factory"``; ``factory(app)`` returns the plugin object.
    consumers: list[str] = Field(default_factory=list)
    #: Seconds of quiet after which the daemon logs a ``heartbeat`` (what it watches, batches so far,
    #: the last one, what the sinks are doing, e.g. a retrain's cooldown); 0: never.
    heartbeat: float = Field(default=30.0, ge=0.0)


class ArlequinConfig(Section):
    """The whole configuration file."""

    arlequin: CoreSection = Field(default_factory=CoreSection)
    plugins: PluginsSection = Field(default_factory=PluginsSection)
    data: DataSection = Field(default_factory=DataSection)
    drift: DriftSection = Field(default_factory=DriftSection)
    mlflow: MlflowSection = Field(default_factory=MlflowSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    spark: SparkSection = Field(default_factory=SparkSection)
    watch: WatchSection = Field(default_factory=WatchSection)
    #: ``[sources.<name>]`` tables, validated by each source plugin.
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: ``[sinks.<name>]`` tables, validated by each sink plugin.
    sinks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: ``[metrics]``: the Prometheus endpoint, validated by the ``metrics`` plugin (off without a port).
    metrics: dict[str, Any] = Field(default_factory=dict)

    #: The file this config came from (None: defaults only). Not a TOML key.
    source_path: Path | None = Field(default=None, exclude=True)
    #: Column kinds a retrain carries from the champion (arlequin_core.drift.kinds.carry_kinds). Not a TOML key.
    _carried_kinds: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def home(self) -> Path:
        """The state directory, resolved against the CWD."""
        return self.arlequin.home.expanduser().resolve()

    def tracking_uri(self) -> str:
        """The MLflow tracking URI: from config, else SQLite under ``home``."""
        if self.mlflow.tracking_uri:
            return self.mlflow.tracking_uri
        return f"sqlite:///{self.home / 'mlflow.db'}"

    def masked(self) -> dict[str, Any]:
        """The effective config as a dict with every secret replaced by ``***``."""
        return _mask(self.model_dump(mode="python", exclude={"source_path"}))


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and value and _SECRET_KEY.search(key):
        return MASK
    return value


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


def load_config(path: str | os.PathLike[str] | None = None) -> ArlequinConfig:
    """Load and validate the config (see :func:`find_config` for which file).

    :raises ConfigError: unreadable or malformed file, unknown key, wrong type,
        missing environment variable; the message names the file and the key.
    """
    file = find_config(path)
    if file is None:
        return ArlequinConfig()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    raw = interpolate(raw, str(file))
    config = validate_section(ArlequinConfig, raw, str(file))
    config.source_path = file
    _register_model_secrets(config)
    return config


def validate_section(model: type[M], data: dict[str, Any], where: str, prefix: str = "") -> M:
    """Validate ``data`` against ``model``; errors name ``where`` and the dotted key.

    Plugins call this for their own section, e.g.
    ``validate_section(JenkinsConfig, config.sinks["jenkins"], file, "sinks.jenkins")``.
    """
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where, prefix)) from None
    _register_model_secrets(result)
    return result


def format_validation_error(exc: ValidationError, where: str, prefix: str = "") -> str:
    """One line per problem: ``file: key a.b.c: what was wrong (expected ...)``."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in (prefix.split(".") if prefix else []) + list(err["loc"]))
        if err["type"] == "extra_forbidden" and key in MOVED_KEYS:
            problem = f"this key moved: set {MOVED_KEYS[key]} instead (see docs/configuration.md)"
        elif err["type"] == "extra_forbidden":
            problem = "unknown key (check the spelling; see docs/configuration.md)"
        elif err["type"] == "missing":
            problem = "required key is missing"
        else:
            given = err.get("input")
            shown = "" if _SECRET_KEY.search(key) else f", got {given!r}"
            problem = f"{err['msg']}{shown}"
        lines.append(f"{where}: key {key or '(top level)'}: {problem}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def interpolate(value: Any, where: str, key: str = "") -> Any:
    """Replace ``${VAR}`` and ``${file:PATH}`` in every string of ``value``."""
    if isinstance(value, dict):
        return {k: interpolate(v, where, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, where, key) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        ref = match.group(1).strip()
        if ref.startswith("file:"):
            secret_path = Path(ref[5:]).expanduser()
            try:
                text = secret_path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{where}: key {key}: cannot read secret file {secret_path}: {exc.strerror or exc}"
                ) from None
            register_secret(text)
            return text
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ref):
            raise ConfigError(f"{where}: key {key}: bad reference ${{{ref}}}; use ${{ENV_VAR}} or ${{file:PATH}}")
        if ref not in os.environ:
            raise ConfigError(f"{where}: key {key}: environment variable {ref} is not set; export it or edit the key")
        text = os.environ[ref]
        if _SECRET_KEY.search(key) or _SECRET_KEY.search(ref):
            register_secret(text)
        return text

    return _INTERP.sub(substitute, value)


def _register_model_secrets(model: BaseModel) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
        elif isinstance(value, BaseModel):
            _register_model_secrets(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, BaseModel):
                    _register_model_secrets(v)
                elif isinstance(v, str) and _SECRET_KEY.search(str(k)):
                    register_secret(v)
                elif isinstance(v, dict):
                    for kk, vv in v.items():
                        if isinstance(vv, str) and _SECRET_KEY.search(str(kk)):
                            register_secret(vv)

"""The trainer interface: one implementation per engine (scikit-learn, Spark, ...).

A trainer reads the training batches, derives the label
(:class:`~arlequin_core.training.labels.LabelSpec`), picks the features
(:func:`~arlequin_core.training.features.infer_features`), holds out
``[training] test_size`` of the rows (seeded by ``[training] seed``), fits, and
scores the held-out rows with :func:`~arlequin_core.training.metrics.compute_metrics`.
It writes the held-out rows (all original columns) to ``heldout_uri`` so the
retraining flow can score the champion on exactly the same rows, even after a
restart.

It also knows how to persist its models: :meth:`Trainer.save` writes an MLflow
model directory (loadable with ``mlflow.pyfunc.load_model`` on its own),
:meth:`Trainer.log_model` logs one to the active MLflow run, and :meth:`Trainer.load`
reads either back. Everything else (MLflow runs, the registry, promotion) is the
flow's job (:mod:`arlequin_core.training.flow`), the same for every trainer;
:func:`make_trainer` is how the flow gets one by name.

Register a trainer class from a plugin::

    @hookimpl
    def arlequin_register_trainers(register):
        register(MyTrainer)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from arlequin_core.config import ArlequinConfig
from arlequin_core.training.features import FeatureSpec
from arlequin_core.training.labels import LabelSpec

if TYPE_CHECKING:
    from arlequin_core.app import App

#: Rows of model input kept as the MLflow input example.
EXAMPLE_ROWS = 5


@dataclass
class TrainedModel:
    """What :meth:`Trainer.train` returns.

    :param model: the fitted model (engine-specific: a scikit-learn Pipeline, a Spark PipelineModel).
    :param trainer: the trainer's registered name.
    :param features: the feature columns used.
    :param metrics: :data:`~arlequin_core.training.metrics.METRICS` on the held-out rows.
    :param params: every hyper-parameter and setting used (logged to MLflow).
    :param rows: ``train``, ``heldout`` and ``unlabelled`` row counts.
    :param reference: the training rows as a pyarrow Table (original columns): the
        reference the drift profile is built from.
    :param heldout_uri: where the held-out rows were written (Parquet file or directory).
    :param example: up to :data:`EXAMPLE_ROWS` rows of model input (a pandas DataFrame).
    :param extra: anything else worth keeping (e.g. ``fit_seconds``).
    :param task: ``classification`` or ``regression`` (decides the metrics and the paired test).
    """

    model: Any
    trainer: str
    features: FeatureSpec
    metrics: dict[str, float]
    params: dict[str, Any]
    rows: dict[str, int]
    reference: Any
    heldout_uri: str
    example: Any
    extra: dict[str, Any] = field(default_factory=dict)
    task: str = "classification"


class Trainer(ABC):
    """Base class of trainers. Subclasses set a unique ``name`` and the MLflow ``flavor``.

    :param config: the Arlequin config (label, features, ``[training]`` settings).
    :param options: engine options, e.g. ``spark=`` an existing SparkSession.
    """

    name: ClassVar[str]
    #: The ``mlflow.<flavor>`` module that logs and loads this trainer's models.
    flavor: ClassVar[str] = ""

    def __init__(self, config: ArlequinConfig | None = None, **options: Any) -> None:
        self.config = config if config is not None else ArlequinConfig()
        self.options = options

    @property
    def label(self) -> LabelSpec:
        """The label source from config (raises ConfigError/LabelRuleError when wrong)."""
        return LabelSpec.from_config(self.config)

    @abstractmethod
    def train(self, data: Any, **kwargs: Any) -> TrainedModel:
        """Train on ``data`` and score the held-out split.

        :param data: a list of batch URIs (files or Spark directories), or an
            engine-native frame (pandas/Arrow for scikit-learn, a Spark DataFrame).
        :param kwargs: ``heldout_uri`` (required): where to write the held-out rows.
        :raises InputError: unreadable data, a bad label column.
        :raises TrainingError: one class only, too few rows, no features.
        """

    @abstractmethod
    def score(self, model: Any, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        """Labels and positive-class probabilities (regression: numeric labels and predictions) of the labelled rows.

        :param model: a model from :meth:`train` or :meth:`load` (of this trainer).
        :param data: like :meth:`train`'s ``data``.
        :param where: names the data in errors.
        :returns: ``(y_true, proba)``, both shape ``(n_labelled,)``.
        """

    def predict_proba(self, model: Any, table: Any, where: str = "data") -> np.ndarray:
        """Positive-class probabilities of every row of ``table`` (no label needed).

        The monitor estimates the champion's performance on unlabelled batches with it
        (:mod:`arlequin_core.performance`). A trainer that does not implement it is
        reported as unable to estimate, never an error of the batch.

        :param table: a pyarrow Table with the model's feature columns.
        :returns: shape ``(table.num_rows,)``.
        :raises InputError: the model cannot read the rows.
        """
        raise NotImplementedError(f"trainer {self.name!r} cannot score unlabelled rows (no predict_proba)")

    @abstractmethod
    def save(self, model: Any, path: str, example: Any) -> None:
        """Write ``model`` as an MLflow model directory at ``path`` (must not exist)."""

    @abstractmethod
    def log_model(self, model: Any, example: Any) -> str:
        """Log ``model`` to the active MLflow run (signature, input example, pip requirements); return its URI."""

    @abstractmethod
    def load(self, uri: str) -> Any:
        """Load a model saved by :meth:`save` (a path) or logged by :meth:`log_model` (any MLflow model URI)."""

    @abstractmethod
    def pip_requirements(self, model: Any = None) -> list[str]:
        """Exact requirements of the logged model (given explicitly: inferring them costs seconds).

        :param model: the model being logged, when its requirements depend on it (e.g. its estimator's package).
        """


def make_trainer(app: App, name: str | None = None, **options: Any) -> Trainer:
    """An instance of the registered trainer ``name`` (default ``[training] trainer``).

    :param options: passed to the trainer, e.g. ``spark=`` an existing SparkSession.
    :raises UnknownComponentError: no such trainer (the message lists the known ones).
    """
    cls = app.component("trainer", name or app.config.training.trainer)
    return cls(app.config, **options)

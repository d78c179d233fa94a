"""Hook implementations of the ``sklearn`` plugin (components imported on first use)."""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_trainers(register: Register) -> None:
    """Register ``sklearn`` (any estimator) and ``sklearn-logreg`` (scikit-learn, MLflow: imported on first use)."""
    register(lazy("arlequin_sklearn.trainer:SklearnTrainer", name="sklearn"))
    register(lazy("arlequin_sklearn.trainer:SklearnLogregTrainer", name="sklearn-logreg"))

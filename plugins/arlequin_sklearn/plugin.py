"""Hook implementations of the ``sklearn`` plugin."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_trainers(register: Register) -> None:
    """Register ``sklearn`` (any estimator) and ``sklearn-logreg``."""
    # Imported here so loading the plugin does not import scikit-learn.
    from arlequin_sklearn.trainer import SklearnLogregTrainer, SklearnTrainer

    register(SklearnTrainer)
    register(SklearnLogregTrainer)

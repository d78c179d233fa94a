"""Training, validation, registration and promotion of models.

The flow is in :mod:`arlequin_core.training.flow` (``retrain``, ``resume``,
``champion_profile``, ...); trainers implement :class:`arlequin_core.training.base.Trainer`.
Nothing heavy is imported here: scikit-learn, Spark and MLflow load on first use.
See ``docs/training.md``.
"""

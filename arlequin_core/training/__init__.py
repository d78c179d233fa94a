"""Training, validation, registration and promotion of models.

One job per module: the retrain pipeline in :mod:`~arlequin_core.training.flow`
(``retrain``, ``resume``); what it writes to MLflow in
:mod:`~arlequin_core.training.run_log`; the challenger-vs-champion verdict in
:mod:`~arlequin_core.training.validation`; registry operations outside a retrain
(promote, rollback, listings, the champion's profile) in
:mod:`~arlequin_core.training.champion`; the MLflow connection and its error guard in
:mod:`~arlequin_core.training.tracking`. Trainers implement
:class:`arlequin_core.training.base.Trainer`. Nothing heavy is imported here:
scikit-learn, Spark and MLflow load on first use. See ``docs/training.md``.
"""

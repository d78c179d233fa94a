"""Built-in plugin ``sklearn``: the trainers ``sklearn`` (any scikit-learn-compatible
estimator, ``[training] estimator = "module:Class"``) and ``sklearn-logreg`` (the
embedded default, logistic regression).

In-process, logged with ``mlflow.sklearn`` in the skops format.
Disable it with ``ARLEQUIN_DISABLE_PLUGINS=sklearn``.
"""

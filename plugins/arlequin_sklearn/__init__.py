"""Built-in plugin ``sklearn``: the embedded default trainer ``sklearn-logreg``.

Logistic regression on scikit-learn, in-process, logged with ``mlflow.sklearn``.
Disable it with ``ARLEQUIN_DISABLE_PLUGINS=sklearn``.
"""

"""Built-in plugin ``spark``: the trainers ``spark`` (any pyspark.ml predictor, e.g.
``GBTClassifier``, ``GBTRegressor``, ``LinearRegression``) and ``spark-logreg``.

Runs on the session of ``[spark]`` (``master``, default ``local[*]``; ``conf``), or on a
SparkSession the caller passes in. Logged with ``mlflow.spark``. Disable it with
``ARLEQUIN_DISABLE_PLUGINS=spark``.
"""

"""Built-in plugin ``spark``: the trainer ``spark-logreg`` (a pyspark.ml Pipeline).

Runs on the session of ``[spark]`` (``master``, default ``local[*]``; ``conf``), or on a SparkSession the
caller passes in. Logged with ``mlflow.spark``. Disable it with
``ARLEQUIN_DISABLE_PLUGINS=spark``.
"""

"""Built-in plugin ``spark``: the trainer ``spark-logreg`` (a pyspark.ml Pipeline).

Runs on ``[training] spark_master`` (default ``local[*]``), or on a SparkSession the
caller passes in. Logged with ``mlflow.spark``. Disable it with
``ARLEQUIN_DISABLE_PLUGINS=spark``.
"""

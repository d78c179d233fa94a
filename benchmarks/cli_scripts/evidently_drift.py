"""Evidently's DataDriftPreset on two Parquet files: the baseline ``bench_cli.py`` runs in its own venv.

Run: ``python evidently_drift.py REF CUR OUT.json`` (with Evidently 0.7 installed; never a
dependency of arlequin). Columns of type string are categorical, the others numerical;
Evidently picks its default tests for the data size (Wasserstein distance for numeric and
Jensen-Shannon for categorical columns above 1,000 rows).
"""

from __future__ import annotations

import sys

import pyarrow.parquet as pq
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main(ref_path: str, cur_path: str, out: str) -> None:
    ref = pq.read_table(ref_path).to_pandas()
    cur = pq.read_table(cur_path).to_pandas()
    categorical = [c for c in ref.columns if ref[c].dtype == object]
    numerical = [c for c in ref.columns if c not in categorical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition), Dataset.from_pandas(ref, data_definition=definition)
    )
    snapshot.save_json(out)


if __name__ == "__main__":
    main(*sys.argv[1:4])

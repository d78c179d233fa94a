"""Built-in plugin ``synth``: synthetic bank transactions with known drift.

Users need realistic data to try Arlequin, and Arlequin needs data whose drift is
known to test itself. ``arlequin generate`` writes a stream of batches (Parquet or
CSV, to any fsspec URI), each under a drift *scenario*, and a ``manifest.json`` with
the exact ground truth: for each batch, which columns drifted and by how much.

As a library::

    from arlequin_synth import TransactionGenerator, generate_batches, parse_scenario

    gen = TransactionGenerator("sudden:amount_scale=1.5,start=3", seed=7)
    reference = gen.reference(rows=20_000)            # undrifted: train on this
    for batch in gen.stream(rows=5_000, batches=6, reference_rows=20_000):
        batch.table, batch.truth["drifted_columns"]   # pyarrow.Table, ['amount'] from batch 3

    generate_batches("data/incoming", rows=5_000, batches=6, scenario="gradual:concept=card_testing")

See ``docs/generator.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Exported names -> defining module. Imported on first use, so loading the plugin to
# list CLI commands does not pull in numpy, pyarrow and scipy.
_EXPORTS = {
    "Batch": "generator",
    "TransactionGenerator": "generator",
    "MANIFEST_NAME": "output",
    "OutputError": "output",
    "batch_name": "output",
    "generate_batches": "output",
    "Component": "scenario",
    "Drift": "scenario",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "parse_scenario": "scenario",
    "CATEGORICAL_COLUMNS": "schema",
    "FEATURE_COLUMNS": "schema",
    "ID_COLUMNS": "schema",
    "LABEL": "schema",
    "NUMERIC_COLUMNS": "schema",
    "SCHEMA": "schema",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"arlequin_synth.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'arlequin_synth' has no attribute {name!r}")


__all__ = [
    "CATEGORICAL_COLUMNS",
    "FEATURE_COLUMNS",
    "ID_COLUMNS",
    "LABEL",
    "MANIFEST_NAME",
    "NUMERIC_COLUMNS",
    "SCHEMA",
    "Batch",
    "Component",
    "Drift",
    "OutputError",
    "Scenario",
    "ScenarioError",
    "TransactionGenerator",
    "batch_name",
    "generate_batches",
    "parse_scenario",
]

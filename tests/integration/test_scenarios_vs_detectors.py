"""The generator's ground truth agrees with what the drift detectors find.

For every scenario and batch: each column the manifest says a correct detector must flag
(``drifted_columns``) is flagged, and nothing outside the columns that changed at all
(``affected_columns``) is. Concept drift changes no feature, so nothing is flagged.
The per-test level is 0.001 (Holm-corrected over the batch's tests), so a false alarm
anywhere in this suite has a probability of a few percent at most; the data are seeded.
"""

from __future__ import annotations

import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.plugins import PluginHost
from arlequin_synth import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS, TransactionGenerator

ROWS, REFERENCE_ROWS, BATCHES = 3000, 6000, 4
LEVEL = 0.001

SCENARIOS = [
    "none",
    "sudden:amount_scale=1.5,start=1",
    "sudden:amount_shift=15,start=2",
    "gradual:column=channel,category=mobile,factor=3,start=1,duration=2",
    "incremental:missing=amount|country,missing_rate=0.3,start=1,duration=2",
    "sudden:new_category=crypto,share=0.1,like=gambling",
    "gradual:category=travel,factor=4,start=1,duration=3",
    "recurring:amount_scale=1.8,period=2,length=1,start=1",
    "recurring:concept=card_testing,period=2,length=1,start=1",
    "sudden:concept=account_takeover",
]


@pytest.fixture(scope="module")
def registry():
    return PluginHost().load().registry


def _config() -> ArlequinConfig:
    features = [*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS]
    return ArlequinConfig.model_validate(
        {
            "data": {
                "label": "is_fraud",
                "timestamp": "timestamp",
                "exclude": ["transaction_id"],
                "numeric": list(NUMERIC_COLUMNS),
                "categorical": list(CATEGORICAL_COLUMNS),
            },
            "drift": {
                "correction": "holm",
                "missing_threshold": LEVEL,
                "columns": {column: {"threshold": LEVEL} for column in features},
            },
        }
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_detectors_agree_with_the_manifest(scenario: str, registry) -> None:
    config = _config()
    generator = TransactionGenerator(scenario=scenario, seed=11)
    profile = build_profile(generator.reference(REFERENCE_ROWS), config, registry)
    assert set(profile.columns) == {*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS}
    for batch in generator.stream(ROWS, BATCHES, reference_rows=REFERENCE_ROWS):
        truth = batch.truth
        report = check_batch(profile, batch.table, config, registry)
        flagged = {c.column for c in report.columns if c.drifted}
        must, may = set(truth["drifted_columns"]), set(truth["affected_columns"])
        where = f"{scenario} batch {batch.index}: flagged {sorted(flagged)}, truth {sorted(must)} / {sorted(may)}"
        assert must <= flagged, where
        assert flagged <= may, where
        if truth["concept_drift"]:
            assert not flagged, where
        if scenario == "none":
            assert not may and not report.drifted, where

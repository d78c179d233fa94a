"""The ground truth agrees with the data: each drift kind does to the rows what the truth says."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from arlequin_synth import CATEGORICAL_COLUMNS, FEATURE_COLUMNS, NUMERIC_COLUMNS, TransactionGenerator, truth
from arlequin_synth.truth import category_probs, detectable_effect

from .helpers import drift_p_value, empirical_effect, frequencies, null_rate, sampling_tolerance, values

ROWS = 30_000
QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9]


@pytest.mark.parametrize(
    "spec",
    [
        "sudden:amount_scale=1.5,start=1",
        "sudden:amount_shift=25,account_balance_scale=0.7,start=1",
        "sudden:distance_from_home_scale=3,start=1",
        "sudden:category=online_retail,factor=3,start=1",
        "sudden:column=channel,category=mobile,factor=0.3,start=1",
        "sudden:column=country,category=US,factor=10,start=1",
        "sudden:new_category=crypto,share=0.08,like=gambling,start=1",
        "sudden:column=country,new_category=BR,share=0.05,start=1",
        "sudden:missing=amount|channel|hour,missing_rate=0.15,start=1",
        "gradual:amount_scale=2,start=1,duration=2",
        "gradual:category=travel,factor=4,start=1,duration=2+gradual:missing=customer_age,missing_rate=0.5,duration=4",
        "incremental:amount_scale=2,amount_shift=-10,start=1,duration=2",
        "sudden:amount_scale=1.5,missing=amount,missing_rate=0.15,start=1",
        "recurring:concept=card_testing,start=1,period=2,length=1+sudden:column=channel,new_category=wallet,start=1",
    ],
)
def test_exact_effects_match_the_sampled_data(spec: str) -> None:
    """Every feature's exact effect (the manifest's) matches the effect estimated from rows."""
    gen = TransactionGenerator(spec, seed=31)
    reference = gen.reference(ROWS)
    batch = gen.draw(1, ROWS)
    tolerance = sampling_tolerance(ROWS, ROWS)
    for column in FEATURE_COLUMNS:
        exact = batch.truth["effects"][column]
        measured = empirical_effect(batch.table, reference, column)
        assert abs(measured - exact) < tolerance, (column, exact, measured)
    for column in batch.truth["drifted_columns"]:  # what a sound detector must flag
        assert drift_p_value(batch.table, reference, column) < 1e-4, column
    assert batch.truth["drifted_columns"], "each scenario above drifts something detectable"


def test_sudden_amount_scale_scales_every_quantile() -> None:
    gen = TransactionGenerator("sudden:amount_scale=1.5,start=3", seed=1)
    before, after = gen.draw(2, ROWS), gen.draw(3, ROWS)
    ratio = np.quantile(values(after.table, "amount"), QUANTILES) / np.quantile(
        values(before.table, "amount"), QUANTILES
    )
    assert ratio == pytest.approx([1.5] * 5, rel=0.04)
    assert before.truth["drifted_columns"] == [] and before.truth["components"] == []
    assert after.truth["drifted_columns"] == ["amount"]
    assert after.truth["affected_columns"] == ["amount"]
    (component,) = after.truth["components"]
    assert component["drifts"] == [{"kind": "scale_shift", "column": "amount", "scale": 1.5, "shift": 0.0}]


def test_amount_shift_moves_every_quantile() -> None:
    gen = TransactionGenerator("sudden:amount_shift=40,start=1", seed=2)
    delta = np.quantile(values(gen.batch(1, ROWS), "amount"), QUANTILES) - np.quantile(
        values(gen.batch(0, ROWS), "amount"), QUANTILES
    )
    assert delta[:3] == pytest.approx([40] * 3, abs=3)  # the upper quantiles are noisier


def test_incremental_scale_ramps_batch_by_batch() -> None:
    gen = TransactionGenerator("incremental:amount_scale=2,start=1,duration=4", seed=3)
    medians = [np.median(values(gen.batch(i, ROWS), "amount")) for i in range(6)]
    assert np.array(medians[1:]) / medians[0] == pytest.approx([1.25, 1.5, 1.75, 2.0, 2.0], rel=0.05)
    effects = [gen.truth(i, ROWS)["effects"]["amount"] for i in range(6)]
    assert effects[0] == 0 and effects[1] < effects[2] < effects[3] < effects[4] == effects[5]


def test_rising_missing_rate_is_as_stated() -> None:
    gen = TransactionGenerator(
        "incremental:missing=amount|merchant_category,missing_rate=0.4,start=1,duration=4", seed=4
    )
    for index, rate in enumerate([0, 0.1, 0.2, 0.3, 0.4, 0.4]):
        batch = gen.draw(index, ROWS)
        for column in ("amount", "merchant_category"):
            assert null_rate(batch.table, column) == pytest.approx(rate, abs=0.01)
            assert batch.truth["effects"][column] == pytest.approx(rate)
        assert batch.truth["missing_rate"] == ({"amount": rate, "merchant_category": rate} if rate else {})
        assert null_rate(batch.table, "channel") == 0


def test_new_category_appears_only_from_start_with_its_share() -> None:
    gen = TransactionGenerator("sudden:new_category=crypto,share=0.1,like=electronics,start=2", seed=5)
    before, after = gen.batch(1, ROWS), gen.batch(2, ROWS)
    assert "crypto" not in before.column("merchant_category").chunk(0).dictionary.to_pylist()
    assert frequencies(after, "merchant_category")["crypto"] == pytest.approx(0.1, abs=0.01)
    crypto = values(after, "merchant_category") == "crypto"
    electronics = values(before, "merchant_category") == "electronics"
    amounts_after, amounts_before = values(after, "amount"), values(before, "amount")
    assert np.median(amounts_after[crypto]) == pytest.approx(np.median(amounts_before[electronics]), rel=0.1)
    truth = gen.truth(2, ROWS)
    # the new merchant category moves the merchants, and with them amounts, channels, countries
    assert "merchant_category" in truth["drifted_columns"]
    assert truth["effects"]["merchant_category"] == pytest.approx(0.1)


def test_category_frequency_shift_matches_the_exact_frequencies() -> None:
    gen = TransactionGenerator("sudden:column=channel,category=mobile,factor=3,start=1", seed=6)
    table = gen.batch(1, ROWS)
    pop = gen.scenario.population(gen.scenario.states(1)[0].intensities)
    exact = dict(zip(pop.categories("channel"), category_probs(pop, "channel"), strict=True))
    observed = frequencies(table, "channel")
    assert observed == pytest.approx(exact, abs=0.01)
    assert observed["mobile"] > 1.8 * frequencies(gen.batch(0, ROWS), "channel")["mobile"]


def test_gradual_mixes_fully_drifted_rows_with_the_stated_share() -> None:
    gen = TransactionGenerator("gradual:amount_scale=3,start=1,duration=4", seed=7)
    for index, share in [(1, 0.25), (2, 0.5), (3, 0.75)]:
        batch = gen.draw(index, ROWS)
        assert batch.truth["components"][0]["intensity"] == share
        assert batch.truth["drifted_rows"]["1"] == pytest.approx(share * ROWS, abs=4 * np.sqrt(ROWS * share))
    assert "drifted_rows" not in gen.draw(4, 100).truth  # fully drifted: one population


def test_recurring_drifts_on_its_period_only() -> None:
    gen = TransactionGenerator("recurring:amount_scale=2", seed=8)  # weekends, batch 0 a Monday
    drifted = [bool(gen.truth(i, ROWS)["drifted_columns"]) for i in range(14)]
    assert drifted == [False] * 5 + [True, True] + [False] * 5 + [True, True]
    assert gen.truth(5, ROWS)["day"] == "2024-01-06"  # a Saturday


def test_detectable_effect_depends_on_sample_sizes() -> None:
    assert detectable_effect(100_000, 100_000) == 0.05
    assert detectable_effect(1_000, 1_000) == pytest.approx(3 * np.sqrt(2 / 1_000))
    gen = TransactionGenerator("sudden:amount_scale=1.12,start=0", seed=9)
    effect = gen.truth(0, 50_000)["effects"]["amount"]
    assert 0.05 < effect < 0.134  # visible with 50k rows, within the noise of 1k
    assert gen.truth(0, 50_000)["drifted_columns"] == ["amount"]
    assert gen.truth(0, 1_000)["drifted_columns"] == []
    assert gen.truth(0, 1_000)["affected_columns"] == ["amount"]


def test_dictionary_lists_only_possible_categories() -> None:
    table = TransactionGenerator("sudden:column=channel,new_category=wallet,start=3", seed=1).batch(0, 50)
    assert table.column("channel").chunk(0).dictionary.to_pylist() == ["pos", "online", "mobile", "atm"]
    assert table.column("channel").type == pa.dictionary(pa.int8(), pa.string())


@pytest.mark.parametrize("rows", [1_000, 5_000])
def test_drifted_columns_are_flagged_by_sound_tests_even_in_small_batches(rows: int) -> None:
    spec = (
        "incremental:amount_scale=1.6,category=travel,factor=3,duration=6"
        "+incremental:missing=channel,missing_rate=0.3,duration=6"
        "+incremental:column=country,new_category=BR,share=0.15,duration=6"
    )
    gen = TransactionGenerator(spec, seed=12)
    reference = gen.reference(rows)
    flagged = 0
    for index in range(1, 7):
        batch = gen.draw(index, rows)
        for column in batch.truth["drifted_columns"]:
            assert drift_p_value(batch.table, reference, column) < 1e-3, (index, column)
            flagged += 1
        for column in set(FEATURE_COLUMNS) - set(batch.truth["affected_columns"]):
            assert batch.truth["effects"][column] == 0
    assert flagged >= 10


def test_exact_marginals_match_the_sampled_rows() -> None:
    """One-sample check of truth.marginals itself, column by column (the KS bound is the 99.9 % one)."""
    gen = TransactionGenerator("sudden:amount_scale=1.3,amount_shift=-5,category=travel,factor=2,start=0", seed=13)
    rows = 50_000
    table = gen.batch(0, rows)
    pop = gen.scenario.population(gen.scenario.states(0)[0].intensities)
    exact = truth.marginals(pop)
    for column in NUMERIC_COLUMNS:
        grid = truth.FLOAT_GRID if column in truth.schema.FLOAT_COLUMNS else truth.INT_GRIDS[column]
        sample = np.sort(values(table, column))
        empirical = np.searchsorted(sample, grid, side="right") / rows
        assert np.abs(empirical - exact[column][1:]).max() < 1.95 / np.sqrt(rows), column
    for column in CATEGORICAL_COLUMNS:
        names = ["False", "True"] if column == "is_foreign" else pop.categories(column)
        observed = frequencies(table, column)
        assert [observed.get(n, 0.0) for n in names] == pytest.approx(exact[column][1:], abs=0.01), column

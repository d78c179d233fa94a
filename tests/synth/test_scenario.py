"""Scenario specs: parsing, canonical form, timing curves, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arlequin_synth import ScenarioError, parse_scenario
from arlequin_synth.truth import category_probs


def test_brief_example_parses_with_defaults_spelled_out() -> None:
    scenario = parse_scenario("sudden:amount_scale=1.5,start=3")
    assert scenario.spec == "sudden:amount_scale=1.5,start=3"
    (comp,) = scenario.components
    assert comp.timing == "sudden" and comp.start == 3
    assert [(d.kind, d.column, dict(d.params)) for d in comp.drifts] == [
        ("scale_shift", "amount", {"scale": 1.5, "shift": 0.0})
    ]


def test_plus_signs_in_numbers_do_not_split_components() -> None:
    scenario = parse_scenario("sudden:amount_shift=+5,account_balance_scale=1e+1 + gradual:amount_shift=-2.5")
    assert [c.timing for c in scenario.components] == ["sudden", "gradual"]
    assert scenario.components[0].drifts[0].params == {"scale": 1.0, "shift": 5.0}
    assert scenario.components[0].drifts[1].params == {"scale": 10.0, "shift": 0.0}


def test_canonical_spec_round_trips() -> None:
    text = (
        "gradual:amount_shift=20,column=channel,category=mobile,factor=3,duration=4"
        "+recurring:concept=card_testing,shape=sine,period=6"
        "+incremental:missing=amount|country,missing_rate=0.3,start=5"
        "+sudden:column=merchant_category,new_category=crypto,share=0.1,like=electronics,stop=8"
    )
    scenario = parse_scenario(text)
    assert scenario.spec == (
        "gradual:amount_shift=20,column=channel,category=mobile,factor=3,start=1,duration=4"
        "+recurring:concept=card_testing,start=5,period=6,shape=sine"
        "+incremental:missing=amount|country,missing_rate=0.3,start=5,duration=3"
        "+sudden:column=merchant_category,new_category=crypto,share=0.1,like=electronics,start=1,stop=8"
    )
    again = parse_scenario(scenario.spec)
    assert again.spec == scenario.spec
    assert again.components == scenario.components


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("sudden:amount_scale=2,start=2", [0, 0, 1, 1, 1, 1, 1, 1]),
        ("sudden:amount_scale=2,start=2,stop=4", [0, 0, 1, 1, 0, 0, 0, 0]),
        ("incremental:amount_scale=2,start=1,duration=4", [0, 0.25, 0.5, 0.75, 1, 1, 1, 1]),
        ("gradual:amount_scale=2,start=3,duration=2", [0, 0, 0, 0.5, 1, 1, 1, 1]),
        ("recurring:amount_scale=2,start=1,period=3,length=1", [0, 1, 0, 0, 1, 0, 0, 1]),
        ("recurring:amount_scale=2", [0, 0, 0, 0, 0, 1, 1, 0]),  # default: weekends from Monday
        ("recurring:amount_scale=2,start=0,period=4,shape=sine", [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5]),
        ("none", [0] * 8),
    ],
)
def test_intensity_follows_the_timing(spec: str, expected: list[float]) -> None:
    comp = parse_scenario(spec).components[0]
    assert [comp.intensity(b) for b in range(8)] == pytest.approx(expected)


def test_gradual_batches_mix_two_populations_by_share() -> None:
    scenario = parse_scenario("gradual:amount_scale=2,start=1,duration=4+sudden:concept=card_testing,start=2")
    states = scenario.states(2)  # gradual at 0.5, sudden fully on
    assert [(s.intensities, s.share) for s in states] == [((0.0, 1.0), 0.5), ((1.0, 1.0), 0.5)]
    assert [s.intensities for s in scenario.states(0)] == [(0.0, 0.0)]


def test_incremental_ramps_parameters_not_rows() -> None:
    scenario = parse_scenario("incremental:amount_scale=1.5,column=channel,category=atm,factor=3,duration=2")
    (state,) = scenario.states(1)
    pop = scenario.population(state.intensities)
    assert pop.transform("amount") == pytest.approx((1.25, 0.0))
    base = scenario.reference_population()
    # factor 2 (halfway to 3) on atm: only cash withdrawals use atm, and only atm there.
    assert category_probs(pop, "channel") == pytest.approx(category_probs(base, "channel"))


def test_new_category_exists_in_every_state_at_zero_share_before_start() -> None:
    scenario = parse_scenario("sudden:new_category=crypto,share=0.2,start=2")
    before = scenario.population(scenario.states(0)[0].intensities)
    after = scenario.population(scenario.states(2)[0].intensities)
    assert before.merchants == after.merchants and before.merchants[-1] == "crypto"
    assert category_probs(before, "merchant_category")[-1] == 0.0
    assert category_probs(after, "merchant_category")[-1] == pytest.approx(0.2)


def test_new_country_is_foreign() -> None:
    scenario = parse_scenario("sudden:column=country,new_category=BR,share=0.1,start=0")
    pop = scenario.population(scenario.states(0)[0].intensities)
    base = scenario.reference_population()
    foreign_before = category_probs(base, "is_foreign")[1]
    assert category_probs(pop, "is_foreign")[1] == pytest.approx(0.1 + 0.9 * foreign_before)


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "drift.toml"
    path.write_text(
        '[[component]]\ntiming = "sudden"\nstart = 3\namount_scale = 1.5\n\n'
        '[[component]]\ntiming = "gradual"\nmissing = ["amount", "channel"]\nmissing_rate = 0.25\n'
    )
    scenario = parse_scenario(str(path))
    assert scenario.spec == (
        "sudden:amount_scale=1.5,start=3+gradual:missing=amount|channel,missing_rate=0.25,start=1,duration=3"
    )


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "drift.json"
    path.write_text(json.dumps({"components": [{"timing": "recurring", "concept": "account_takeover"}]}))
    assert parse_scenario(path).spec == "recurring:concept=account_takeover,start=5,period=7,length=2,shape=square"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty scenario"),
        ("+sudden:amount_scale=2", "scenario component 1 is empty (a stray '+'"),
        ("sudden:amount_scale=2+", "amount_scale='2+' is not a number"),
        ("sometimes:amount_scale=2", "unknown timing 'sometimes'"),
        ("suden:amount_scale=2", "did you mean 'sudden'"),
        ("sudden:amout_scale=2", "unknown key 'amout_scale' (did you mean 'amount_scale'?)"),
        ("sudden:amount_scale", "'amount_scale' is not KEY=VALUE"),
        ("sudden:amount_scale=big", "amount_scale='big' is not a number"),
        ("sudden:amount_scale=-1", "amount_scale=-1 must be > 0"),
        ("sudden:amount_scale=nan", "is not a finite number"),
        ("sudden:amount_scale=1", "changes nothing"),
        ("sudden:start=2", "no drift given"),
        ("sudden:amount_scale=2,start=1.5", "start='1.5' is not an integer"),
        ("sudden:amount_scale=2,start=-1", "start='-1' must be >= 0"),
        ("sudden:amount_scale=2,duration=3", "key 'duration' does not apply to sudden"),
        ("sudden:amount_scale=2,start=3,stop=3", "stop=3 must be after start=3"),
        ("recurring:amount_scale=2,period=3,length=3", "length=3 must be less than period=3"),
        ("recurring:amount_scale=2,shape=sine,length=2", "length= applies to shape=square only"),
        ("recurring:amount_scale=2,shape=zigzag", "shape='zigzag' is not one of square, sine"),
        ("none:start=2", "'none' takes no keys"),
        ("sudden:category=online_retail", "needs both category= and factor="),
        ("sudden:category=crypto,factor=2", "category='crypto' is not one of"),
        ("sudden:column=channel,category=grocery,factor=2", "category='grocery' is not one of"),
        ("sudden:column=hour,category=1,factor=2", "column='hour' is not one of"),
        ("sudden:column=channel", "column= needs category= and factor=, or new_category="),
        ("sudden:category=travel,factor=0", "factor=0 must be > 0 and not 1"),
        ("sudden:new_category=grocery", "new_category='grocery' already exists in merchant_category"),
        ("sudden:new_category=crypto,share=1", "share=1 must be between 0 and 1"),
        ("sudden:column=channel,new_category=wallet,like=pos", "like= applies to column=merchant_category only"),
        ("sudden:share=0.1", "share= needs new_category="),
        ("sudden:missing=amount|colour", "missing='colour' is not a feature column"),
        ("sudden:missing=transaction_id", "missing='transaction_id' is not a feature column"),
        ("sudden:missing=amount,missing_rate=0", "missing_rate=0 must be in (0, 1]"),
        ("sudden:missing_rate=0.5", "missing_rate= needs missing="),
        ("sudden:concept=money_laundering", "concept='money_laundering' is not one of baseline"),
        ("sudden:amount_scale=2,amount_scale=3", "key 'amount_scale' given twice"),
        ("+".join(["gradual:amount_scale=2"] * 7), "at most 6 gradual components"),
    ],
)
def test_bad_specs_say_what_and_where(spec: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(spec)
    assert message in str(info.value)
    if spec and "+" not in spec:
        assert "scenario component 1" in str(info.value) or "empty" in str(info.value)


def test_error_names_the_component_in_a_composition() -> None:
    with pytest.raises(ScenarioError, match=r"scenario component 2 \(gradual:factor=2\)"):
        parse_scenario("sudden:amount_scale=2+gradual:factor=2")


def test_new_category_of_an_earlier_component_can_be_shifted_later() -> None:
    scenario = parse_scenario("sudden:new_category=crypto,share=0.05,start=1+sudden:category=crypto,factor=2,start=3")
    pop = scenario.population(scenario.states(3)[0].intensities)
    crypto = category_probs(pop, "merchant_category")[-1]
    assert crypto == pytest.approx(0.1 / (0.1 + 0.95))


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read it"):
        parse_scenario(str(tmp_path / "missing.toml"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        parse_scenario(str(broken))
    empty = tmp_path / "empty.toml"
    empty.write_text("title = 'x'\n")
    with pytest.raises(ScenarioError, match=r"non-empty 'components' list"):
        parse_scenario(str(empty))
    typed = tmp_path / "typed.toml"
    typed.write_text('[[component]]\ntiming = "sudden"\namount_scale = true\n')
    with pytest.raises(ScenarioError, match=r"in .*typed.toml: amount_scale=True is not a number"):
        parse_scenario(str(typed))


def test_check_batches_refuses_a_component_that_never_acts() -> None:
    scenario = parse_scenario("sudden:amount_scale=2,start=12")
    scenario.check_batches(13)
    with pytest.raises(ScenarioError, match=r"starts at batch 12, but only batches 0..9 are generated"):
        scenario.check_batches(10)

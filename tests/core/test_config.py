"""Config: defaults, validation errors naming file and key, interpolation, masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from arlequin_core.config import ArlequinConfig, load_config, validate_section
from arlequin_core.errors import ConfigError
from arlequin_core.secrets import MASK, known_secrets, redact


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arlequin.toml"
    path.write_text(text)
    return path


def test_no_file_gives_working_defaults() -> None:
    config = load_config()
    assert config.source_path is None
    assert config.drift.numeric_detector == "ks"
    assert config.tracking_uri().startswith("sqlite:///") and config.tracking_uri().endswith("/.arlequin/mlflow.db")


def test_dot_arlequin_toml_in_cwd_is_picked_up(tmp_path: Path) -> None:
    _write(tmp_path, '[drift]\ncorrection = "bh"\n')
    assert load_config().drift.correction == "bh"


def test_environment_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[training]\nwindow = 7\n")
    monkeypatch.setenv("ARLEQUIN_CONFIG", str(other))
    assert load_config().training.window == 7


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[drift\ncorrection = 'bh'\n")
    with pytest.raises(ConfigError, match=rf"{path}: not valid TOML"):
        load_config(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_config(tmp_path / "nope.toml")


def test_unknown_key_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "[drift]\ncorection = 'bh'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}: key drift.corection: unknown key" in str(info.value)


def test_wrong_type_names_the_key_and_what_was_expected(tmp_path: Path) -> None:
    path = _write(tmp_path, "[training]\nwindow = 'three'\n[drift]\ndrift_share = 1.5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}: key training.window: Input should be a valid integer" in message
    assert "'three'" in message
    assert f"{path}: key drift.drift_share: Input should be less than or equal to 1" in message


def test_bad_choice_lists_the_choices(tmp_path: Path) -> None:
    path = _write(tmp_path, "[drift]\ncorrection = 'sidak'\n")
    with pytest.raises(
        ConfigError, match=r"key drift.correction: Input should be 'none', 'bonferroni', 'holm' or 'bh'"
    ):
        load_config(path)


def test_env_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARL_TEST_MODEL", "fraud")
    monkeypatch.setenv("ARL_TEST_MLFLOW_PW", "s3cr3t-pw-1234")
    path = _write(tmp_path, '[mlflow]\nmodel_name = "${ARL_TEST_MODEL}-v2"\npassword = "${ARL_TEST_MLFLOW_PW}"\n')
    config = load_config(path)
    assert config.mlflow.model_name == "fraud-v2"
    assert isinstance(config.mlflow.password, SecretStr)
    assert "s3cr3t-pw-1234" in known_secrets()
    assert config.masked()["mlflow"]["password"] == MASK
    assert "s3cr3t-pw-1234" not in repr(config)


def test_missing_env_variable_names_key_and_variable(tmp_path: Path) -> None:
    path = _write(tmp_path, '[sinks.jenkins]\ntoken = "${ARL_TEST_UNSET_TOKEN}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: key sinks.jenkins.token: environment variable ARL_TEST_UNSET_TOKEN is not set; "
        "export it or edit the key"
    )


def test_secret_from_file_is_read_and_masked(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("tok-from-file-9876\n")
    path = _write(tmp_path, f'[sinks.jenkins]\nurl = "http://ci"\ntoken = "${{file:{secret}}}"\n')
    config = load_config(path)
    assert config.sinks["jenkins"]["token"] == "tok-from-file-9876"
    assert config.masked()["sinks"]["jenkins"]["token"] == MASK
    assert config.masked()["sinks"]["jenkins"]["url"] == "http://ci"
    assert redact("calling with tok-from-file-9876") == f"calling with {MASK}"


def test_unreadable_secret_file_names_key(tmp_path: Path) -> None:
    path = _write(tmp_path, '[sinks.jenkins]\ntoken = "${file:/nonexistent/token}"\n')
    with pytest.raises(ConfigError, match=r"key sinks\.jenkins\.token: cannot read secret file /nonexistent/token"):
        load_config(path)


def test_plugin_section_validated_with_prefix(tmp_path: Path) -> None:
    class JenkinsSection(BaseModel):
        model_config = {"extra": "forbid"}
        url: str
        retries: int = 3

    with pytest.raises(ConfigError) as info:
        validate_section(JenkinsSection, {"retries": "x", "colour": 1}, "a.toml", "sinks.jenkins")
    message = str(info.value)
    assert "a.toml: key sinks.jenkins.url: required key is missing" in message
    assert "a.toml: key sinks.jenkins.retries: Input should be a valid integer" in message
    assert "a.toml: key sinks.jenkins.colour: unknown key" in message


def test_secret_values_never_echoed_in_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARL_TEST_BADPW", "x" * 3)
    path = _write(tmp_path, "[mlflow]\npassword = 12345678\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "12345678" not in str(info.value)


def test_home_is_resolved(tmp_path: Path) -> None:
    config = ArlequinConfig.model_validate({"arlequin": {"home": "state"}})
    assert config.home == (tmp_path / "state").resolve()


def test_spark_section_is_shared_and_the_old_training_key_names_its_new_place(tmp_path: Path) -> None:
    path = _write(tmp_path, '[spark]\nmaster = "local[2]"\nconf = { "spark.sql.shuffle.partitions" = 4 }\n')
    config = load_config(path)
    assert config.spark.master == "local[2]" and config.spark.conf == {"spark.sql.shuffle.partitions": 4}
    assert ArlequinConfig().spark.master is None
    old = _write(tmp_path, '[training]\nspark_master = "local[2]"\n')
    with pytest.raises(ConfigError) as info:
        load_config(old)
    assert f"{old}: key training.spark_master: this key moved: set [spark] master instead" in str(info.value)


def test_the_docstring_lists_exactly_the_secret_looking_key_names(tmp_path: Path, monkeypatch) -> None:
    import re

    import arlequin_core.config as config_module

    doc = " ".join(config_module.__doc__.split())
    sentence = doc.split("looks secret when it contains one of", 1)[1].split(". ", 1)[0]
    listed = re.findall(r"``([a-z_]+)``", sentence)
    assert sorted(listed) == sorted(config_module.SECRET_KEY_PARTS)
    # And each listed name does what the docstring says: an interpolated value under it is masked.
    for n, part in enumerate(listed):
        monkeypatch.setenv(f"ARL_PLAIN_{n}", f"value-of-{part}-{n}-xyz")
        (tmp_path / "a.toml").write_text(f'[sinks.x]\n{part} = "${{ARL_PLAIN_{n}}}"\n')
        load_config(tmp_path / "a.toml")
        assert redact(f"value-of-{part}-{n}-xyz") == MASK, part

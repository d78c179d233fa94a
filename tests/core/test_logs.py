"""Logging: JSON lines when not interactive, console when asked, secrets redacted."""

from __future__ import annotations

import json

import pytest
import structlog

from arlequin_core.logs import configure_logging, get_logger, resolve_format
from arlequin_core.secrets import register_secret


@pytest.fixture(autouse=True)
def _reset():
    yield
    structlog.reset_defaults()


def test_json_lines(capsys) -> None:
    configure_logging("json", "info")
    get_logger("t").info("hello", batch_id="b1")
    get_logger("t").debug("hidden")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "hello" and record["batch_id"] == "b1" and record["level"] == "info"
    assert record["timestamp"].endswith("Z")


def test_console_format(capsys) -> None:
    configure_logging("console", "debug")
    get_logger("t").debug("shown", x=1)
    err = capsys.readouterr().err
    assert "shown" in err and "x=1" in err and not err.startswith("{")


def test_auto_is_json_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_format("auto") == "json"  # pytest captures stderr: not a tty
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    monkeypatch.setenv("CI", "true")
    assert resolve_format("auto") == "json"


def test_secrets_are_redacted_from_logs(capsys) -> None:
    register_secret("tok-logs-5555")
    configure_logging("json", "info")
    get_logger("t").info("calling http://u:tok-logs-5555@ci/", header={"Authorization": "tok-logs-5555"})
    err = capsys.readouterr().err
    assert "tok-logs-5555" not in err and "***" in err


def test_bad_level_and_format() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("json", "loud")
    with pytest.raises(ValueError, match="log format"):
        resolve_format("xml")


def test_python_warnings_are_json_lines_in_json_mode(tmp_path) -> None:
    """numpy's RuntimeWarning (and any warnings.warn) is one JSON line, not plain text."""
    import subprocess
    import sys

    script = (
        "import warnings, numpy as np\n"
        "from arlequin_core.logs import configure_logging, get_logger\n"
        "configure_logging('json', 'info')\n"
        "get_logger('t').info('before')\n"
        "np.array([1.0]) / np.array([0.0])\n"
        "warnings.warn('mean of empty slice', RuntimeWarning)\n"
        "import logging; logging.getLogger('urllib3').warning('retrying')\n"
    )
    proc = subprocess.run([sys.executable, "-W", "default", "-c", script], capture_output=True, text=True, check=True)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    messages = [r["event"] for r in records]
    assert any("divide by zero" in m for m in messages), messages
    assert any("mean of empty slice" in m for m in messages), messages
    assert any(r["event"] == "retrying" and r["level"] == "warning" for r in records), records


@pytest.mark.parametrize("first", ["structlog", "stdlib"])
def test_lazy_configuration_imports_structlog_at_the_first_record_only(first: str) -> None:
    """``configure_logging(lazy=True)`` (the CLI): nothing of structlog until something logs;
    then the same JSON lines, whether the first record is ours or a library's."""
    import subprocess
    import sys

    log = "get_logger('t').info('hello', n=1)" if first == "structlog" else "logging.getLogger('lib').warning('hello')"
    script = (
        "import logging, sys\n"
        "from arlequin_core.logs import configure_logging, get_logger\n"
        "configure_logging('json', 'info', lazy=True)\n"
        "print('structlog' in sys.modules)\n"
        f"{log}\n"
        "get_logger('t').debug('hidden')\n"
        "logging.getLogger('lib').info('below warning: hidden')\n"
        "get_logger('t').warning('second')\n"
        "print('structlog' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert proc.stdout.split() == ["False", "True"]
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert [r["event"] for r in records] == ["hello", "second"]
    assert records[0]["level"] == ("info" if first == "structlog" else "warning")
    assert all(r["timestamp"].endswith("Z") for r in records)


def test_lazy_configuration_checks_its_arguments_at_once() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("json", "loud", lazy=True)
    with pytest.raises(ValueError, match="log format"):
        configure_logging("xml", "info", lazy=True)

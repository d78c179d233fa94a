"""docker/ as data: the compose file rendered by the real Compose binary, and the files it wires."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yml"
TEMPLATE = DOCKER / ".env.template"
CONFIG = DOCKER / "arlequin" / "arlequin.toml"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A tool installed by ``make install`` (the dev extra) beside this Python."""
    found = BIN / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    assert which, f"{name} is not installed: run `make install` (it comes with the dev extra)"
    return which


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no variable of the template leaks in from ours."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return {**keep, **extra}


def compose(*args: str, env_file: Path | None = TEMPLATE, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``docker-compose -f docker/compose.yml [--env-file ...] ARGS`` (no Docker engine needed for config)."""
    argv = [tool("docker-compose"), "-f", str(COMPOSE)]
    if env_file is not None:
        argv += ["--env-file", str(env_file)]
    return subprocess.run(
        argv + list(args), capture_output=True, text=True, timeout=120, env=clean_env(), cwd=cwd or ROOT
    )


@cache
def rendered() -> dict[str, Any]:
    """The stack as Compose renders it with the template's variables (``config --format json``)."""
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def template_variables() -> dict[str, str]:
    """``NAME=value`` lines of docker/.env.template."""
    values = {}
    for line in TEMPLATE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def compose_variables() -> set[str]:
    """Names of the ``${VAR}`` references in docker/compose.yml (``$$`` escapes excluded)."""
    text = COMPOSE.read_text().replace("$$", "")
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def service(name: str) -> dict[str, Any]:
    return rendered()["services"][name]


def environment(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in (service(name).get("environment") or {}).items()}


def hadoop_env() -> dict[str, str]:
    values = {}
    for line in (DOCKER / "hadoop" / "hadoop.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def host_port(uri: str) -> tuple[str | None, int | None]:
    parts = urlsplit(uri)
    return parts.hostname, parts.port


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def seed_job_parameters() -> list[str]:
    """Names of the string parameters the seed job in docker/jenkins/casc.yaml declares."""
    casc = load_yaml(DOCKER / "jenkins" / "casc.yaml")
    [job] = casc["jobs"]
    return re.findall(r"stringParam\('([A-Z_]+)'", job["script"])


def seed_job_name() -> str:
    casc = load_yaml(DOCKER / "jenkins" / "casc.yaml")
    [job] = casc["jobs"]
    [name] = re.findall(r"pipelineJob\('([^']+)'\)", job["script"])
    return name

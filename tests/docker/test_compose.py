"""docker/ checked with the real tools: Compose v2's ``config``, hadolint, YAML/JSON parsers.

No Docker engine runs here: these show the stack is valid, linted and consistent, not
that its containers start (docs/deploy.md has the table of what only a Docker host shows).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .stack import (
    COMPOSE,
    DOCKER,
    ROOT,
    TEMPLATE,
    compose,
    compose_variables,
    dockerfile_instructions,
    rendered,
    template_variables,
    tool,
)

DOCKERFILES = sorted(DOCKER.rglob("Dockerfile"))
#: Services that run once and exit (no health check: their exit status is their health).
ONE_SHOT = {"hdfs-init"}


def test_compose_config_renders_the_stack_from_a_fresh_clone_with_only_the_templates_variables(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True, capture_output=True)
    # The working tree's docker/ (what is being committed), over the clone's.
    shutil.rmtree(clone / "docker", ignore_errors=True)
    shutil.copytree(DOCKER, clone / "docker", ignore=shutil.ignore_patterns(".env", "secrets"))
    result = subprocess.run(
        [tool("docker-compose"), "-f", "docker/compose.yml", "--env-file", "docker/.env.template", "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=clone,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # not even a warning about an unset variable


def test_compose_config_without_the_variables_fails_naming_one() -> None:
    result = compose("config", "--quiet", env_file=None, cwd=DOCKER.parent)
    assert result.returncode != 0
    assert re.search(r"required variable \w+ is missing a value: set \w+", result.stderr), result.stderr


def test_every_variable_compose_reads_is_in_the_template_with_a_comment_and_none_is_stale() -> None:
    declared = template_variables()
    used = compose_variables()
    assert used - set(declared) == set(), "compose.yml reads variables docker/.env.template lacks"
    assert set(declared) - used == set(), "docker/.env.template has variables compose.yml never reads"
    lines = TEMPLATE.read_text().splitlines()
    for name in declared:
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}="))
        above = [line for line in lines[:index] if line.strip()]
        assert (above and above[-1].startswith("#")) or lines[index - 1].startswith(tuple(declared)), (
            f"{name} has no comment above it in docker/.env.template"
        )


def test_images_are_pinned_by_tag_and_built_images_are_versioned() -> None:
    for name, svc in rendered()["services"].items():
        image = svc.get("image", "")
        assert image, f"service {name} has no image name"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and "/" not in tag, f"{name}: {image} is not pinned by a tag"
        assert re.search(r"\d", tag), f"{name}: tag {tag!r} names no version"
    for dockerfile in DOCKERFILES:
        for word, args in dockerfile_instructions(dockerfile):
            if word == "FROM":
                image = args.split()[0]
                assert ":" in image and not image.endswith(":latest"), f"{dockerfile}: FROM {image} is not pinned"


def test_long_running_services_have_health_checks_and_wait_for_what_they_need() -> None:
    services = rendered()["services"]
    for name, svc in services.items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no"
            continue
        built = svc.get("build")
        has_check = "healthcheck" in svc or (
            built is not None
            and any(
                w == "HEALTHCHECK" for w, _ in dockerfile_instructions(ROOT / built["context"] / built["dockerfile"])
            )
        )
        assert has_check, f"service {name} has no health check (compose or Dockerfile)"
    # Start order: every dependency is healthy (or, one-shot, finished) before its dependents start.
    for name, svc in services.items():
        for dependency, condition in (svc.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition["condition"] == expected, f"{name} -> {dependency}: {condition['condition']}"
    order = start_order(services)
    for before, after in [
        ("namenode", "datanode"),
        ("hdfs-init", "arlequin"),
        ("postgres", "mlflow"),
        ("mlflow", "arlequin"),
        ("spark-master", "spark-worker"),
        ("jenkins", "arlequin"),
        ("arlequin", "prometheus"),
        ("prometheus", "grafana"),
    ]:
        assert order.index(before) < order.index(after), f"{before} must start before {after}"


def start_order(services: dict) -> list[str]:
    """A topological order of ``depends_on`` (fails on a cycle)."""
    order: list[str] = []
    pending = dict(services)
    while pending:
        ready = sorted(n for n, s in pending.items() if set(s.get("depends_on") or {}) <= set(order))
        assert ready, f"depends_on has a cycle among {sorted(pending)}"
        order += ready
        for n in ready:
            del pending[n]
    return order


def test_state_lives_on_named_volumes_and_secrets_only_in_files() -> None:
    stack = rendered()
    named = set(stack["volumes"])
    for name, svc in stack["services"].items():
        for volume in svc.get("volumes", []):
            if volume["type"] == "volume":
                assert volume.get("source") in named, f"{name}: anonymous volume at {volume['target']}"
            else:
                assert volume["type"] == "bind" and volume.get("read_only"), f"{name}: writable bind mount {volume}"
        for key, value in (svc.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), (
                    f"{name}: {key} must name a secret file, not hold a secret"
                )
        for secret in svc.get("secrets", []):
            assert secret["source"] in stack["secrets"]
    assert all(s["file"].startswith(str(DOCKER / "secrets")) for s in stack["secrets"].values())
    for path in [COMPOSE, TEMPLATE, *DOCKER.rglob("*.toml"), *DOCKER.rglob("*.yaml")]:
        assert not re.search(r"(?i)(password|token)\s*[:=]\s*['\"]?[A-Za-z0-9]{12,}", path.read_text()), path


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(DOCKER)))
def test_hadolint_passes_on_every_dockerfile(dockerfile: Path) -> None:
    result = subprocess.run([tool("hadolint"), "--no-color", str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_real_and_fails_on_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get install curl\n")
    result = subprocess.run([tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3006" in result.stdout  # untagged image


def test_the_arlequin_image_is_multi_stage_non_root_with_java_17_and_the_watch_entrypoint() -> None:
    steps = dockerfile_instructions(DOCKER / "arlequin" / "Dockerfile")
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert any(word == "RUN" and "openjdk-17-jre-headless" in args for word, args in steps)
    assert ("ENTRYPOINT", '["arlequin"]') in steps and ("CMD", '["watch"]') in steps
    assert any(word == "HEALTHCHECK" for word, _ in steps)
    assert any(word == "COPY" and args.startswith("--from=build") for word, args in steps)


PROVISIONING = sorted(
    p for p in DOCKER.rglob("*") if p.suffix in {".yml", ".yaml", ".json"} and p.is_file() and p != COMPOSE
)


@pytest.mark.parametrize("path", PROVISIONING, ids=lambda p: str(p.relative_to(DOCKER)))
def test_every_provisioning_file_parses(path: Path) -> None:
    data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and data, f"{path} is empty or not a mapping"


def test_provisioning_files_are_found() -> None:
    names = {p.relative_to(DOCKER).as_posix() for p in PROVISIONING}
    assert {
        "prometheus/prometheus.yml",
        "grafana/provisioning/datasources/prometheus.yml",
        "grafana/provisioning/dashboards/arlequin.yml",
        "grafana/dashboards/arlequin.json",
        "jenkins/casc.yaml",
    } <= names

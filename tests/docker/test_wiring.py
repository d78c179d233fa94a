"""The compose wiring matches the config the watcher runs with: hosts, ports, paths, names.

docker/arlequin/arlequin.toml is loaded by Arlequin's own loader with the arlequin
service's environment as Compose renders it, and each address in it is checked against
the service that should answer there.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from sinks.jenkinsfile import parse

from arlequin_core.config import ArlequinConfig, load_config
from arlequin_jenkins.settings import PARAMETERS

from .stack import (
    CONFIG,
    DOCKER,
    ROOT,
    dockerfile_instructions,
    environment,
    hadoop_env,
    host_port,
    load_yaml,
    rendered,
    seed_job_name,
    seed_job_parameters,
    service,
)


@pytest.fixture(scope="module")
def watcher_config() -> ArlequinConfig:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment("arlequin").items():
            patch.setenv(key, value)
        return load_config(CONFIG)


def _targets(name: str) -> set[int]:
    return {int(p["target"]) for p in service(name).get("ports", [])}


def _command(name: str) -> list[str]:
    return [str(part) for part in service(name)["command"]]


def _option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_mlflow_address_is_the_mlflow_service_on_its_port(watcher_config: ArlequinConfig) -> None:
    host, port = host_port(watcher_config.mlflow.tracking_uri or "")
    assert host == service("mlflow")["hostname"] == "mlflow"
    mlflow_env = environment("mlflow")
    assert port == int(mlflow_env["MLFLOW_PORT"]) and port in _targets("mlflow")
    assert any(h in (f"{host}:{port}", host) for h in mlflow_env["MLFLOW_ALLOWED_HOSTS"].split(","))
    # MLflow's store is the postgres service, as the user and database postgres creates.
    postgres = environment("postgres")
    assert mlflow_env["MLFLOW_DB_HOST"] == "postgres" and mlflow_env["MLFLOW_DB_PORT"] == "5432"
    assert (mlflow_env["MLFLOW_DB_USER"], mlflow_env["MLFLOW_DB_NAME"]) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_DB"],
    )
    assert (
        mlflow_env["MLFLOW_DB_PASSWORD_FILE"] == postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    )
    assert {s["source"] for s in service("mlflow")["secrets"]} >= {"postgres_password"}
    artifacts = mlflow_env["MLFLOW_ARTIFACTS_DESTINATION"]
    assert any(v["type"] == "volume" and v["target"] == artifacts for v in service("mlflow")["volumes"])


def test_the_watched_directory_is_on_the_namenode_and_created_by_hdfs_init(watcher_config: ArlequinConfig) -> None:
    source = watcher_config.sources["lake"]
    assert source["type"] == "poll"
    host, port = host_port(source["uri"])
    hadoop = hadoop_env()
    assert host == service("namenode")["hostname"]
    assert port == int(hadoop["HDFS-SITE.XML_dfs.namenode.http-address"].rsplit(":", 1)[1])
    assert hadoop["HDFS-SITE.XML_dfs.webhdfs.enabled"] == "true"
    assert host_port(hadoop["CORE-SITE.XML_fs.defaultFS"])[0] == "namenode"
    path = source["uri"].split(f"{host}:{port}", 1)[1]
    init = environment("hdfs-init")
    assert path == init["WATCH_DIR"] and "$WATCH_DIR" in " ".join(_command("hdfs-init"))
    reference = watcher_config.sinks["jenkins"]["parameters"]["REFERENCE_URI"]
    assert reference.split(f"{host}:{port}", 1)[1] == init["REFERENCE_PATH"]


def test_the_spark_master_is_the_spark_master_service(watcher_config: ArlequinConfig) -> None:
    host, port = host_port(watcher_config.spark.master or "")
    master = _command("spark-master")
    assert (host, str(port)) == (_option(master, "--host"), _option(master, "--port"))
    assert host == service("spark-master")["hostname"]
    assert watcher_config.spark.master in _command("spark-worker")
    # The cluster runs the driver's Spark version: a mismatch fails jobs at submit.
    tag = service("spark-master")["image"].rsplit(":", 1)[1]
    assert tag.split("-")[0] == version("pyspark")
    assert service("spark-worker")["image"] == service("spark-master")["image"]


def test_the_jenkins_sink_reaches_the_seeded_job_as_the_bot_with_its_secret_token(
    watcher_config: ArlequinConfig,
) -> None:
    jenkins = watcher_config.sinks["jenkins"]
    host, port = host_port(jenkins["url"])
    assert host == service("jenkins")["hostname"] and port in _targets("jenkins")
    assert jenkins["job"] == seed_job_name()
    assert jenkins["user"] == environment("jenkins")["JENKINS_BOT_USER"]
    token_file = Path(jenkins["token_file"])
    assert token_file.parent == Path("/run/secrets")
    assert token_file.name in {s["source"] for s in service("arlequin")["secrets"]}
    assert token_file.name in {s["source"] for s in service("jenkins")["secrets"]}
    groovy = (DOCKER / "jenkins" / "init.groovy.d" / "arlequin-bot-token.groovy").read_text()
    assert f"'{token_file}'" in groovy and "JENKINS_BOT_USER" in groovy


def test_the_seed_job_declares_the_jenkinsfiles_parameters_and_everything_the_sink_sends(
    watcher_config: ArlequinConfig,
) -> None:
    declared = seed_job_parameters()
    pipeline = parse((ROOT / "Jenkinsfile").read_text())
    assert declared == list(pipeline.parameters), "seed job and Jenkinsfile parameters differ"
    sent = set(PARAMETERS) | set(watcher_config.sinks["jenkins"].get("parameters", {}))
    assert sent <= set(declared)


def test_every_variable_casc_yaml_reads_is_set_in_the_jenkins_service() -> None:
    text = (DOCKER / "jenkins" / "casc.yaml").read_text()
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    env = environment("jenkins")
    secrets = {s["source"] for s in service("jenkins")["secrets"]}
    missing = sorted(n for n in names if n not in env and n not in secrets)
    assert not missing, f"casc.yaml reads {missing}, which the jenkins service neither sets nor mounts"
    dockerfile = dict(dockerfile_instructions(DOCKER / "jenkins" / "Dockerfile"))
    assert "CASC_JENKINS_CONFIG=/usr/share/jenkins/casc/casc.yaml" in dockerfile["ENV"]
    assert env["ARLEQUIN_CONFIG"] == "/etc/arlequin/arlequin.toml"  # the pipeline's commands read the same file


def test_prometheus_scrapes_the_watchers_metrics_port(watcher_config: ArlequinConfig) -> None:
    metrics = watcher_config.metrics
    port = int(metrics["port"])
    assert metrics["host"] == "0.0.0.0"
    scrape = load_yaml(DOCKER / "prometheus" / "prometheus.yml")
    [job] = [j for j in scrape["scrape_configs"] if j["job_name"] == "arlequin"]
    [target] = [t for group in job["static_configs"] for t in group["targets"]]
    assert target == f"{service('arlequin')['hostname']}:{port}"
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert port in _targets("arlequin")
    steps = dockerfile_instructions(DOCKER / "arlequin" / "Dockerfile")
    assert ("EXPOSE", str(port)) in steps
    assert f"ARLEQUIN_METRICS_PORT={port}" in dict(steps)["ENV"]  # what the health check script reads
    prometheus = service("prometheus")
    assert any(v["target"] == "/etc/prometheus/prometheus.yml" for v in prometheus["volumes"])


def test_the_watchers_home_and_config_are_where_the_image_and_the_volume_put_them(
    watcher_config: ArlequinConfig,
) -> None:
    home = str(watcher_config.home)
    assert any(v["type"] == "volume" and v["target"] == home for v in service("arlequin")["volumes"])
    steps = dockerfile_instructions(DOCKER / "arlequin" / "Dockerfile")
    assert ("VOLUME", f'["{home}"]') in steps
    env = environment("arlequin")
    assert ("COPY", f"docker/arlequin/arlequin.toml {env['ARLEQUIN_CONFIG']}") in steps


def test_grafana_reads_the_provisioned_prometheus_and_the_dashboard_folder() -> None:
    [source] = load_yaml(DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    host, port = host_port(source["url"])
    assert host == "prometheus" and "prometheus" in rendered()["services"]
    assert f"--web.listen-address=:{port}" in _command("prometheus") or port == 9090
    [provider] = load_yaml(DOCKER / "grafana" / "provisioning" / "dashboards" / "arlequin.yml")["providers"]
    mounts = {v["target"]: v for v in service("grafana")["volumes"]}
    assert provider["options"]["path"] in mounts
    assert Path(mounts[provider["options"]["path"]]["source"]) == DOCKER / "grafana" / "dashboards"
    assert Path(mounts["/etc/grafana/provisioning"]["source"]) == DOCKER / "grafana" / "provisioning"
    dashboard = (DOCKER / "grafana" / "dashboards" / "arlequin.json").read_text()
    assert f'"uid": "{source["uid"]}"' in dashboard

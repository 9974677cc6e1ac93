"""The production topology in ops/ holds together: Docker cannot run here, so the files are read.

Every YAML file parses; compose's dependencies, mounts and addresses name what exists; Prometheus
scrapes compose services; docs/operations.md names only compose services; every metric an alert or
a dashboard panel reads is one a Cortex app exports (scraped from a live /metrics).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import bootstrap
from cortex.settings import VARIABLES
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
OPERATIONS = ROOT / "docs" / "operations.md"
YAML_FILES = sorted([*OPS.rglob("*.yaml"), *OPS.rglob("*.yml")])
PROMETHEUS_METRICS = {"up"}  # Prometheus's own, about each scrape
METRIC = re.compile(r"\b(cortex_[a-z0-9_]+)\b")


def load(name: str) -> Any:
    return yaml.safe_load((OPS / name).read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = load("compose.yaml")
    return document


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    document: dict[str, Any] = load("prometheus.yml")
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


# Files parse -------------------------------------------------------------------------------------


def test_there_are_yaml_files_to_check() -> None:
    names = {path.relative_to(OPS).as_posix() for path in YAML_FILES}
    assert {"compose.yaml", "prometheus.yml", "alerts.yml", "otel-collector.yaml"} <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda path: path.relative_to(OPS).as_posix())
def test_every_yaml_file_parses_to_a_mapping(path: Path) -> None:
    assert isinstance(yaml.safe_load(path.read_text()), dict)


def test_the_dashboard_is_json_with_panels() -> None:
    dashboard = json.loads((OPS / "grafana" / "dashboards" / "cortex.json").read_text())
    assert dashboard["uid"]
    assert len(list(dashboard_exprs(dashboard))) >= 10


# Compose -----------------------------------------------------------------------------------------

TOPOLOGY = {
    "postgres",
    "redis",
    "qdrant",
    "minio",
    "minio-init",
    "migrate",
    "api",
    "worker",
    "projections",
    "prometheus",
    "grafana",
    "otel-collector",
    "caddy",
}


def test_compose_has_every_service_of_the_topology(services: dict[str, Any]) -> None:
    assert set(services) >= TOPOLOGY


def test_depends_on_names_services(services: dict[str, Any]) -> None:
    for name, service in services.items():
        needs = service.get("depends_on", {})
        unknown = set(needs) - set(services)
        assert not unknown, f"{name} depends on {sorted(unknown)}"


def test_one_shot_jobs_run_before_the_cortex_processes(services: dict[str, Any]) -> None:
    for name in ("api", "worker", "projections"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        assert needs["minio-init"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["command"] == ["cortex", "migrate"]
    assert services["projections"]["command"][:3] == ["cortex", "projections", "run"]
    assert services["worker"]["command"][:2] == ["cortex", "worker"]


def test_every_cortex_process_is_scraped_on_its_metrics_port(
    services: dict[str, Any], prometheus: dict[str, Any]
) -> None:
    """The API on its HTTP port; workers and the projection runner on --metrics-port."""
    scraped = {
        name: config["port"]
        for job in prometheus["scrape_configs"]
        for config in job.get("dns_sd_configs", [])
        for name in config["names"]
    }
    assert scraped["api"] == 8000
    for name in ("worker", "embed-worker", "projections"):
        command = [str(part) for part in services[name]["command"]]
        port = command[command.index("--metrics-port") + 1]
        assert scraped[name] == int(port), name


def test_the_api_runs_several_workers_sharing_one_metrics_folder(
    services: dict[str, Any],
) -> None:
    api = services["api"]
    command = api["command"]
    assert "--workers" in command
    folder = api["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert folder in api["tmpfs"]


def test_named_volumes_are_declared_and_mounted_files_exist(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (OPS / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source}"
        build = service.get("build")
        if build:
            assert (OPS / build["context"] / build["dockerfile"]).is_file(), name


def test_cortex_variables_in_compose_are_real_settings(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for variable in service.get("environment") or {}:
            if variable.startswith("CORTEX_") and variable not in {"CORTEX_DOMAIN"}:
                assert variable in VARIABLES, f"{name} sets unknown {variable}"


def test_addresses_in_cortex_settings_are_compose_services(services: dict[str, Any]) -> None:
    environment = services["api"]["environment"]
    hosts = {
        urlsplit(re.sub(r"\$\{[^}]*\}", "x", value)).hostname  # ${VAR:?message} interpolated
        for value in environment.values()
        if isinstance(value, str) and "://" in value
    }
    assert hosts, "the API is configured with service addresses"
    assert hosts <= set(services), sorted(hosts - set(services))


def test_caddy_proxies_to_the_api() -> None:
    caddyfile = (OPS / "Caddyfile").read_text()
    assert re.search(r"name\s+api\b", caddyfile)
    assert re.search(r"port\s+8000\b", caddyfile)


# Prometheus --------------------------------------------------------------------------------------


def scrape_hosts(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                yield job["job_name"], target.rsplit(":", 1)[0]
        for dns in job.get("dns_sd_configs", []):
            for name in dns["names"]:
                yield job["job_name"], name


def test_prometheus_scrapes_compose_services(services: dict[str, Any]) -> None:
    config = load("prometheus.yml")
    hosts = list(scrape_hosts(config))
    assert ("cortex-api", "api") in hosts
    for job, host in hosts:
        assert host == "localhost" or host in services, f"{job} scrapes unknown {host}"


def test_prometheus_loads_the_alert_rules(services: dict[str, Any]) -> None:
    config = load("prometheus.yml")
    mounts = services["prometheus"]["volumes"]
    for rule_file in config["rule_files"]:
        assert any(mount.split(":")[1] == rule_file for mount in mounts), rule_file


# Docs --------------------------------------------------------------------------------------------

_OPTIONS_WITH_VALUES = {
    *("-f", "--file", "-p", "--project-name", "--profile", "-e", "--env", "-u", "--user"),
    *("-v", "--volume", "--entrypoint", "-w", "--workdir", "--name"),
}
_SERVICE_COMMANDS = {"up", "stop", "start", "restart", "logs", "pull", "build", "ps", "rm", "kill"}


def documented_services() -> set[str]:
    """Services in the docs' table (`| \\`name\\` |`) and in its `docker compose` commands."""
    text = OPERATIONS.read_text()
    names = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.MULTILINE))
    for line in re.findall(r"docker compose [^\n`#]*", text):
        names |= compose_command_services(shlex.split(line.rstrip("\\ ")))
    return names


def compose_command_services(words: list[str]) -> set[str]:
    words = words[2:]  # docker compose
    found: set[str] = set()
    command = None
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word == "--scale":
            found.add(words[index].split("=")[0])
            index += 1
        elif word in _OPTIONS_WITH_VALUES:
            index += 1
        elif word.startswith("-"):
            continue
        elif command is None:
            command = word
        elif command in _SERVICE_COMMANDS:
            found.add(word)
        elif command in {"run", "exec"}:
            found.add(word)  # the service; what follows is the command run in it
            break
    return found


def test_the_docs_name_only_compose_services(services: dict[str, Any]) -> None:
    named = documented_services()
    assert {"api", "worker", "projections", "postgres"} <= named
    assert named <= set(services), sorted(named - set(services))


def test_the_docs_list_every_compose_service(services: dict[str, Any]) -> None:
    table = set(re.findall(r"^\| `([a-z0-9-]+)` \|", OPERATIONS.read_text(), flags=re.MULTILINE))
    assert table == set(services)


def test_compose_command_parsing() -> None:
    assert compose_command_services(
        shlex.split("docker compose -f ops/compose.yaml up -d --scale worker=4 api")
    ) == {"worker", "api"}
    assert compose_command_services(
        shlex.split("docker compose -f ops/compose.yaml run --rm migrate cortex users list")
    ) == {"migrate"}
    assert compose_command_services(
        shlex.split("docker compose run --rm -v a:/b --entrypoint sh minio-init -c 'mc ls'")
    ) == {"minio-init"}


# Metric names ------------------------------------------------------------------------------------


def exported_names(exposition: str) -> set[str]:
    """Every series name a scrape can hold: samples, and each declared family's series (a
    labelled family with no samples yet shows only its # TYPE line)."""
    names: set[str] = set()
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("_sum", "_count"),
    }
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            base = name.removesuffix("_total") if kind == "counter" else name
            names |= {name, *(base + suffix for suffix in suffixes.get(kind, ()))}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_exported_names_follow_the_exposition_format() -> None:
    text = (
        "# TYPE cortex_a counter\n"
        "# TYPE cortex_b_total counter\n"
        "# TYPE cortex_c histogram\n"
        'cortex_d{x="1"} 2.0\n'
    )
    names = exported_names(text)
    assert {"cortex_a_total", "cortex_b_total", "cortex_c_bucket", "cortex_c_count"} <= names
    assert "cortex_d" in names


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The metric names a Cortex app on SQLite exports, from its /metrics after a few requests."""
    settings = make_settings(tmp_path_factory.mktemp("ops-metrics"))
    wired = bootstrap(settings, migrate_read_store=True)
    try:
        with TestClient(create_app(cortex=wired)) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/api/projects").status_code == 200
            assert client.get("/api/nothing-here").status_code == 404
            response = client.get("/metrics")
            assert response.status_code == 200
            return exported_names(response.text)
    finally:
        wired.close()


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load("alerts.yml")["groups"] for rule in group["rules"]]


def dashboard_exprs(dashboard: dict[str, Any]) -> Iterator[str]:
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                yield target["expr"]


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    for rule in rules:
        assert rule["alert"], rule
        assert rule["expr"], rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
    covered = " ".join(rule["expr"] for rule in rules)
    for metric in (
        "cortex_http_request_duration_seconds_bucket",  # p95 / p99 latency
        "cortex_http_requests_total",  # error rate
        "cortex_readiness_check_ok",  # readiness
        "cortex_ingest_jobs_by_status",  # ingest failures
        "cortex_projection_lag_events",  # projection lag
        "cortex_lane_calls_total",  # model lanes
    ):
        assert metric in covered, metric
    assert "histogram_quantile(0.95" in covered
    assert "histogram_quantile(0.99" in covered


def test_every_alert_reads_metrics_cortex_exports(exported: set[str]) -> None:
    for rule in alert_rules():
        metrics = set(METRIC.findall(rule["expr"]))
        assert metrics or PROMETHEUS_METRICS & set(re.findall(r"\w+", rule["expr"])), rule["alert"]
        missing = metrics - exported
        assert not missing, f"{rule['alert']} reads {sorted(missing)}, which Cortex does not export"


def test_every_dashboard_panel_reads_metrics_cortex_exports(exported: set[str]) -> None:
    dashboard = json.loads((OPS / "grafana" / "dashboards" / "cortex.json").read_text())
    for expr in dashboard_exprs(dashboard):
        missing = set(METRIC.findall(expr)) - exported
        assert not missing, f"{expr} reads {sorted(missing)}, which Cortex does not export"

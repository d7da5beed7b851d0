"""``docker-compose.yaml`` (no Docker engine runs here): it validates against the Compose specification's
JSON schema, has the topology of the scaled-out deployment, and names what the README's "Scaling out"
section says it names."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema.validators import validator_for

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
README_SECTION = "## Scaling out"
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
SERVICES = {*AIRFLOW_SERVICES, "airflow-init", "postgres", "redis", "local-sagemaker", "seaweedfs"}
PROJECT_MOUNTS = {"./dags": "/opt/airflow/dags", "./plugins": "/opt/airflow/plugins"}
INCLUDE_MOUNT = ("./include", "/opt/airflow/project/include")
# ${NAME}, ${NAME:-default}, ${NAME-default}: a default ends at the first closing brace, as in Compose.
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def compose_schema() -> dict:
    """The Compose specification's JSON schema (https://github.com/compose-spec/compose-spec,
    ``schema/compose-spec.json``, Apache License 2.0), as the check-jsonschema package vendors it for its
    ``check-compose-spec`` hook (its licence: ``check_jsonschema/builtin_schemas/vendor/licenses/``)."""
    try:
        vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    except ModuleNotFoundError:
        pytest.fail("check-jsonschema is not installed; requirements-dev.txt pins it (`make install`)")
    return json.loads(vendored.read_text())


def interpolate(node, environment: dict[str, str]):
    """Compose's variable interpolation: in every string value of the parsed file (``$$`` is a ``$``)."""
    if isinstance(node, dict):
        return {key: interpolate(value, environment) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, environment) for item in node]
    if not isinstance(node, str):
        return node

    def value(match: re.Match) -> str:
        name, operator, default = match.groups()
        if name in environment and (environment[name] or operator != ":-"):
            return environment[name]
        return default or ""

    return _VARIABLE.sub(value, node.replace("$$", "\0")).replace("\0", "$")


def variables_read(node) -> set[str]:
    """Names of the variables the parsed file interpolates anywhere (comments excluded)."""
    if isinstance(node, dict):
        return set().union(*(variables_read(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(variables_read(item) for item in node))
    if isinstance(node, str):
        return {match[0] for match in _VARIABLE.findall(node.replace("$$", ""))}
    return set()


def load_compose(environment: dict[str, str]) -> dict:
    return interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), environment)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose({})


@pytest.fixture(scope="module")
def readme_section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.find(f"\n{README_SECTION}\n")
    assert start >= 0, f"README.md has no {README_SECTION!r} section describing docker-compose.yaml"
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _published_ports(service: dict) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def _mounts(service: dict) -> dict[str, str]:
    return dict(str(volume).split(":")[:2] for volume in service.get("volumes", []))


def test_the_file_validates_against_the_compose_specification(compose: dict) -> None:
    schema = compose_schema()
    validator = validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_rejects_what_compose_rejects(compose: dict) -> None:
    schema = compose_schema()
    broken = {**compose, "services": {**compose["services"], "redis": {"image": "redis", "restart": 3}}}
    assert not validator_for(schema)(schema).is_valid(broken)


def test_the_topology_is_celery_on_postgres_and_redis_with_the_engine(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name in AIRFLOW_SERVICES:
        environment = services[name]["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
        assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        mounts = _mounts(services[name])
        assert all(mounts.get(source) == target for source, target in PROJECT_MOUNTS.items()), mounts
        assert mounts.get(INCLUDE_MOUNT[0]) == INCLUDE_MOUNT[1], mounts
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service, f"{name} has no health check"
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert {"postgres", "redis"} <= set(depends), name


def test_workers_scale_and_servers_publish_on_loopback_only(compose: dict) -> None:
    worker = compose["services"]["airflow-worker"]
    # --scale needs a service without a fixed container name or a host port.
    assert "container_name" not in worker
    assert "ports" not in worker
    for name, service in compose["services"].items():
        for port in _published_ports(service):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond the host's loopback"


def test_local_mode_points_aws_default_at_the_engine_service(compose: dict) -> None:
    # Parsed as a task parses it (the Task SDK's parser keeps query values as strings).
    from airflow.sdk import Connection

    uri = compose["services"]["airflow-worker"]["environment"]["AIRFLOW_CONN_AWS_DEFAULT"]
    extra = Connection.from_uri(uri, conn_id="aws_default").extra_dejson
    engine_port = compose["services"]["local-sagemaker"]["ports"][0].split(":")[-1]
    engine = f"http://local-sagemaker:{engine_port}"
    # STS too: the provider sends the Test button's sts:GetCallerIdentity to STS's own endpoint.
    assert extra == {
        "region_name": "us-east-1",
        "endpoint_url": engine,
        "service_config": {"sts": {"endpoint_url": engine}},
    }


def test_aws_mode_is_one_environment_file_away() -> None:
    aws = {
        "AIRFLOW_CONN_AWS_DEFAULT": '{"conn_type": "aws", "extra": {"region_name": "eu-west-1"}}',
        "AIRFLOW_VAR_SAGEMAKER_BUCKET": "my-bucket",
    }
    environment = load_compose(aws)["services"]["airflow-worker"]["environment"]
    assert json.loads(environment["AIRFLOW_CONN_AWS_DEFAULT"])["extra"] == {"region_name": "eu-west-1"}
    assert environment["AIRFLOW_VAR_SAGEMAKER_BUCKET"] == "my-bucket"


def test_the_readme_names_every_service_port_and_variable(compose: dict, readme_section: str) -> None:
    services = compose["services"]
    missing_services = [name for name in services if f"`{name}`" not in readme_section]
    assert missing_services == [], f"{README_SECTION} does not name these services"

    ports = [port.rsplit(":", 1)[0] for service in services.values() for port in _published_ports(service)]
    assert [port for port in ports if f"`{port}`" not in readme_section] == []

    table_rows = [line for line in readme_section.splitlines() if line.startswith("| `")]
    documented = {name for row in table_rows for name in re.findall(r"`([A-Z_][A-Z0-9_]*)`", row)}
    read = variables_read(yaml.safe_load(COMPOSE_FILE.read_text()))
    # Airflow's image's pip escape hatch is passed through, not a setting of this deployment.
    assert documented == read - {"_PIP_ADDITIONAL_REQUIREMENTS"}

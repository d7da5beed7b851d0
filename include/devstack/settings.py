"""Where the local stack lives and how its processes are configured."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from include.devstack.services import postgres_url, redis_url

REPO = Path(__file__).resolve().parents[2]

LOGIN = ("admin", "admin")
EXECUTORS = ("local", "celery")


@dataclass(frozen=True)
class StackSettings:
    """Paths and ports of one local stack. Everything generated stays inside the checkout (git-ignored)."""

    repo: Path = REPO
    # Where generated state goes (Airflow home, engine state); the checkout unless a test says otherwise.
    root: Path = REPO
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    engine_port: int = 4599
    # "local" runs the local SageMaker engine and points aws_default at it;
    # "aws" starts no engine and leaves aws_default to the user (real AWS).
    mode: str = "local"
    # "local": LocalExecutor on SQLite. "celery": the scaled-out topology (CeleryExecutor, a PostgreSQL
    # metadata database, a Redis broker and Celery workers), every server on 127.0.0.1.
    executor: str = "local"
    postgres_port: int = 15432
    redis_port: int = 16379
    celery_concurrency: int = 4
    # Extra ``AIRFLOW__SECTION__KEY`` variables for every Airflow process (tests shorten timeouts here).
    airflow_config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")

    @property
    def airflow_home(self) -> Path:
        return self.root / ".airflow"

    @property
    def run_dir(self) -> Path:
        return self.airflow_home / "run"

    @property
    def log_dir(self) -> Path:
        return self.airflow_home / "logs" / "stack"

    @property
    def engine_state_dir(self) -> Path:
        return self.root / ".local" / "sagemaker"

    @property
    def postgres_dir(self) -> Path:
        return self.root / ".local" / "postgres" / "data"

    @property
    def redis_dir(self) -> Path:
        return self.root / ".local" / "redis"

    @property
    def postgres_password(self) -> str:
        return _persistent_secret(self.airflow_home / "postgres_password")

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def engine_url(self) -> str:
        return f"http://127.0.0.1:{self.engine_port}"

    @classmethod
    def from_environment(cls) -> StackSettings:
        mode = os.environ.get("SAGEMAKER_MODE", "local")
        if mode not in ("local", "aws"):
            raise SystemExit(f"SAGEMAKER_MODE must be 'local' or 'aws', got {mode!r}")
        executor = os.environ.get("AIRFLOW_EXECUTOR", "local")
        if executor not in EXECUTORS:
            raise SystemExit(f"AIRFLOW_EXECUTOR must be one of {EXECUTORS}, got {executor!r}")
        return cls(
            api_port=int(os.environ.get("AIRFLOW_PORT", "8080")),
            engine_port=int(os.environ.get("LOCAL_SAGEMAKER_PORT", "4599")),
            mode=mode,
            executor=executor,
            postgres_port=int(os.environ.get("POSTGRES_PORT", "15432")),
            redis_port=int(os.environ.get("REDIS_PORT", "16379")),
            celery_concurrency=int(os.environ.get("CELERY_WORKER_CONCURRENCY", "4")),
        )


def local_connection(engine_url: str) -> str:
    """The ``aws_default`` connection of local mode: every AWS service at the local engine."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "local",
            "password": "local",
            "extra": {
                "region_name": "us-east-1",
                "endpoint_url": engine_url,
                # The provider sends the Test button's sts:GetCallerIdentity (and assume-role) to STS's own
                # endpoint, never to the connection-wide endpoint_url: name the engine for STS too.
                "service_config": {"sts": {"endpoint_url": engine_url}},
                # A stopped engine should fail a task quickly, not after minutes of retries.
                "config_kwargs": {"retries": {"mode": "standard", "max_attempts": 3}, "connect_timeout": 5},
            },
        }
    )


def _persistent_secret(path: Path) -> str:
    """A secret shared by all processes of the stack, kept across restarts."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


def airflow_environment(settings: StackSettings) -> dict[str, str]:
    """Environment for every Airflow process of the stack."""
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    passwords = home / "passwords.json"
    user, password = LOGIN
    passwords.write_text(json.dumps({user: password}))
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.repo / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.repo / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # A stack started from a test run is still a real deployment: pytest's unit-test mode would
            # swap in Airflow's test defaults (cron data intervals, DAGs unpaused at creation, ...).
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.api_url}/execution/",
            "AIRFLOW__API__HOST": settings.api_host,
            "AIRFLOW__API__PORT": str(settings.api_port),
            "AIRFLOW__API__BASE_URL": settings.api_url,
            "AIRFLOW__API__SECRET_KEY": _persistent_secret(home / "secret_key"),
            "AIRFLOW__API_AUTH__JWT_SECRET": _persistent_secret(home / "jwt_secret"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            # New DAG files show up within seconds instead of the default five minutes.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
    )
    if settings.executor == "celery":
        env.update(_celery_environment(settings))
    if settings.mode == "local":
        env["AIRFLOW_CONN_AWS_DEFAULT"] = local_connection(settings.engine_url)
    env.update(settings.airflow_config)
    return env


def _celery_environment(settings: StackSettings) -> dict[str, str]:
    password = settings.postgres_password
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_url(settings.postgres_port, password),
        "AIRFLOW__CELERY__BROKER_URL": redis_url(settings.redis_port),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres_url(settings.postgres_port, password),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(settings.celery_concurrency),
    }

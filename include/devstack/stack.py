"""Bring the local stack up and down: LocalExecutor on SQLite (``make up``), or the scaled-out topology
of ``docker-compose.yaml`` without Docker (CeleryExecutor, PostgreSQL, Redis, a Celery worker)."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from collections.abc import Callable

import psutil

from include.devstack import services
from include.devstack.processes import PidFile, ProcessSpec, responds, start, stop, wait_until
from include.devstack.settings import LOGIN, StackSettings, airflow_environment
from include.local_sagemaker.command import serve_command

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CELERY_WORKER = "celery-worker"
SERVICES = (services.POSTGRES, services.REDIS)
ENGINE = "local-sagemaker"
# Every process the stack may run, in start order; `down` stops them in reverse.
ALL_PROCESSES = (*SERVICES, ENGINE, *AIRFLOW_COMPONENTS, CELERY_WORKER)
STOP_SIGNALS = {services.POSTGRES: services.POSTGRES_STOP_SIGNAL}


def _engine_available() -> bool:
    return importlib.util.find_spec("include.local_sagemaker.__main__") is not None


def _airflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "airflow", *args]


def celery_worker_spec(settings: StackSettings) -> ProcessSpec:
    # The worker's log server would bind every interface; the api-server reads the shared log folder.
    return ProcessSpec(
        CELERY_WORKER,
        _airflow("celery", "worker", "--skip-serve-logs", "--concurrency", str(settings.celery_concurrency)),
    )


def process_specs(settings: StackSettings) -> list[ProcessSpec]:
    specs = []
    if settings.executor == "celery":
        specs.append(services.postgres_spec(settings.postgres_dir, settings.postgres_port))
        specs.append(services.redis_spec(settings.redis_dir, settings.redis_port))
    if settings.mode == "local" and _engine_available():
        specs.append(ProcessSpec(ENGINE, serve_command(settings.engine_state_dir, settings.engine_port)))
    for name in AIRFLOW_COMPONENTS:
        argv = _airflow(name)
        if name in ("scheduler", "triggerer"):
            # Its log server binds every interface; on one machine the api-server reads log files directly.
            argv.append("--skip-serve-logs")
        specs.append(ProcessSpec(name, argv))
    if settings.executor == "celery":
        specs.append(celery_worker_spec(settings))
    return specs


def _readiness(settings: StackSettings) -> dict[str, tuple[Callable[[], bool], float]]:
    """What "ready" means for the processes something else waits for, and how long to wait."""
    password = settings.postgres_password
    return {
        services.POSTGRES: (lambda: services.postgres_accepts(settings.postgres_port, password), 60),
        services.REDIS: (lambda: services.redis_answers(settings.redis_port), 30),
        ENGINE: (lambda: responds(settings.engine_url), 60),
        "api-server": (lambda: responds(f"{settings.api_url}/api/v2/monitor/health"), 180),
    }


def start_process(spec: ProcessSpec, settings: StackSettings, env: dict[str, str]) -> psutil.Process:
    """Start one process of the stack and wait until it is ready, if anything waits for it."""
    process = start(spec, env, settings.run_dir, settings.log_dir, settings.repo)
    print(f"Started {spec.name} (pid {process.pid})", flush=True)
    ready = _readiness(settings).get(spec.name)
    if ready is not None:
        check, timeout = ready
        wait_until(check, f"{spec.name} (log: {settings.log_dir / spec.name}.log)", timeout, process)
    return process


def up(settings: StackSettings) -> None:
    env = airflow_environment(settings)
    specs = process_specs(settings)
    running = [spec.name for spec in specs if PidFile(settings.run_dir, spec.name).process()]
    if running:
        raise SystemExit(f"Already running: {', '.join(running)}. Run `make down` first.")
    if settings.executor == "celery":
        services.init_postgres(settings.postgres_dir, settings.postgres_password)
        settings.redis_dir.mkdir(parents=True, exist_ok=True)
    for spec in [spec for spec in specs if spec.name in SERVICES]:
        start_process(spec, settings, env)
    if settings.executor == "celery":
        services.create_database(settings.postgres_port, settings.postgres_password)
    print(f"Migrating the metadata database of {settings.airflow_home} ...", flush=True)
    subprocess.run(_airflow("db", "migrate"), env=env, check=True, stdout=subprocess.DEVNULL)
    for spec in [spec for spec in specs if spec.name not in SERVICES]:
        start_process(spec, settings, env)
    user, password = LOGIN
    print(
        f"\nAirflow UI: {settings.api_url}  (login {user} / {password})\n"
        f"Mode: {settings.mode}, executor: {settings.executor}"
        + (f", local SageMaker engine at {settings.engine_url}" if _engine_available() else "")
        + f"\nLogs: {settings.log_dir}\nStop with: make down"
    )


def down(settings: StackSettings) -> None:
    # Workers and Airflow first, so no task is left talking to a dead engine or database.
    for name in reversed(ALL_PROCESSES):
        if stop(PidFile(settings.run_dir, name), sig=STOP_SIGNALS.get(name, signal.SIGTERM)):
            print(f"Stopped {name}")


def status(settings: StackSettings) -> int:
    down_count = 0
    for spec in process_specs(settings):
        process = PidFile(settings.run_dir, spec.name).process()
        print(f"{spec.name:16} {'running, pid ' + str(process.pid) if process else 'stopped'}")
        down_count += process is None
    return 0 if down_count == 0 else 1

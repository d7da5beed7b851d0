"""Bring the local stack up and down."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from include.devstack.processes import PidFile, ProcessSpec, responds, start, stop, wait_until
from include.devstack.settings import LOGIN, StackSettings, airflow_environment
from include.local_sagemaker.command import serve_command

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
SERVES_LOGS = ("scheduler", "triggerer")
ENGINE = "local-sagemaker"


def _engine_available() -> bool:
    return importlib.util.find_spec("include.local_sagemaker.__main__") is not None


def process_specs(settings: StackSettings) -> list[ProcessSpec]:
    specs = []
    if settings.mode == "local" and _engine_available():
        specs.append(ProcessSpec(ENGINE, serve_command(settings.engine_state_dir, settings.engine_port)))
    for name in AIRFLOW_COMPONENTS:
        argv = [sys.executable, "-m", "airflow", name]
        if name in SERVES_LOGS:
            # Its log server binds every interface; on one machine the api-server reads log files directly.
            argv.append("--skip-serve-logs")
        specs.append(ProcessSpec(name, argv))
    return specs


def up(settings: StackSettings) -> None:
    env = airflow_environment(settings)
    running = [
        spec.name for spec in process_specs(settings) if PidFile(settings.run_dir, spec.name).process()
    ]
    if running:
        raise SystemExit(f"Already running: {', '.join(running)}. Run `make down` first.")
    print(f"Migrating the metadata database in {settings.airflow_home} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    for spec in process_specs(settings):
        process = start(spec, env, settings.run_dir, settings.log_dir, settings.repo)
        print(f"Started {spec.name} (pid {process.pid})", flush=True)
        if spec.name == ENGINE:
            wait_until(lambda: responds(settings.engine_url), spec.name, 60, process)
        if spec.name == "api-server":
            health = f"{settings.api_url}/api/v2/monitor/health"
            wait_until(lambda h=health: responds(h), spec.name, 180, process)
    user, password = LOGIN
    print(
        f"\nAirflow UI: {settings.api_url}  (login {user} / {password})\n"
        f"Mode: {settings.mode}"
        + (f", local SageMaker engine at {settings.engine_url}" if _engine_available() else "")
        + f"\nLogs: {settings.log_dir}\nStop with: make down"
    )


def down(settings: StackSettings) -> None:
    names = [ENGINE, *AIRFLOW_COMPONENTS]
    # Stop Airflow before the engine so no task is left talking to a dead endpoint.
    for name in reversed(names):
        if stop(PidFile(settings.run_dir, name)):
            print(f"Stopped {name}")


def status(settings: StackSettings) -> int:
    down_count = 0
    for name in [ENGINE, *AIRFLOW_COMPONENTS]:
        process = PidFile(settings.run_dir, name).process()
        print(f"{name:16} {'running, pid ' + str(process.pid) if process else 'stopped'}")
        down_count += process is None
    return 0 if down_count == 0 else 1

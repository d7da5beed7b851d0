"""The scaled-out topology of ``docker-compose.yaml`` without Docker: PostgreSQL and Redis from Debian's
packages, Airflow with the CeleryExecutor (api-server, scheduler, dag-processor, triggerer, one Celery
worker) and the local SageMaker engine, all on 127.0.0.1, driven through the REST API as the UI drives it.

One topology serves the whole module. The param run, the backfill sweep and the deferrable sweep start
together (they share the two cores and overlap their waits); the killed-worker test runs last, alone, because
it kills the worker every running task depends on. Everything is stopped by PID whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import psutil
import pytest

from include.devstack.api_client import AirflowApi
from include.devstack.processes import PidFile, free_port
from include.devstack.services import query_postgres
from include.devstack.settings import StackSettings, airflow_environment
from include.devstack.stack import CELERY_WORKER, celery_worker_spec, down, process_specs, start_process, up
from include.sagemaker_requests.names import run_names
from include.sagemaker_requests.target import LOCAL_BUCKET
from tests.support.dags import left_deployed

pytestmark = pytest.mark.slow

KMEANS = "kmeans_mnist"
SWEEP = "kmeans_sweep"
LEADERBOARD_ENTRIES = "leaderboards/kmeans-mnist/entries/"
BACKFILL_GRID = {"k": [8, 10, 12]}
# @weekly runs on Sundays: 4, 11 and 18 January, the grid's three points (the DAG's sweep_start is 1 January).
BACKFILL_WINDOW = ("2026-01-01", "2026-01-21")
RUN_TIMEOUT = 420
HEARTBEAT_TIMEOUT = 30
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "celery-topology"

# Short enough that a killed worker's task is noticed in seconds, long enough that a busy machine's
# healthy tasks (heartbeating every 5 s) are never mistaken for dead ones.
SHORT_TIMEOUTS = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # Unpausing a DAG must not start its latest scheduled run: the tests trigger exactly what they check.
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
}


def _stack_processes(settings: StackSettings) -> list[psutil.Process]:
    """Every live process the stack started, with everything those started."""
    found = []
    for spec in process_specs(settings):
        process = PidFile(settings.run_dir, spec.name).process()
        if process is not None:
            found += [process, *process.children(recursive=True)]
    return found


def _strays(root: Path) -> list[psutil.Process]:
    """Processes that still belong to the stack under ``root`` (by their environment or command line)."""
    strays = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.pid == os.getpid():
                continue
            in_root = str(root) in " ".join(process.info["cmdline"] or [])
            if in_root or process.environ().get("AIRFLOW_HOME", "").startswith(str(root)):
                strays.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return strays


@pytest.fixture(scope="module")
def stack() -> Iterator[StackSettings]:
    # PostgreSQL runs as its own account, which must be able to reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="celery-topology-"))
    root.chmod(0o755)
    settings = StackSettings(
        root=root,
        executor="celery",
        api_port=free_port(),
        engine_port=free_port(),
        postgres_port=free_port(),
        redis_port=free_port(),
        celery_concurrency=6,
        airflow_config=SHORT_TIMEOUTS,
    )
    try:
        up(settings)
        yield settings
    finally:
        down(settings)
        strays = _strays(root)
        for process in strays:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        # The logs of every process and task outlive the run, for whoever reads a failure.
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        if (settings.airflow_home / "logs").exists():
            shutil.copytree(settings.airflow_home / "logs", ARTIFACTS)
        shutil.rmtree(root, ignore_errors=True)
    assert not strays, f"still running after down: {[(p.pid, p.info['cmdline']) for p in strays]}"


@pytest.fixture(scope="module")
def api(stack: StackSettings) -> AirflowApi:
    client = AirflowApi(stack.api_url)
    deadline = time.monotonic() + 180
    while not {KMEANS, SWEEP} <= client.dag_ids():
        errors = client.import_errors()
        assert time.monotonic() < deadline, f"DAGs not listed in 180 s; import errors: {errors}"
        time.sleep(3)
    for dag_id in (KMEANS, SWEEP):
        client.unpause(dag_id)
    return client


@pytest.fixture(scope="module")
def engine_clients(stack: StackSettings) -> dict:
    session = boto3.session.Session("local", "local", region_name="us-east-1")
    return {name: session.client(name, endpoint_url=stack.engine_url) for name in ("s3", "sagemaker")}


@pytest.fixture(scope="module")
def concurrent_runs(stack: StackSettings, api: AirflowApi) -> dict:
    """A param run, a three-date backfill sweep and a deferrable sweep, started together."""
    param_run = api.trigger(KMEANS, {"k": 8, "validation_records": 200})
    backfill_create = [
        sys.executable, "-m", "airflow", "backfill", "create",
        "--dag-id", KMEANS,
        "--from-date", BACKFILL_WINDOW[0],
        "--to-date", BACKFILL_WINDOW[1],
        "--dag-run-conf", json.dumps({"sweep_grid": BACKFILL_GRID, "validation_records": 200}),
        "--max-active-runs", "3",
    ]  # fmt: skip
    backfill = subprocess.run(
        backfill_create,
        env=airflow_environment(stack),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    sweep_run = api.trigger(SWEEP, {"grid": {"k": [4, 6]}, "leaderboard": "celery-topology"})
    return {"param": param_run, "sweep": sweep_run}


def _backfill_runs(api: AirflowApi) -> list[dict]:
    return [run for run in api.dag_runs(KMEANS) if run["run_type"] == "backfill"]


def test_every_server_listens_on_loopback_only(stack: StackSettings) -> None:
    processes = _stack_processes(stack)
    names = {spec.name for spec in process_specs(stack)}
    running = {spec.name for spec in process_specs(stack) if PidFile(stack.run_dir, spec.name).process()}
    assert running == names, f"not running: {sorted(names - running)}"
    listening = []
    for process in processes:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        listening += [
            (process.name(), c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN
        ]
    ports = {port for _, _, port in listening}
    assert {stack.api_port, stack.engine_port, stack.postgres_port, stack.redis_port} <= ports, listening
    assert all(ip in ("127.0.0.1", "::1") for _, ip, _ in listening), listening


def test_a_run_triggered_through_the_api_trains_with_its_param(
    stack: StackSettings, api: AirflowApi, concurrent_runs: dict, engine_clients: dict
) -> None:
    run_id = concurrent_runs["param"]
    run = api.wait_for_run(KMEANS, run_id, RUN_TIMEOUT)
    assert run["state"] == "success", api.task_instances(KMEANS, run_id)
    assert run["conf"]["k"] == 8

    names = run_names(KMEANS, run_id)
    job = engine_clients["sagemaker"].describe_training_job(TrainingJobName=names.training_job)
    assert job["HyperParameters"]["k"] == "8"
    assert left_deployed(engine_clients["sagemaker"], names) == []
    # The tasks went through Celery: its result backend in PostgreSQL holds their outcomes.
    succeeded = "SELECT count(*) FROM celery_taskmeta WHERE status = 'SUCCESS'"
    done = query_postgres(stack.postgres_port, stack.postgres_password, succeeded)
    assert done[0][0] >= len(api.task_instances(KMEANS, run_id))


def test_a_backfill_over_three_dates_sweeps_the_grid_onto_one_leaderboard(
    api: AirflowApi, concurrent_runs: dict, engine_clients: dict
) -> None:
    runs = _backfill_runs(api)
    assert len(runs) == 3, [run["dag_run_id"] for run in runs]
    for run in runs:
        finished = api.wait_for_run(KMEANS, run["dag_run_id"], RUN_TIMEOUT)
        assert finished["state"] == "success", api.task_instances(KMEANS, run["dag_run_id"])

    s3 = engine_clients["s3"]
    keys = [
        item["Key"]
        for item in s3.list_objects_v2(Bucket=LOCAL_BUCKET, Prefix=LEADERBOARD_ENTRIES).get("Contents", [])
    ]
    entries = [json.loads(s3.get_object(Bucket=LOCAL_BUCKET, Key=key)["Body"].read()) for key in keys]
    backfill_ids = {run["dag_run_id"] for run in runs}
    rows = [entry for entry in entries if entry["run_id"] in backfill_ids]
    assert len(rows) == 3, rows
    # Each logical date picks its own grid point, in order: the whole grid, once.
    by_date = sorted(rows, key=lambda row: row["logical_date"])
    assert [int(row["hyperparameters"]["k"]) for row in by_date] == BACKFILL_GRID["k"], by_date
    for run in runs:
        assert left_deployed(engine_clients["sagemaker"], run_names(KMEANS, run["dag_run_id"])) == []


def test_deferrable_training_waits_in_the_triggerer(api: AirflowApi, concurrent_runs: dict) -> None:
    run_id = concurrent_runs["sweep"]
    run = api.wait_for_run(SWEEP, run_id, RUN_TIMEOUT)
    assert run["state"] == "success", api.task_instances(SWEEP, run_id)

    tis = api.task_instances(SWEEP, run_id)
    trained = {task: ti for task, ti in tis.items() if task.startswith("train[")}
    assert len(trained) == 2, trained
    for ti in trained.values():
        assert ti["state"] == "success"
        log = api.task_log(SWEEP, run_id, "train", ti["try_number"], ti["map_index"])
        assert "Pausing task as DEFERRED" in log, log[-3000:]
        assert "Trigger fired event" in log, log[-3000:]
        assert "trigger completed" in log, log[-3000:]


def _wait_for_task_state(api: AirflowApi, dag_id: str, run_id: str, task_id: str, state: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ti = api.task_instances(dag_id, run_id).get(task_id)
        if ti and ti["state"] == state:
            return ti
        if api.dag_run(dag_id, run_id)["state"] not in ("queued", "running"):
            pytest.fail(f"{task_id} never {state}: {api.task_instances(dag_id, run_id)}")
        time.sleep(1)
    raise TimeoutError(f"{dag_id} {run_id}: {task_id} not {state} after {timeout:.0f} s")


def _crash(process: psutil.Process) -> None:
    """SIGKILL a process and everything it started: no warm shutdown, no chance to report anything."""
    family = [process, *process.children(recursive=True)]
    for member in family:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"survived SIGKILL: {alive}"


def test_a_killed_worker_is_recovered_by_retry_without_a_second_training_job(
    stack: StackSettings, api: AirflowApi, engine_clients: dict
) -> None:
    run_id = api.trigger(KMEANS, {"k": 6, "validation_records": 200})
    names = run_names(KMEANS, run_id)
    _wait_for_task_state(api, KMEANS, run_id, "train", "running", 300)
    worker = PidFile(stack.run_dir, CELERY_WORKER).process()
    assert worker is not None
    _crash(worker)
    start_process(celery_worker_spec(stack), stack, airflow_environment(stack))

    run = api.wait_for_run(KMEANS, run_id, RUN_TIMEOUT)
    tis = api.task_instances(KMEANS, run_id)
    assert run["state"] == "success", tis
    assert tis["train"]["try_number"] >= 2, tis["train"]
    timeouts = api.get(f"/api/v2/eventLogs?dag_id={KMEANS}&task_id=train&event=heartbeat%20timeout")
    assert any(entry["run_id"] == run_id for entry in timeouts["event_logs"]), timeouts
    jobs = engine_clients["sagemaker"].list_training_jobs(NameContains=names.training_job)
    assert [job["TrainingJobName"] for job in jobs["TrainingJobSummaries"]] == [names.training_job]
    assert left_deployed(engine_clients["sagemaker"], names) == []


def test_no_endpoint_is_left(api: AirflowApi, engine_clients: dict) -> None:
    assert engine_clients["sagemaker"].list_endpoints()["Endpoints"] == []

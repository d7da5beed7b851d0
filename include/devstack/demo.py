"""``make demo``: run ``kmeans_mnist`` end to end, offline, against a local engine started for the occasion.

Prints each task as it starts and ends (see :mod:`include.devstack.progress`), then a summary whose last
line is one JSON object (dag_id, run_id, state, clustering metrics, report_path, endpoints_left); exits
non-zero unless the run succeeded and left no endpoint behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3

from include.devstack.processes import PidFile, ProcessSpec, free_port, responds, start, stop, wait_until
from include.devstack.progress import latest_run_id, watch
from include.devstack.settings import REPO, local_connection
from include.sagemaker_requests.names import run_names
from include.sagemaker_requests.target import LOCAL_BUCKET

DAG_ID = "kmeans_mnist"

# Runs in a child interpreter so Airflow reads the demo's AIRFLOW_HOME and connection from the start.
_RUN_DAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    raise SystemExit(f"DAG import errors: {bag.import_errors}")
run = bag.dags[sys.argv[2]].test()
print("DEMO_RESULT " + json.dumps({"run_id": run.run_id, "state": str(run.state)}))
"""


def _environment(home: Path, engine_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW_CONN_AWS_DEFAULT": local_connection(engine_url),
        }
    )
    return env


def _clients(engine_url: str):
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    return session.client("s3", endpoint_url=engine_url), session.client("sagemaker", endpoint_url=engine_url)


def run_demo(root: Path = REPO / ".local" / "demo") -> int:
    home = root / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    engine_url = f"http://127.0.0.1:{port}"
    env = _environment(home, engine_url)
    engine = ProcessSpec(
        "demo-engine",
        [
            sys.executable,
            "-m",
            "include.local_sagemaker",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--state-dir",
            str(root / "engine"),
        ],
    )
    started = time.monotonic()
    process = start(engine, env, root / "run", root / "logs", REPO)
    try:
        wait_until(lambda: responds(engine_url), "local SageMaker engine", 60, process)
        print(
            f"Local SageMaker engine on {engine_url} (log: {root / 'logs' / 'demo-engine.log'})", flush=True
        )
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        log = root / "logs" / "dag-test.log"
        print(f"Running {DAG_ID} with dag.test(), times in UTC (log: {log}) ...", flush=True)
        database = home / "airflow.db"
        previous_run = latest_run_id(database, DAG_ID)
        with log.open("w") as output:
            run = subprocess.Popen(
                [sys.executable, "-c", _RUN_DAG, str(REPO / "dags"), DAG_ID],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                watch(run, database, DAG_ID, previous_run)
            finally:
                if run.poll() is None:  # the watch was interrupted: the run goes with it
                    run.kill()
                    run.wait()
        printed = log.read_text()
        marker = [line for line in printed.splitlines() if line.startswith("DEMO_RESULT ")]
        if not marker:
            print(printed[-4000:], file=sys.stderr)
            outcome = {"run_id": None, "state": "error"}
        else:
            outcome = json.loads(marker[-1].removeprefix("DEMO_RESULT "))
        summary = _summarise(outcome, engine_url, root)
    finally:
        stop(PidFile(root / "run", engine.name))
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    print(
        f"\n{DAG_ID}: {summary['state']} in {summary['wall_seconds']} s; "
        f"report {summary.get('report_path')}; endpoints left {summary['endpoints_left']}"
    )
    print(json.dumps(summary))
    return 0 if summary["state"] == "success" and summary["endpoints_left"] == 0 else 1


def _summarise(outcome: dict, engine_url: str, root: Path) -> dict:
    s3, sagemaker = _clients(engine_url)
    summary = {"dag_id": DAG_ID, **outcome, "endpoints_left": len(sagemaker.list_endpoints()["Endpoints"])}
    if not outcome.get("run_id"):
        return summary
    prefix = run_names(DAG_ID, outcome["run_id"]).s3_prefix
    try:
        metrics = json.loads(
            s3.get_object(Bucket=LOCAL_BUCKET, Key=f"{prefix}/report/metrics.json")["Body"].read()
        )
        report = s3.get_object(Bucket=LOCAL_BUCKET, Key=f"{prefix}/report/report.html")["Body"].read()
    except s3.exceptions.ClientError as error:
        summary["error"] = f"report not found: {error}"
        return summary
    report_path = root / "reports" / f"{prefix.replace('/', '-')}.html"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_bytes(report)
    keys = ("records", "clusters", "purity", "nmi", "ari", "mean_distance")
    summary.update({key: metrics[key] for key in keys if key in metrics})
    summary["report_path"] = str(report_path)
    return summary

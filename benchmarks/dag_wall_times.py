"""Wall time of every DAG in dags/ end to end in local mode, beside the seeds' published SageMaker times.

    .venv/bin/python -m benchmarks.dag_wall_times [DAG_ID | DAG_ID/SOURCE ...]

Each DAG file found in ``dags/`` runs once on the offline sample, and ``kmeans_mnist`` once more on the
full Fashion-MNIST (70,000 images, Debian's ``dataset-fashion-mnist``). Every run is ``dag.test()`` in a
Python process of its own (its own Airflow home with a copy of one migrated metadata database, a dags
folder holding only that file) against a ``LocalSageMaker`` started fresh for it. Reported per run:

* run: the DAG run's duration as Airflow records it (start to end of the run);
* process: the whole child process, with interpreter start, imports and DAG parsing;
* each task's duration from its task instance's start and end (all tries, all mapped instances).

The peer is what the seed notebooks publish for the same steps on SageMaker; where a seed publishes no
time, the table says so. Ratios are SageMaker's published time over the local time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from include.devstack.settings import local_connection
from include.local_sagemaker.engine import LocalSageMaker
from include.mnist.sources import FASHION_MNIST_DIR

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = {("kmeans_mnist", "sample"): 60}
RUN_TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class Published:
    """A seed notebook's own statement of how long a step takes on SageMaker, in minutes."""

    notebook: str
    # task ids whose durations add up to the step -> (fewest, most) minutes; fewest None for "up to".
    steps: dict[tuple[str, ...], tuple[float | None, float]] = field(default_factory=dict)


# Quoted from the seeds in github.com/aws/amazon-sagemaker-examples.
PUBLISHED = {
    "kmeans_mnist": Published(
        "sagemaker-python-sdk/1P_kmeans_highlevel/kmeans_mnist.ipynb: training 'takes between 7 and 11 "
        "minutes'; deploying the endpoint 'can take, on average, 7 to 11 minutes'",
        {("train",): (7, 11), ("create_endpoint",): (7, 11), ("train", "create_endpoint"): (14, 22)},
    ),
    "xgboost_mnist": Published(
        "sagemaker-spark/pyspark_mnist/pyspark_mnist_xgboost.ipynb: training and creating the endpoint "
        "'can take up to twenty minutes'",
        {("train", "create_endpoint"): (None, 20)},
    ),
    "linear_learner_mnist": Published(
        "advanced_functionality/parquet_to_recordio_protobuf/parquet_to_recordio_protobuf.ipynb: training "
        "'takes four to six minutes'",
        {("train",): (4, 6)},
    ),
    "pca_kmeans_mnist": Published("sagemaker-spark/pyspark_mnist/pyspark_mnist_pca_kmeans.ipynb gives none"),
    "mnist_batch_transform": Published(
        "sagemaker-python-sdk/mxnet_mnist/mxnet_mnist_with_batch_transform.ipynb gives none"
    ),
    "kmeans_sweep": Published("no seed notebook: this DAG goes beyond the seeds"),
}

# Runs in the child so Airflow reads that run's home, dags folder and connection from the start.
_RUN_DAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    raise SystemExit(f"DAG import errors: {bag.import_errors}")
run = bag.dags[sys.argv[2]].test(run_conf=json.loads(sys.argv[3]))
iso = lambda moment: moment.isoformat() if moment else None
tasks = [
    {"task_id": ti.task_id, "map_index": ti.map_index, "try_number": ti.try_number, "state": str(ti.state),
     "start": iso(ti.start_date), "end": iso(ti.end_date)}
    for ti in run.get_task_instances()
]
print("BENCH_RESULT " + json.dumps(
    {"run_id": run.run_id, "state": str(run.state), "start": iso(run.start_date), "end": iso(run.end_date),
     "tasks": tasks}))
"""


@dataclass(frozen=True)
class Case:
    dag_id: str
    source: str

    @property
    def run_conf(self) -> dict:
        return {"source": self.source}


def discover_cases(selectors: list[str]) -> list[Case]:
    """Every DAG file's case on the sample plus kmeans_mnist on Fashion-MNIST, narrowed to ``selectors``
    (``DAG_ID`` for all cases of a DAG, ``DAG_ID/SOURCE`` for one) when any are given. A DAG's id is its
    file's name, as for every DAG in dags/."""
    dag_ids = sorted(path.stem for path in (REPO / "dags").glob("*.py") if not path.name.startswith("_"))
    cases = [Case(dag_id, "sample") for dag_id in dag_ids]
    if "kmeans_mnist" in dag_ids:
        cases.append(Case("kmeans_mnist", "fashion-mnist"))
    names = {case: {case.dag_id, f"{case.dag_id}/{case.source}"} for case in cases}
    unknown = [s for s in selectors if not any(s in n for n in names.values())]
    if unknown:
        raise SystemExit(f"No such case {unknown}; cases: {sorted(f'{c.dag_id}/{c.source}' for c in cases)}")
    if selectors:
        cases = [case for case in cases if names[case] & set(selectors)]
    if any(case.source == "fashion-mnist" for case in cases) and not FASHION_MNIST_DIR.is_dir():
        raise SystemExit(
            f"Fashion-MNIST is missing: {FASHION_MNIST_DIR} does not exist. The benchmark runs kmeans_mnist "
            "on it; install it with `apt-get install -y dataset-fashion-mnist` (`make bench` does)."
        )
    return cases


def migrated_database(workdir: Path) -> Path:
    """One migrated SQLite metadata database, copied for every run so that migration is not timed."""
    home = workdir / "template-home"
    home.mkdir()
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=airflow_environment(home, workdir),
        check=True,
        capture_output=True,
    )
    return home / "airflow.db"


def airflow_environment(home: Path, dags: Path, engine_url: str | None = None) -> dict[str, str]:
    connection = {"AIRFLOW_CONN_AWS_DEFAULT": local_connection(engine_url)} if engine_url else {}
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        **connection,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def run_case(case: Case, database: Path, workdir: Path) -> dict:
    root = workdir / f"{case.dag_id}-{case.source}"
    home, dags = root / "home", root / "dags"
    home.mkdir(parents=True)
    dags.mkdir()
    shutil.copy(database, home / "airflow.db")
    shutil.copy(REPO / "dags" / f"{case.dag_id}.py", dags)
    load_before = os.getloadavg()[0]
    with LocalSageMaker(root / "engine") as engine:
        started = time.perf_counter()
        finished = subprocess.run(
            [sys.executable, "-c", _RUN_DAG, str(dags), case.dag_id, json.dumps(case.run_conf)],
            env=airflow_environment(home, dags, engine.endpoint_url),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        process_seconds = time.perf_counter() - started
    marker = [line for line in finished.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if marker:
        result = json.loads(marker[-1].removeprefix("BENCH_RESULT "))
    else:  # an import error or a crash: reported, and the other DAGs are still measured
        tail = (finished.stdout + finished.stderr).strip().splitlines()[-15:]
        result = {"state": "error", "start": None, "end": None, "tasks": [], "error": "\n".join(tail)}
    result["process_seconds"] = process_seconds
    result["load"] = (load_before, os.getloadavg()[0])
    return result


def seconds_between(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def task_seconds(result: dict) -> dict[str, tuple[float, int, int]]:
    """task id -> (seconds summed over its instances, instances, highest try number), in start order."""
    totals: dict[str, tuple[float, int, int]] = {}
    for ti in sorted(result["tasks"], key=lambda t: t["start"] or "~"):
        seconds, count, tries = totals.get(ti["task_id"], (0.0, 0, 0))
        totals[ti["task_id"]] = (
            seconds + seconds_between(ti["start"], ti["end"]),
            count + 1,
            max(tries, ti["try_number"]),
        )
    return totals


def ratio_lines(case: Case, tasks: dict[str, tuple[float, int, int]]) -> list[str]:
    published = PUBLISHED.get(case.dag_id)
    if published is None or not published.steps:
        note = published.notebook if published else "no seed known for this DAG"
        return [f"    SageMaker time: none published; {note}"]
    lines = [f"    SageMaker ({published.notebook}):"]
    for step, (fewest, most) in published.steps.items():
        local = sum(tasks.get(task_id, (0.0, 0, 0))[0] for task_id in step)
        name = " + ".join(step)
        if local <= 0:
            lines.append(f"      {name:<24} no such task in this DAG")
            continue
        span = f"up to {most:g} min" if fewest is None else f"{fewest:g}-{most:g} min"
        ratio = (
            f"up to {most * 60 / local:,.0f}x"
            if fewest is None
            else (f"{fewest * 60 / local:,.0f}x-{most * 60 / local:,.0f}x")
        )
        lines.append(f"      {name:<24} SageMaker {span:<14} local {local:7.1f} s   SageMaker/local {ratio}")
    return lines


def report(case: Case, result: dict) -> None:
    run_seconds = seconds_between(result["start"], result["end"])
    tasks = task_seconds(result)
    load_before, load_after = result["load"]
    print(
        f"\n{case.dag_id} on {case.source}: {result['state']}   run {run_seconds:.1f} s   "
        f"process {result['process_seconds']:.1f} s   load avg {load_before:.1f} -> {load_after:.1f}"
    )
    if "error" in result:
        print("    " + result["error"].replace("\n", "\n    "))
        return
    target = TARGET_SECONDS.get((case.dag_id, case.source))
    if target:
        verdict = "met" if result["state"] == "success" and run_seconds < target else "NOT met"
        print(f"    target: run under {target} s: {verdict}")
    for task_id, (seconds, count, tries) in tasks.items():
        extra = (f"   {count} instances" if count > 1 else "") + (f"   {tries} tries" if tries > 1 else "")
        print(f"    {task_id:<32} {seconds:7.1f} s{extra}")
    for line in ratio_lines(case, tasks):
        print(line)


def main(selectors: list[str]) -> None:
    cases = discover_cases(selectors)
    print(f"cores: {os.cpu_count()}   cases: {', '.join(f'{c.dag_id}/{c.source}' for c in cases)}")
    with tempfile.TemporaryDirectory(prefix="dag-wall-times-") as scratch:
        workdir = Path(scratch)
        database = migrated_database(workdir)
        failed = []
        for case in cases:
            result = run_case(case, database, workdir)
            report(case, result)
            if result["state"] != "success":
                failed.append(f"{case.dag_id}/{case.source}")
    if failed:
        raise SystemExit(f"Runs that did not succeed: {', '.join(failed)}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""kmeans_sweep end to end with dag.test() against the local engine: a mapped sweep trains one job per
grid point and ranks them all on the leaderboard; a tuning sweep does the same through one SageMaker
tuning job. Training tasks are deferrable: their waits ran in the (in-process) triggerer."""

from __future__ import annotations

import pytest

from include.sagemaker_requests.names import run_names
from include.sweeps.grid import expand
from tests.support.dags import fast_dag, read_json

pytestmark = pytest.mark.slow

GRID = {"k": [4, 8, 16]}


def _sweep(conf: dict):
    dag = fast_dag("kmeans_sweep")
    run = dag.test(run_conf={"source": "sample", "epochs": 1, **conf})
    instances = run.get_task_instances()
    states = {(ti.task_id, ti.map_index): ti.state for ti in instances}
    assert run.state == "success", states
    return run, states, instances


@pytest.fixture
def triggered_jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the training jobs whose wait ran in a ``SageMakerTrigger`` (dag.test() runs it inline)."""
    from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger

    jobs: list[str] = []
    original_run = SageMakerTrigger.run

    async def recording_run(self):
        jobs.append(self.job_name)
        async for event in original_run(self):
            yield event

    monkeypatch.setattr(SageMakerTrigger, "run", recording_run)
    return jobs


def test_mapped_sweep_trains_every_point_and_ranks_them(clients: dict, triggered_jobs: list[str]) -> None:
    run, states, instances = _sweep({"grid": GRID, "strategy": "mapped", "leaderboard": "sweep-mapped"})
    points = expand(GRID)
    trained = {ti.map_index: ti.rendered_map_index for ti in instances if ti.task_id == "train"}
    assert trained == {0: "k=4", 1: "k=8", 2: "k=16"}
    assert all(states[("train", index)] == "success" for index in trained)
    assert states[("tune", -1)] == "skipped"
    # Every training task deferred and its wait ran in the (in-process) triggerer.
    assert sorted(triggered_jobs) == sorted(
        run_names("kmeans_sweep", run.run_id, f"p{index}").training_job for index in range(len(points))
    )
    sagemaker = clients["sagemaker"]
    for index, point in enumerate(points):
        job_name = run_names("kmeans_sweep", run.run_id, f"p{index}").training_job
        job = sagemaker.describe_training_job(TrainingJobName=job_name)
        assert job["TrainingJobStatus"] == "Completed"
        assert job["HyperParameters"]["k"] == str(point["k"])

    board = read_json(clients["s3"], "leaderboards/sweep-mapped/leaderboard.json")
    assert board["entries"] == len(points)
    msd = [row["metrics"]["test:msd"] for row in board["rows"]]
    assert msd == sorted(msd)
    assert [row["rank"] for row in board["rows"]] == [1, 2, 3]
    # More clusters fit the digits more tightly.
    assert [row["hyperparameters"]["k"] for row in board["rows"]] == [16, 8, 4]
    assert [row["sweep_point"] for row in board["rows"]] == [2, 1, 0]
    csv_lines = (
        clients["s3"]
        .get_object(Bucket="sagemaker-mnist-local", Key="leaderboards/sweep-mapped/leaderboard.csv")["Body"]
        .read()
        .decode()
        .splitlines()
    )
    assert len(csv_lines) == 1 + len(points)

    best = board["rows"][0]
    packages = sagemaker.list_model_packages(ModelPackageGroupName="kmeans-sweep")["ModelPackageSummaryList"]
    described = [sagemaker.describe_model_package(ModelPackageName=p["ModelPackageArn"]) for p in packages]
    registered = [
        d["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        for d in described
        if d.get("ModelPackageDescription", "").startswith(run.run_id)
    ]
    assert registered == [best["model_artifact"]]


def test_tuning_sweep_puts_every_child_job_on_the_leaderboard(clients: dict) -> None:
    grid = {"k": [4, 16]}
    run, states, _ = _sweep({"grid": grid, "strategy": "tuning", "leaderboard": "sweep-tuning"})
    assert states[("train", -1)] == "skipped"
    sagemaker = clients["sagemaker"]
    tuning_name = run_names("kmeans_sweep", run.run_id).tuning_job
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_name)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    children = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_name
    )["TrainingJobSummaries"]
    assert len(children) == 2

    board = read_json(clients["s3"], "leaderboards/sweep-tuning/leaderboard.json")
    assert sorted(row["training_job"] for row in board["rows"]) == sorted(
        c["TrainingJobName"] for c in children
    )
    assert [row["hyperparameters"]["k"] for row in board["rows"]] == [16, 4]
    assert board["rows"][0]["training_job"] == tuning["BestTrainingJob"]["TrainingJobName"]

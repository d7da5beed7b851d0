"""mnist_batch_transform end to end with dag.test() against the local engine: the seed's MXNet Module script
trains in the mxnet-training image, the batch transform answers one ``.out`` per digit file, read back as
the notebook reads them, and the model is gone afterwards; PyTorch and scikit-learn by the framework param.
"""

from __future__ import annotations

import io
import tarfile

import pytest

from include.sagemaker_requests.names import run_names
from include.sagemaker_requests.target import LOCAL_BUCKET
from tests.support.dags import fast_dag, left_deployed, read_json

pytestmark = pytest.mark.slow

DAG_ID = "mnist_batch_transform"
# The seed's hyperparameters, the DAG's defaults.
SEED = {"epochs": 10, "batch_size": 100, "learning_rate": 0.1}


def _keys(s3, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=LOCAL_BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _run(clients: dict, conf: dict | None = None) -> tuple[object, dict]:
    run = fast_dag(DAG_ID).test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    names = run_names(DAG_ID, run.run_id)
    metrics = read_json(clients["s3"], f"{names.s3_prefix}/report/metrics.json")
    # Ten balanced digits: chance is about 0.1.
    assert metrics["accuracy"] >= 0.8, metrics
    assert left_deployed(clients["sagemaker"], names) == []
    return run, metrics


def _registered(sagemaker, run_id: str) -> dict:
    versions = sagemaker.list_model_packages(ModelPackageGroupName="mnist-script-mode")
    return next(
        package
        for package in (
            sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            for summary in versions["ModelPackageSummaryList"]
        )
        if package.get("ModelPackageDescription") == run_id
    )


def test_the_seed_trains_mxnet_and_batch_transforms_the_digit_files(clients: dict) -> None:
    run, metrics = _run(clients)
    names = run_names(DAG_ID, run.run_id)
    s3, sagemaker = clients["s3"], clients["sagemaker"]
    prefix = f"s3://{LOCAL_BUCKET}/{names.s3_prefix}"

    job = sagemaker.describe_training_job(TrainingJobName=names.training_job)
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/mxnet-training:1.6.0-cpu-py3")
    assert {name: job["HyperParameters"][name.replace("_", "-")] for name in SEED} == {
        "epochs": "10",
        "batch_size": "100",
        "learning_rate": "0.1",
    }
    reported = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert reported["validation:accuracy"] >= 0.8, reported

    transform = sagemaker.describe_transform_job(TransformJobName=f"{names.training_job}-transform")
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    inputs = _keys(s3, f"{names.s3_prefix}/csv-digits/test/")
    outputs = _keys(s3, f"{names.s3_prefix}/transform/")
    assert len(inputs) == metrics["records"]
    assert sorted(key.rsplit("/", 1)[-1] for key in outputs) == sorted(
        key.rsplit("/", 1)[-1] + ".out" for key in inputs
    )

    # The SDK's MXNetModel: the artifact repacked with the source directory under code/.
    repacked = f"{prefix}/code/{names.model}/model.tar.gz"
    environment = {
        "SAGEMAKER_PROGRAM": "mnist.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-east-1",
    }
    container = _registered(sagemaker, run.run_id)["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith("/mxnet-inference:1.6.0-cpu-py3")
    assert (container["ModelDataUrl"], container["Environment"]) == (repacked, environment)
    archive = s3.get_object(Bucket=LOCAL_BUCKET, Key=repacked.split("/", 3)[3])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as members:
        names_in_archive = set(members.getnames())
    assert {
        "model-symbol.json",
        "model-0000.params",
        "model-shapes.json",
        "code/mnist.py",
    } <= names_in_archive

    board = read_json(s3, "leaderboards/mnist-batch-transform/leaderboard.json")
    assert (board["metric"], board["direction"]) == ("accuracy", "maximize")
    row = next(row for row in board["rows"] if row["run_id"] == run.run_id)
    assert row["metrics"]["accuracy"] == metrics["accuracy"]
    assert row["metrics"]["validation:accuracy"] == reported["validation:accuracy"]
    assert row["hyperparameters"] == {"framework": "mxnet", **SEED}


def _served(clients: dict, conf: dict) -> tuple[object, dict, dict]:
    """A successful run with ``conf``: its names, training job and registered container."""
    run, _ = _run(clients, conf)
    names = run_names(DAG_ID, run.run_id)
    job = clients["sagemaker"].describe_training_job(TrainingJobName=names.training_job)
    container = _registered(clients["sagemaker"], run.run_id)["InferenceSpecification"]["Containers"][0]
    return names, job, container


def test_pytorch_trains_and_serves_from_its_repacked_model(clients: dict) -> None:
    names, job, container = _served(clients, {"framework": "pytorch"})
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/pytorch-training:2.6.0-cpu-py312")
    assert container["Image"].endswith("/pytorch-inference:2.6.0-cpu-py312")
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert container["ModelDataUrl"].endswith(f"/code/{names.model}/model.tar.gz")


def test_sklearn_serves_the_artifact_with_its_source_dir_on_s3(clients: dict) -> None:
    names, job, container = _served(clients, {"framework": "sklearn"})
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert container["Image"] == job["AlgorithmSpecification"]["TrainingImage"]
    assert container["ModelDataUrl"] == job["ModelArtifacts"]["S3ModelArtifacts"]
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == (
        f"s3://{LOCAL_BUCKET}/{names.s3_prefix}/code/sourcedir.tar.gz"
    )

"""mnist_batch_transform end to end with dag.test() against the local engine: the user's script trains in
script mode, the batch transform classifies every test digit, and the model is gone afterwards."""

from __future__ import annotations

import pytest
from dag_support import fast_dag, left_deployed, read_json

from include.sagemaker_requests.deployment import LOCAL_BUCKET
from include.sagemaker_requests.names import run_names

pytestmark = pytest.mark.slow

DAG_ID = "mnist_batch_transform"


def test_script_mode_and_batch_transform_classify_the_test_digits(clients: dict) -> None:
    run = fast_dag(DAG_ID).test()
    assert run.state == "success"

    names = run_names(DAG_ID, run.run_id)
    s3, sagemaker = clients["s3"], clients["sagemaker"]
    metrics = read_json(s3, f"{names.s3_prefix}/report/metrics.json")
    assert metrics["accuracy"] >= 0.8, metrics  # ten balanced digits: chance is about 0.1
    assert metrics["class_names"] == [str(digit) for digit in range(10)]
    test_rows = sum(
        len(body.splitlines())
        for body in (
            s3.get_object(Bucket=LOCAL_BUCKET, Key=item["Key"])["Body"].read()
            for item in s3.list_objects_v2(Bucket=LOCAL_BUCKET, Prefix=f"{names.s3_prefix}/csv/test/")[
                "Contents"
            ]
        )
    )
    assert metrics["records"] == test_rows, metrics

    job = sagemaker.describe_training_job(TrainingJobName=names.training_job)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    reported = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert reported["validation:accuracy"] >= 0.8, reported

    transform = sagemaker.describe_transform_job(TransformJobName=f"{names.training_job}-transform")
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    inputs = s3.list_objects_v2(Bucket=LOCAL_BUCKET, Prefix=f"{names.s3_prefix}/csv-features/test/")
    outputs = s3.list_objects_v2(Bucket=LOCAL_BUCKET, Prefix=f"{names.s3_prefix}/transform/")
    assert [item["Key"].rsplit("/", 1)[-1] for item in outputs["Contents"]] == [
        item["Key"].rsplit("/", 1)[-1] + ".out" for item in inputs["Contents"]
    ]

    versions = sagemaker.list_model_packages(ModelPackageGroupName="mnist-script-mode")
    assert versions["ModelPackageSummaryList"], "no model version was registered"
    registered = next(
        package
        for package in (
            sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            for summary in versions["ModelPackageSummaryList"]
        )
        if package.get("ModelPackageDescription") == run.run_id
    )
    # The package carries what serves the model: a model deployed from it loads the script's model_fn.
    environment = registered["InferenceSpecification"]["Containers"][0]["Environment"]
    assert environment == {
        "SAGEMAKER_PROGRAM": "train.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{LOCAL_BUCKET}/{names.s3_prefix}/code/sourcedir.tar.gz",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-east-1",
    }
    assert left_deployed(sagemaker, names) == []
    board = read_json(s3, "leaderboards/mnist-batch-transform/leaderboard.json")
    assert (board["metric"], board["direction"]) == ("accuracy", "maximize")
    row = next(row for row in board["rows"] if row["run_id"] == run.run_id)
    assert row["metrics"]["accuracy"] == metrics["accuracy"]
    assert row["metrics"]["validation:accuracy"] == reported["validation:accuracy"]
    assert row["hyperparameters"] == {"hidden_units": 64, "max_iter": 20, "alpha": 0.0001}

"""Script mode: a scikit-learn entry point written here is trained, served and batch-transformed."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import time

import numpy as np
import pytest

from include.local_sagemaker.algorithms.script_mode import (
    NO_MODEL_FN,
    command_line_arguments,
    decode_hyperparameters,
)
from tests.support.engine import ROLE_ARN, deploy, in_service, wait_for, wait_for_job

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "script-mode"

TRAIN_SCRIPT = textwrap.dedent(
    '''
    """Logistic regression on CSV rows "label,f1,f2" from the train channel."""
    import argparse
    import json
    import os
    import sys

    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression


    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))


    def output_fn(prediction, accept, context):
        # A handler taking the optional trailing context argument.
        assert context.system_properties["model_dir"]
        return json.dumps({"labels": [int(p) for p in prediction]}), "application/json"


    if __name__ == "__main__":
        parser = argparse.ArgumentParser()
        parser.add_argument("-C", type=float, required=True)
        parser.add_argument("--max-iter", type=int, default=100)
        parser.add_argument("--fail", default="")
        arguments = parser.parse_args()
        if arguments.fail:
            print(arguments.fail, file=sys.stderr)
            sys.exit(3)
        assert json.loads(os.environ["SM_HPS"]) == {"C": 0.5, "max-iter": 200}, os.environ["SM_HPS"]
        assert os.environ["SM_HP_C"] == "0.5"
        assert os.environ["SM_USER_ENTRY_POINT"] == "train.py"
        data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "rows.csv"), delimiter=",")
        model = LogisticRegression(C=arguments.C, max_iter=arguments.max_iter).fit(data[:, 1:], data[:, 0])
        print(f"train_accuracy={model.score(data[:, 1:], data[:, 0])}")
        joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
    '''
)


def _rows(seed: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=count)
    features = labels[:, None] * 6.0 - 3.0 + rng.normal(scale=0.5, size=(count, 2))
    return np.column_stack([labels, features])


def _sourcedir(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sources(s3) -> str:
    s3.create_bucket(Bucket=BUCKET)
    rows = _rows(0, 200)
    s3.put_object(
        Bucket=BUCKET, Key="train/rows.csv", Body="\n".join(",".join(map(str, r)) for r in rows).encode()
    )
    s3.put_object(Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=_sourcedir({"train.py": TRAIN_SCRIPT}))
    return f"s3://{BUCKET}/code/sourcedir.tar.gz"


def _job(name: str, image: str, sources: str, **hyperparameters) -> dict:
    # As the SageMaker SDK's framework estimators send them: every value JSON-encoded.
    encoded = {key: json.dumps(value) for key, value in hyperparameters.items()}
    encoded.update(sagemaker_program=json.dumps("train.py"), sagemaker_submit_directory=json.dumps(sources))
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": image,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:accuracy", "Regex": r"train_accuracy=([0-9.]+)"}],
        },
        "RoleArn": ROLE_ARN,
        "HyperParameters": encoded,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def test_train_serve_and_transform_a_user_script(sagemaker, s3, runtime, sources, unique):
    job = unique("sklearn-script")
    sagemaker.create_training_job(**_job(job, SKLEARN_IMAGE, sources, C=0.5, **{"max-iter": 200}))
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert metrics["train:accuracy"] > 0.95

    model = unique("sklearn-model")
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={
            "Image": SKLEARN_IMAGE.replace("1.2-1-cpu-py3", "1.2-1"),
            "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"],
            "Environment": {"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": sources},
        },
        ExecutionRoleArn=ROLE_ARN,
    )
    deploy(sagemaker, model, model)
    in_service(sagemaker, model)
    answer = runtime.invoke_endpoint(EndpointName=model, ContentType="text/csv", Body=b"3.1,2.9\n-3,-3.2\n")
    assert answer["ContentType"] == "application/json"
    assert json.loads(answer["Body"].read()) == {"labels": [1, 0]}
    with pytest.raises(runtime.exceptions.ModelError) as refused:
        runtime.invoke_endpoint(EndpointName=model, ContentType="application/x-parquet", Body=b"PAR1")
    assert refused.value.response["OriginalStatusCode"] == 415
    sagemaker.delete_endpoint(EndpointName=model)

    rows = _rows(1, 30)
    s3.put_object(
        Bucket=BUCKET,
        Key="batch/in/rows.csv",
        Body="\n".join(",".join(map(str, r[1:])) for r in rows).encode(),
    )
    transform = unique("sklearn-transform")
    sagemaker.create_transform_job(
        TransformJobName=transform,
        ModelName=model,
        # Rows go in batches: the image's default input_fn makes a single CSV row one-dimensional, which
        # scikit-learn refuses (see the model package test below).
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=1,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/batch/out", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    finished = wait_for(
        lambda: (
            d
            if (d := sagemaker.describe_transform_job(TransformJobName=transform))["TransformJobStatus"]
            != "InProgress"
            else None
        ),
        timeout=120,
    )
    assert finished["TransformJobStatus"] == "Completed", finished.get("FailureReason")
    lines = s3.get_object(Bucket=BUCKET, Key="batch/out/rows.csv.out")["Body"].read().decode().splitlines()
    predicted = [label for line in lines for label in json.loads(line)["labels"]]
    assert predicted == [int(label) for label in rows[:, 0]]


def _log_lines(logs, job: str) -> list[str]:
    stream = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{job}/"
    )["logStreams"][0]["logStreamName"]
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True
    )["events"]
    return [event["message"] for event in events]


def test_a_failing_script_reports_the_toolkit_error(sagemaker, logs, sources, unique):
    job = unique("sklearn-fails")
    sagemaker.create_training_job(
        **_job(job, SKLEARN_IMAGE, sources, C=1, fail="the data is not what I expected")
    )
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("ExecuteUserScriptError:\nExitCode 3\n")
    # The scikit-learn image's training toolkit runs the script without capturing its stderr, so the
    # message is empty there too; the script's words are in the job's log.
    assert 'ErrorMessage ""' in reason
    assert "train.py -C 1 --fail the data is not what I expected" in reason
    assert any("the data is not what I expected" in line for line in _log_lines(logs, job))


def test_an_xgboost_image_with_an_entry_point_runs_the_script(sagemaker, logs, sources, unique):
    job = unique("xgb-script")
    sagemaker.create_training_job(**_job(job, XGBOOST_IMAGE, sources, C=0.5, **{"max-iter": 200}))
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert any(line.startswith("train_accuracy=") for line in _log_lines(logs, job))


def test_a_missing_entry_point_is_named(sagemaker, sources, unique):
    job = unique("sklearn-noentry")
    request = _job(job, SKLEARN_IMAGE, sources, C=1)
    request["HyperParameters"]["sagemaker_program"] = json.dumps("nope.py")
    sagemaker.create_training_job(**request)
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Failed"
    # The toolkit runs what it is told; Python cannot open the file.
    assert described["FailureReason"].startswith("ExecuteUserScriptError:\nExitCode 2\n")
    assert "nope.py" in described["FailureReason"]


@pytest.fixture(scope="module")
def trained_model(sagemaker, sources) -> str:
    """The ``model.tar.gz`` of the script trained once for the serving tests below."""
    job = f"sklearn-served-{int(time.time() * 1000) % 10**9}"
    sagemaker.create_training_job(**_job(job, SKLEARN_IMAGE, sources, C=0.5, **{"max-iter": 200}))
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    return described["ModelArtifacts"]["S3ModelArtifacts"]


def _serving_environment(sources: str) -> dict[str, str]:
    # As the SageMaker SDK's SKLearnModel sends it (sagemaker/model.py, Model._script_mode_env_vars).
    return {
        "SAGEMAKER_PROGRAM": "train.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": sources,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-east-1",
    }


def _endpoint_outcome(sagemaker, name: str) -> dict:
    return wait_for(
        lambda: (
            d
            if (d := sagemaker.describe_endpoint(EndpointName=name))["EndpointStatus"] != "Creating"
            else None
        ),
        timeout=120,
    )


def test_a_framework_model_serves_only_with_its_entry_point(sagemaker, sources, trained_model, unique):
    served = {}
    for case, environment in (("with", _serving_environment(sources)), ("without", {})):
        model = unique(f"sklearn-{case}-program")
        container = {"Image": SKLEARN_IMAGE, "ModelDataUrl": trained_model, "Environment": environment}
        sagemaker.create_model(ModelName=model, PrimaryContainer=container, ExecutionRoleArn=ROLE_ARN)
        deploy(sagemaker, model, model)
        served[case] = _endpoint_outcome(sagemaker, model)
        sagemaker.delete_endpoint(EndpointName=model)

    assert served["with"]["EndpointStatus"] == "InService", served["with"].get("FailureReason")
    # The scikit-learn image's model server loads the module SAGEMAKER_PROGRAM names and no other: without
    # it there is no model_fn, and the framework's default one refuses, as on SageMaker.
    failed = served["without"]
    assert failed["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in failed["FailureReason"]
    assert NO_MODEL_FN in failed["FailureReason"]


def test_a_transform_of_a_framework_model_without_its_entry_point_fails(
    sagemaker, s3, sources, trained_model, unique
):
    model = unique("sklearn-bare")
    container = {"Image": SKLEARN_IMAGE, "ModelDataUrl": trained_model}
    sagemaker.create_model(ModelName=model, PrimaryContainer=container, ExecutionRoleArn=ROLE_ARN)
    s3.put_object(Bucket=BUCKET, Key="bare/in/rows.csv", Body=b"3.1,2.9\n")
    transform = unique("sklearn-bare-transform")
    sagemaker.create_transform_job(
        TransformJobName=transform,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/bare/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/bare/out"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    finished = wait_for(
        lambda: (
            d
            if (d := sagemaker.describe_transform_job(TransformJobName=transform))["TransformJobStatus"]
            != "InProgress"
            else None
        ),
        timeout=120,
    )
    assert finished["TransformJobStatus"] == "Failed"
    assert NO_MODEL_FN in finished["FailureReason"]


def test_a_model_created_from_a_package_serves_with_the_packages_environment(
    sagemaker, runtime, sources, trained_model, unique
):
    group = unique("sklearn-packages")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    served = {}
    for case, environment in (("with", _serving_environment(sources)), ("without", {})):
        container = {"Image": SKLEARN_IMAGE, "ModelDataUrl": trained_model}
        if environment:
            container["Environment"] = environment
        package = sagemaker.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )["ModelPackageArn"]
        described = sagemaker.describe_model_package(ModelPackageName=package)
        assert described["InferenceSpecification"]["Containers"][0].get("Environment") == (
            environment or None
        )
        model = unique(f"from-package-{case}")
        sagemaker.create_model(
            ModelName=model, PrimaryContainer={"ModelPackageName": package}, ExecutionRoleArn=ROLE_ARN
        )
        assert sagemaker.describe_model(ModelName=model)["PrimaryContainer"] == {"ModelPackageName": package}
        deploy(sagemaker, model, model)
        served[case] = _endpoint_outcome(sagemaker, model)
        if served[case]["EndpointStatus"] == "InService":
            answer = runtime.invoke_endpoint(
                EndpointName=model, ContentType="text/csv", Body=b"3.1,2.9\n-3,-3.2\n"
            )
            assert json.loads(answer["Body"].read()) == {"labels": [1, 0]}
            # The image's default input_fn decodes one CSV row to a one-dimensional array, which
            # scikit-learn's predict refuses: a script serving single rows brings its own input_fn.
            with pytest.raises(runtime.exceptions.ModelError, match="Expected 2D array"):
                runtime.invoke_endpoint(EndpointName=model, ContentType="text/csv", Body=b"3.1,2.9\n")
        sagemaker.delete_endpoint(EndpointName=model)

    assert served["with"]["EndpointStatus"] == "InService", served["with"].get("FailureReason")
    assert served["without"]["EndpointStatus"] == "Failed"
    assert NO_MODEL_FN in served["without"]["FailureReason"]


def test_a_model_from_an_unknown_package_is_refused(sagemaker, unique):
    with pytest.raises(sagemaker.exceptions.ClientError, match="does not exist"):
        sagemaker.create_model(
            ModelName=unique("from-nothing"),
            PrimaryContainer={"ModelPackageName": "no-such-group/1"},
            ExecutionRoleArn=ROLE_ARN,
        )


def test_toolkit_argument_mapping():
    decoded = decode_hyperparameters({"epochs": "10", "lr": "0.1", "name": "plain", "opts": '{"a": 1}'})
    assert decoded == {"epochs": 10, "lr": 0.1, "name": "plain", "opts": {"a": 1}}
    assert command_line_arguments({"lr": 0.1, "b": True, "opts": {"a": 1, "c": "x"}}) == [
        "-b",
        "True",
        "--lr",
        "0.1",
        "--opts",
        "a=1,c=x",
    ]

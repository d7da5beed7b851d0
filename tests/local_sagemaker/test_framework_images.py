"""Framework images run in their own environments, through AWS's toolkits, as on SageMaker: a script sees
its image's framework release, a source directory's requirements.txt is installed for its job only, the
MXNet serving image serves a Module with its default handlers, and finds its code only in model.tar.gz."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from include.local_sagemaker import container
from include.local_sagemaker.frameworks import environments
from include.mnist import load_mnist
from include.mnist.writers import write_split
from include.sagemaker_requests.image_uris import image_uri
from include.training_scripts import MNIST_MXNET, MNIST_MXNET_ENTRY_POINT
from tests.support.engine import ROLE_ARN, deploy, wait_for, wait_for_job

BUCKET = "framework-images"
SKLEARN = image_uri("sklearn", "us-east-1", "1.2-1")
MXNET_TRAINING = image_uri("mxnet", "us-east-1", "1.6.0")
MXNET_INFERENCE = image_uri("mxnet", "us-east-1", "1.6.0", scope="inference")

VERSION_SCRIPT = textwrap.dedent(
    """
    import importlib, sys
    framework = sys.argv[sys.argv.index("--framework") + 1]
    print(f"framework-version={importlib.import_module(framework).__version__}")
    print(f"python={sys.executable}")
    """
)
REQUIREMENTS_SCRIPT = textwrap.dedent(
    """
    import localdep
    print(f"localdep-value={localdep.VALUE}")
    """
)


def _archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _wheel(name: str, version: str, module: str) -> tuple[str, bytes]:
    """A pure-Python wheel of one module, so that pip installs it with no package index."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": module.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


def _log_lines(logs, group: str, prefix: str) -> list[str]:
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)["logStreams"]
    return [
        event["message"]
        for stream in streams
        for event in logs.get_log_events(
            logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
    ]


def _script_job(
    name: str, image: str, sources: str, program: str, hyperparameters: dict, channels=()
) -> dict:
    encoded = {key: json.dumps(value) for key, value in hyperparameters.items()}
    encoded.update(sagemaker_program=json.dumps(program), sagemaker_submit_directory=json.dumps(sources))
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": encoded,
        **(
            {
                "InputDataConfig": [
                    {
                        "ChannelName": channel,
                        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                    }
                    for channel, uri in channels
                ]
            }
            if channels
            else {}
        ),
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


@pytest.fixture(scope="module")
def bucket(s3) -> str:
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.mark.slow
@pytest.mark.parametrize(
    ("image", "framework", "release"),
    [(SKLEARN, "sklearn", "1.2."), (MXNET_TRAINING, "mxnet", "1.6.0")],
)
def test_a_script_sees_its_images_framework_release(
    sagemaker, s3, logs, bucket, unique, image, framework, release
):
    key = f"code/{framework}-version/sourcedir.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=_archive({"version.py": VERSION_SCRIPT.encode()}))
    job = unique(f"{framework}-version")
    sagemaker.create_training_job(
        **_script_job(job, image, f"s3://{bucket}/{key}", "version.py", {"framework": framework})
    )
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    lines = _log_lines(logs, "/aws/sagemaker/TrainingJobs", f"{job}/")
    versions = [line.split("=", 1)[1] for line in lines if line.startswith("framework-version=")]
    assert versions, lines[-30:]
    assert versions[0].startswith(release)
    # The script's interpreter is the job's own overlay, never the engine's.
    interpreters = [line.split("=", 1)[1] for line in lines if line.startswith("python=")]
    assert interpreters
    assert "/.venv/" not in interpreters[0]


@pytest.mark.slow
def test_a_requirements_txt_is_installed_for_its_job_only(sagemaker, s3, logs, bucket, unique):
    wheel_name, wheel = _wheel("localdep", "1.0", "VALUE = 42\n")
    files = {
        "uses_dep.py": REQUIREMENTS_SCRIPT.encode(),
        wheel_name: wheel,
        # No index: the wheel beside it is all pip needs, so the job runs offline.
        "requirements.txt": f"--no-index\n./{wheel_name}\n".encode(),
    }
    key = "code/requirements/sourcedir.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=_archive(files))
    job = unique("requirements")
    sagemaker.create_training_job(**_script_job(job, SKLEARN, f"s3://{bucket}/{key}", "uses_dep.py", {}))
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert "localdep-value=42" in _log_lines(logs, "/aws/sagemaker/TrainingJobs", f"{job}/")
    # The shared environment is untouched: the next job of the image starts without it.
    site_packages = next((environments.built("sklearn-1.2") / "lib").glob("python3*/site-packages"))
    assert not list(site_packages.glob("localdep*"))


@pytest.fixture(scope="module")
def mxnet_model(sagemaker, s3, bucket, tmp_path_factory) -> dict:
    """The seed's MXNet Module script trained for four epochs on the offline sample."""
    dataset = load_mnist("sample")
    directory = tmp_path_factory.mktemp("mxnet-channels")
    for split, channel in ((dataset.train, "train"), (dataset.test, "test")):
        for path in write_split("idx", split, directory / channel, split_name=channel):
            s3.upload_file(str(path), bucket, f"mnist/{channel}/{path.name}")
    source = (MNIST_MXNET / MNIST_MXNET_ENTRY_POINT).read_bytes()
    s3.put_object(Bucket=bucket, Key="code/mxnet/sourcedir.tar.gz", Body=_archive({"mnist.py": source}))
    job = "mxnet-module-seed"
    sagemaker.create_training_job(
        **_script_job(
            job,
            MXNET_TRAINING,
            f"s3://{bucket}/code/mxnet/sourcedir.tar.gz",
            MNIST_MXNET_ENTRY_POINT,
            {"epochs": 4, "learning-rate": 0.1},
            channels=[(c, f"s3://{bucket}/mnist/{c}/") for c in ("train", "test")],
        )
    )
    described = wait_for_job(sagemaker, job, timeout=300)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    artifact = described["ModelArtifacts"]["S3ModelArtifacts"]
    bucket_name, key = artifact[len("s3://") :].split("/", 1)
    trained = s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(trained)) as archive:
        files = {member.name: archive.extractfile(member).read() for member in archive if member.isfile()}
    # What the SDK's MXNetModel does for MXNet 1.4 and later: the code goes into model.tar.gz.
    repacked = _archive({**files, f"code/{MNIST_MXNET_ENTRY_POINT}": source})
    s3.put_object(Bucket=bucket, Key="repacked/model.tar.gz", Body=repacked)
    return {"artifact": artifact, "repacked": f"s3://{bucket}/repacked/model.tar.gz", "files": sorted(files)}


@pytest.mark.slow
def test_the_mxnet_image_serves_a_module_with_its_default_handlers(sagemaker, runtime, mxnet_model, unique):
    assert mxnet_model["files"] == ["model-0000.params", "model-shapes.json", "model-symbol.json"]
    model = unique("mxnet-default-handlers")
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={
            "Image": MXNET_INFERENCE,
            "ModelDataUrl": mxnet_model["repacked"],
            "Environment": {
                "SAGEMAKER_PROGRAM": MNIST_MXNET_ENTRY_POINT,
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            },
        },
        ExecutionRoleArn=ROLE_ARN,
    )
    deploy(sagemaker, model, model)
    wait_for(lambda: sagemaker.describe_endpoint(EndpointName=model)["EndpointStatus"] != "Creating", 120)
    described = sagemaker.describe_endpoint(EndpointName=model)
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    test = load_mnist("sample").test
    right = 0
    for image, label in zip(test.images[:20], test.labels[:20], strict=True):
        answer = runtime.invoke_endpoint(
            EndpointName=model, ContentType="text/csv", Body=",".join(f"{v:.6f}" for v in image).encode()
        )
        assert answer["ContentType"] == "application/json"
        (probabilities,) = json.loads(answer["Body"].read())
        assert len(probabilities) == 10
        right += int(np.argmax(probabilities) == label)
    assert right >= 14
    sagemaker.delete_endpoint(EndpointName=model)


@pytest.mark.slow
def test_the_mxnet_image_does_not_fetch_a_source_directory(sagemaker, s3, bucket, mxnet_model, unique):
    # Its server finds code only in model.tar.gz (which is why the SDK repacks): a model that names its
    # code by an S3 archive fails to load, as it does on SageMaker.
    model = unique("mxnet-s3-code")
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={
            "Image": MXNET_INFERENCE,
            "ModelDataUrl": mxnet_model["artifact"],
            "Environment": {
                "SAGEMAKER_PROGRAM": MNIST_MXNET_ENTRY_POINT,
                "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{bucket}/code/mxnet/sourcedir.tar.gz",
            },
        },
        ExecutionRoleArn=ROLE_ARN,
    )
    deploy(sagemaker, model, model)
    wait_for(lambda: sagemaker.describe_endpoint(EndpointName=model)["EndpointStatus"] != "Creating", 120)
    described = sagemaker.describe_endpoint(EndpointName=model)
    assert described["EndpointStatus"] == "Failed"
    assert "No module named 'mnist'" in described["FailureReason"]
    sagemaker.delete_endpoint(EndpointName=model)


@pytest.mark.slow
def test_an_unsupported_framework_version_names_the_supported_ones(sagemaker, s3, bucket, unique):
    s3.put_object(Bucket=bucket, Key="code/old/sourcedir.tar.gz", Body=_archive({"v.py": b"print(1)\n"}))
    job = unique("mxnet-old")
    old_image = MXNET_TRAINING.replace(":1.6.0-", ":1.4.1-")
    sagemaker.create_training_job(
        **_script_job(job, old_image, f"s3://{bucket}/code/old/sourcedir.tar.gz", "v.py", {})
    )
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Failed"
    assert "version '1.4.1'" in described["FailureReason"]
    assert "supported mxnet versions: 1.6.0, 1.9.0" in described["FailureReason"]


def test_an_environment_not_built_names_the_command_that_builds_it(tmp_path, monkeypatch):
    monkeypatch.setenv(environments.FRAMEWORKS_DIR_VARIABLE, str(tmp_path / "none-built"))
    base = tmp_path / "opt" / "ml"
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text("{}")
    assert container.train(base, MXNET_TRAINING, "unbuilt") == 1
    reason = (base / "output" / "failure").read_text()
    assert reason.startswith("ClientError: The framework environment 'mxnet-1.6' is not built")
    assert "python -m include.local_sagemaker.frameworks build mxnet-1.6" in reason


def test_building_an_environment_again_does_nothing(monkeypatch):
    built = environments.built("sklearn-1.2")
    monkeypatch.setattr(environments.subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a}"))
    assert environments.build("sklearn-1.2") == built


def test_a_changed_lock_file_is_a_new_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(environments, "LOCKS", tmp_path)
    (tmp_path / "demo.txt").write_text("numpy==1.26.4\n")
    first = environments.environment_dir("demo")
    (tmp_path / "demo.txt").write_text("numpy==1.26.3\n")
    assert environments.environment_dir("demo") != first
    assert first.name.startswith("demo-")
    with pytest.raises(ValueError, match="Unknown framework environment 'nope'; known: demo"):
        environments.environment_dir("nope")


def test_overlays_see_the_environment_behind_their_own_packages(tmp_path: Path):
    python = environments.overlay("sklearn-1.2", tmp_path / "overlay")
    import subprocess

    shown = subprocess.run(
        [str(python), "-c", "import sys, sklearn; print(sys.prefix); print(sklearn.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown[0] == str(tmp_path / "overlay")
    assert shown[1].startswith("1.2.")

"""The script-mode seed runs as written with the SageMaker Python SDK v2: estimator → fit → transformer →
transform → the ``.out`` objects read back with ``literal_eval``, in each framework's own environment.

``sdk_v2_seed_workflow.py`` runs in the SDK's virtualenv (``make sdk``) against an engine started as its own
process. The seed's sample data bucket, ``sagemaker-sample-data-us-east-1``, is filled with the offline
MNIST sample laid out as the public one is: the gzip IDX pairs under ``mxnet/mnist/{train,test}`` and one
CSV file per test digit under ``batch-transform/mnist-1000-samples``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from include.mnist import load_mnist
from include.mnist.writers import write_dataset
from include.training_scripts import MNIST_MXNET, MNIST_PYTORCH, MNIST_SKLEARN
from tests.support.engine import REPO, ROLE_ARN, engine_clients, sdk_environment, start_engine_process

pytestmark = pytest.mark.slow

SDK_PYTHON = REPO / ".cache" / "sagemaker-sdk" / "bin" / "python"
WORKFLOW = REPO / "tests" / "local_sagemaker" / "sdk_v2_seed_workflow.py"
SAMPLE_BUCKET = "sagemaker-sample-data-us-east-1"
SOURCE_DIRS = {"mxnet": MNIST_MXNET, "pytorch": MNIST_PYTORCH, "sklearn": MNIST_SKLEARN}
IMAGES = {
    "mxnet": "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-training:1.6.0-cpu-py3",
    "pytorch": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-cpu-py312",
    "sklearn": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
}


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory):
    process, url = start_engine_process(tmp_path_factory.mktemp("sdk-v2-seed-engine"))
    yield url
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.fixture(scope="module")
def test_labels(engine_url, tmp_path_factory) -> list[int]:
    """Put the sample data where the seed reads it; returns the test digits' labels in file order."""
    dataset = load_mnist("sample")
    directory = tmp_path_factory.mktemp("seed-data")
    written = write_dataset(dataset, directory, ["idx", "csv-digits"], splits=["train", "test"])
    s3, _, _, _ = engine_clients(engine_url)
    s3.create_bucket(Bucket=SAMPLE_BUCKET)
    prefixes = {
        ("idx", "train"): "mxnet/mnist/train",
        ("idx", "test"): "mxnet/mnist/test",
        ("csv-digits", "test"): "batch-transform/mnist-1000-samples",
    }
    for split in written:
        prefix = prefixes.get((split.format, split.split))
        for path in split.paths if prefix else ():
            s3.upload_file(str(path), SAMPLE_BUCKET, f"{prefix}/{path.name}")
    return [int(label) for label in dataset.test.labels]


@pytest.mark.parametrize("framework", ["mxnet", "pytorch", "sklearn"])
def test_the_seed_trains_transforms_and_reads_back(engine_url, test_labels, tmp_path, framework):
    if not SDK_PYTHON.exists():
        message = f"the SDK's virtualenv {SDK_PYTHON.parent.parent} is not built: run `make sdk`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result_file = tmp_path / "result.json"
    finished = subprocess.run(
        [str(SDK_PYTHON), str(WORKFLOW), framework, ROLE_ARN, str(result_file)],
        cwd=SOURCE_DIRS[framework],
        env={
            **sdk_environment(engine_url, tmp_path, default_bucket="sagemaker-us-east-1-123456789012"),
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = (finished.stdout + finished.stderr)[-8000:]
    assert finished.returncode == 0, output
    result = json.loads(result_file.read_text())
    print(f"{framework}: {result['seconds']}")
    assert result["training_image"] == IMAGES[framework]

    # The notebook's own read-back: the first ten digits...
    right = sum(p == label for p, label in zip(result["first_ten"], test_labels[:10], strict=True))
    assert right >= 8, (result["first_ten"], test_labels[:10])
    # ...and every digit of the transform, each data-<i>.csv.out answering for digit i.
    predictions = result["all"]
    assert sorted(predictions) == sorted(f"data-{i}.csv.out" for i in range(len(test_labels)))
    accuracy = sum(predictions[f"data-{i}.csv.out"] == label for i, label in enumerate(test_labels)) / len(
        test_labels
    )
    assert accuracy >= 0.85, accuracy

    _, sagemaker, _, _ = engine_clients(engine_url)
    job = sagemaker.describe_training_job(TrainingJobName=result["job"])
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGES[framework]
    assert job["TrainingJobStatus"] == "Completed"

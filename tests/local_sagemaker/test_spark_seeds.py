"""The SageMaker Spark seeds run as written with ``sagemaker_pyspark`` against the engine: XGBoost fit →
transform → cleanup (seed 000), and the PCA → k-means pipeline fit → transform → cleanup (seed 001).

``spark_seed_workflow.py`` runs each notebook's cells in the SageMaker Spark virtualenv (``make spark``
builds ``.cache/sagemaker-spark`` from ``requirements-spark.txt``), on the machine's Java, against an engine
started as its own process; only the Java clients and Hadoop's s3a are pointed at the engine and the role
given (and seed 001's name prefixes keep the Java 8 timestamp they were written for: see the workflow). The
seeds' bucket, ``sagemaker-sample-data-us-east-1``, holds the offline MNIST sample in libsvm under
``spark/mnist/{train,test}/`` as the public bucket holds MNIST.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from include.mnist import load_mnist
from include.mnist.writers import write_dataset
from tests.support.engine import REPO, ROLE_ARN, engine_clients, sdk_environment, start_engine_process

# A seed trains and serves on the engine (the pipeline twice over) with Spark's JVM beside it: 1.5 to 4
# minutes on a busy machine with two cores, and a busier one can pass the suite's ten-minute limit per test.
WORKFLOW_TIMEOUT = 1200
pytestmark = [pytest.mark.slow, pytest.mark.timeout(WORKFLOW_TIMEOUT + 300)]

SPARK_PYTHON = REPO / ".cache" / "sagemaker-spark" / "bin" / "python"
WORKFLOW = Path(__file__).resolve().parent / "spark_seed_workflow.py"
SAMPLE_BUCKET = "sagemaker-sample-data-us-east-1"
XGBOOST_LEGACY_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"


@pytest.fixture(scope="module")
def spark_environment() -> None:
    """Skip (fail under CI) before an engine starts where the virtualenv or Java is missing."""
    if not SPARK_PYTHON.exists():
        message = f"the SageMaker Spark virtualenv {SPARK_PYTHON.parent.parent} is not built: `make spark`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        pytest.fail("Spark needs a Java runtime (java on PATH or JAVA_HOME): openjdk-17-jre-headless")


@pytest.fixture(scope="module")
def engine_url(spark_environment, tmp_path_factory):
    process, url = start_engine_process(tmp_path_factory.mktemp("spark-engine"))
    yield url
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.fixture(scope="module")
def sample_data(engine_url, tmp_path_factory) -> None:
    """The offline sample in libsvm where the seeds read MNIST."""
    written = write_dataset(
        load_mnist("sample"), tmp_path_factory.mktemp("spark-data"), ["libsvm"], splits=["train", "test"]
    )
    s3, _, _, _ = engine_clients(engine_url)
    s3.create_bucket(Bucket=SAMPLE_BUCKET)
    for split in written:
        for path in split.paths:
            s3.upload_file(str(path), SAMPLE_BUCKET, f"spark/mnist/{split.split}/{path.name}")


def run_seed(seed: str, engine_url: str, tmp_path: Path) -> dict:
    """Run one seed's cells; returns what the workflow recorded, failing with its output's tail."""
    result_file = tmp_path / "result.json"
    finished = subprocess.run(
        [str(SPARK_PYTHON), str(WORKFLOW), seed, ROLE_ARN, engine_url, str(result_file)],
        cwd=tmp_path,
        # The AWS Java SDK reads the region from AWS_REGION (boto3, in the notebooks, AWS_DEFAULT_REGION).
        env={**sdk_environment(engine_url, tmp_path), "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=WORKFLOW_TIMEOUT,
    )
    # Java stack frames would push the cause out of the tail the assertion shows.
    lines = (finished.stdout + finished.stderr).splitlines()
    output = "\n".join(line for line in lines if "\tat " not in line)[-8000:]
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    assert finished.returncode == 0, output
    assert result.get("cleanup"), output
    return result


def assert_nothing_left(engine_url: str) -> None:
    _, sagemaker, _, _ = engine_clients(engine_url)
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []


def completed_jobs(engine_url: str) -> dict[str, dict]:
    _, sagemaker, _, _ = engine_clients(engine_url)
    return {
        job["TrainingJobName"]: sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])
        for job in sagemaker.list_training_jobs()["TrainingJobSummaries"]
        if job["TrainingJobStatus"] == "Completed"
    }


def test_xgboost_seed_fits_transforms_and_cleans_up(engine_url, sample_data, tmp_path):
    jobs_before = set(completed_jobs(engine_url))
    result = run_seed("xgboost", engine_url, tmp_path)

    (job,) = [job for name, job in completed_jobs(engine_url).items() if name not in jobs_before]
    # The estimator's own request: the legacy image, its hyperparameters (silent included), and libsvm
    # written to S3 with no content type, the algorithm's default.
    assert job["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_LEGACY_IMAGE
    assert job["HyperParameters"] == {
        "eta": "0.2",
        "gamma": "4.0",
        "min_child_weight": "6.0",
        "silent": "0",
        "objective": "multi:softmax",
        "num_class": "10",
        "num_round": "10",
    }
    (channel,) = job["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert "ContentType" not in channel

    transform = result["transform"]
    labels, predictions = transform["labels"], transform["predictions"]
    assert len(labels) == len(predictions) == 500
    assert set(predictions) <= {float(digit) for digit in range(10)}
    accuracy = sum(p == label for p, label in zip(predictions, labels, strict=True)) / len(labels)
    assert accuracy >= 0.8, accuracy
    assert_nothing_left(engine_url)


def test_pca_kmeans_pipeline_fits_transforms_and_cleans_up(engine_url, sample_data, tmp_path):
    jobs_before = set(completed_jobs(engine_url))
    result = run_seed("pca_kmeans", engine_url, tmp_path)

    jobs = {
        job["AlgorithmSpecification"]["TrainingImage"].rsplit("/", 1)[1]: job
        for name, job in completed_jobs(engine_url).items()
        if name not in jobs_before
    }
    assert sorted(jobs) == ["kmeans:1", "pca:1"]
    assert jobs["pca:1"]["TrainingJobName"].startswith("sparksm-3p-trainingJob-")
    assert jobs["pca:1"]["HyperParameters"]["num_components"] == "50"
    assert jobs["pca:1"]["HyperParameters"]["feature_dim"] == "784"
    # k-means trained on the PCA endpoint's projections of the training set.
    assert jobs["kmeans:1"]["TrainingJobName"].startswith("sparksm-3k-trainingJob-")
    assert jobs["kmeans:1"]["HyperParameters"]["k"] == "10"
    assert jobs["kmeans:1"]["HyperParameters"]["feature_dim"] == "50"

    transform = result["transform"]
    labels, clusters = transform["labels"], transform["clusters"]
    assert len(labels) == len(clusters) == 500
    assert transform["projection_sizes"] == [50]
    assert set(clusters) <= {float(cluster) for cluster in range(10)}
    assert all(distance >= 0 for distance in transform["distances"])
    # Clusters that mean something: labelled by their commonest digit, they are right for most digits.
    by_cluster: dict[float, list[float]] = {}
    for cluster, label in zip(clusters, labels, strict=True):
        by_cluster.setdefault(cluster, []).append(label)
    purity = sum(max(members.count(d) for d in set(members)) for members in by_cluster.values()) / len(labels)
    assert len(by_cluster) >= 8, sorted(by_cluster)
    assert purity >= 0.45, purity
    assert_nothing_left(engine_url)

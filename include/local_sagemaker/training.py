"""Training jobs: each host of a job runs as a subprocess with SageMaker's container contract.

A job with ``InstanceCount = N`` has N hosts, ``algo-1`` … ``algo-N``. For each the runner prepares
``<work>/<job>/<host>/opt/ml`` (config files with the host's ``resourceconfig.json``, the host's share of
the channels copied from S3: every object for ``FullyReplicated``, every N-th for ``ShardedByS3Key``),
starts ``python -m include.local_sagemaker.container train`` in a process group of its own with the host's
``SM_*`` environment, streams its output line by line into its own CloudWatch Logs stream
(``<job>/<host>-<epoch>``), and extracts the algorithms' metrics from those lines. The hosts share one
job-local directory (``<work>/<job>/exchange``, :mod:`~include.local_sagemaker.algorithms.host_exchange`),
the local stand-in for the cluster's network, through which the built-in algorithms combine their work.

The job fails as soon as any host fails (its ``output/failure`` is the ``FailureReason``) and the other
hosts are stopped; ``StopTrainingJob`` and ``MaxRuntimeInSeconds`` stop every host. On success the
``model/`` directories of all hosts are aggregated into one ``<S3OutputPath>/<job>/output/model.tar.gz``,
as SageMaker does ("If multiple containers in a single training job write to this directory they should
ensure no file/directory names clash", https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html);
on a clash the lowest-numbered host's file is kept. No process of a job outlives its container or the
engine (``process_tree``).
Every status change is persisted before it becomes visible, and the last
``SecondaryStatusTransitions`` message always changes at the end, which the Airflow provider's log
tailing relies on to notice that a job finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from include.local_sagemaker import forkserver
from include.local_sagemaker.algorithms import registry
from include.local_sagemaker.algorithms.host_exchange import EXCHANGE_VARIABLE
from include.local_sagemaker.channel_feeds import input_mode, stage_channel
from include.local_sagemaker.channels import ChannelError
from include.local_sagemaker.container import IMAGE_VARIABLE, training_algorithm
from include.local_sagemaker.failures import JobFailure
from include.local_sagemaker.fastfile import unmount_stale
from include.local_sagemaker.job_runner import JobRunner
from include.local_sagemaker.job_threads import RunningJob
from include.local_sagemaker.logs import TRAINING_LOG_GROUP, LogStore
from include.local_sagemaker.names import REGION, split_s3_uri
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.paths import extract_archive
from include.local_sagemaker.process_tree import kill_process_group
from include.local_sagemaker.state import ResourceStore

# How long a stopped container gets between SIGTERM and SIGKILL (SageMaker allows 120 s; locally
# nothing needs that long to save state).
STOP_GRACE_SECONDS = 10.0
EXCHANGE_DIRECTORY = "exchange"
# The thread-pool sizes OpenMP (scikit-learn, XGBoost) and the BLAS libraries numpy links read at start-up.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def host_names(job: dict) -> list[str]:
    """``algo-1`` … ``algo-N`` for a job of ``InstanceCount`` N, SageMaker's names for its containers."""
    return [f"algo-{index}" for index in range(1, job["ResourceConfig"].get("InstanceCount", 1) + 1)]


@dataclass
class _Host:
    """One container of a job: its name, its ``/opt/ml`` tree, log stream and process."""

    name: str
    base_dir: Path
    stream: str = ""
    process: forkserver.ForkedProcess | None = None
    reader: threading.Thread | None = None
    metrics: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the engine's lines for the log, before the container's


def _env_value(value) -> str:
    # The training toolkit's mapping: strings verbatim, everything else as compact sorted JSON.
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _decoded(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def container_environment(job: dict, base_dir: Path, host: str = "algo-1") -> dict[str, str]:
    """The ``SM_*`` and platform variables the training container of ``host`` sees."""
    hyperparameters = {name: _decoded(value) for name, value in (job.get("HyperParameters") or {}).items()}
    channels = sorted(channel["ChannelName"] for channel in job.get("InputDataConfig", []))
    resources = _resource_config(job, host)
    variables = {
        "hosts": resources["hosts"],
        "current_host": host,
        "current_instance_type": resources["current_instance_type"],
        "network_interface_name": "eth0",
        "hps": hyperparameters,
        "resource_config": resources,
        "input_data_config": _input_data_config(job),
        "channels": channels,
        "model_dir": str(base_dir / "model"),
        "input_dir": str(base_dir / "input"),
        "input_config_dir": str(base_dir / "input" / "config"),
        "output_dir": str(base_dir / "output"),
        "output_data_dir": str(base_dir / "output" / "data"),
        "output_intermediate_dir": str(base_dir / "output" / "intermediate"),
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "num_neurons": 0,
        "log_level": 20,
        "user_args": [],
    }
    environment = {f"SM_{name.upper()}": _env_value(value) for name, value in variables.items()}
    environment["SM_TRAINING_ENV"] = _env_value(variables)
    # The channel's path whatever its input mode, as the training toolkit's ``channel_path`` gives it
    # (sagemaker-training-toolkit, environment.py): a Pipe-mode script opens ``<path>_0``, ``<path>_1``, …
    environment.update(
        {f"SM_CHANNEL_{name.upper()}": str(base_dir / "input" / "data" / name) for name in channels}
    )
    environment.update(
        {f"SM_HP_{name.upper()}": _env_value(value) for name, value in hyperparameters.items()}
    )
    environment.update(
        SAGEMAKER_BASE_DIR=str(base_dir),
        TRAINING_JOB_NAME=job["TrainingJobName"],
        TRAINING_JOB_ARN=job["TrainingJobArn"],
        SAGEMAKER_JOB_NAME=job["TrainingJobName"],
        SAGEMAKER_REGION=REGION,
        CURRENT_HOST=host,
        PYTHONUNBUFFERED="1",
    )
    return environment


def thread_budget(hosts: int) -> dict[str, str]:
    """Thread-pool sizes for each of ``hosts`` containers sharing this machine: an equal share of its cores.

    Each instance of a real job has cores of its own; here the hosts share one machine, and each
    container's libraries would size their pools to all of its cores, so two hosts on two cores ran four
    busy threads and a two-instance k-means job was no faster than one. A variable the engine itself was
    started with is left as it is.
    """
    threads = str(max(1, len(os.sched_getaffinity(0)) // hosts))
    return {name: threads for name in THREAD_VARIABLES if name not in os.environ}


def _resource_config(job: dict, host: str) -> dict:
    """``resourceconfig.json`` of ``host``: the job's hosts, one homogeneous instance group."""
    instance_type = job["ResourceConfig"].get("InstanceType", "ml.m5.large")
    hosts = host_names(job)
    return {
        "current_host": host,
        "hosts": hosts,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": "eth0",
    }


def _input_data_config(job: dict) -> dict:
    config = {}
    for channel in job.get("InputDataConfig", []):
        source = channel["DataSource"]["S3DataSource"]
        mode = input_mode(job, channel)
        entry = {
            # A FastFile channel reads as File ("TrainingInputMode parameter written to inputdataconfig.json:
            # File", https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html).
            "TrainingInputMode": "File" if mode == "FastFile" else mode,
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def _tar_directories(directories: list[Path], archive_path: Path) -> tuple[Path, list[str]]:
    """One archive of the union of ``directories``; a name two of them hold is taken from the first.
    Returns the archive and the names left out."""
    added: set[str] = set()
    clashes: list[str] = []
    with tarfile.open(archive_path, mode="w:gz", compresslevel=6) as archive:
        for directory in directories:
            for path in sorted(directory.rglob("*")):
                name = str(path.relative_to(directory))
                if name in added:
                    if not path.is_dir():
                        clashes.append(name)
                    continue
                added.add(name)
                archive.add(path, arcname=name, recursive=False)
    return archive_path, clashes


# The secondary status and its message that end a job of each final status, unless told otherwise.
_ENDINGS = {
    "Failed": ("Failed", "Training job failed"),
    "Stopped": ("Stopped", "Training job stopped"),
    "Completed": ("Completed", "Training job completed"),
}


class TrainingRunner(JobRunner):
    """Runs training jobs described by documents in ``jobs``, one thread and subprocess per job."""

    kind = "training"
    status_field = "TrainingJobStatus"
    name_field = "TrainingJobName"
    restart_reason = (
        "InternalServerError: The local SageMaker engine was restarted while this job was "
        "in progress, so the job was lost. Start it again under a new name."
    )

    def __init__(self, jobs: ResourceStore, s3: ObjectStore, logs: LogStore, work_root: Path):
        super().__init__(jobs)
        self.s3 = s3
        self.logs = logs
        self.work_root = work_root
        self._feeds: dict[str, list] = {}  # each job's Pipe feeds and FastFile mounts

    def recover(self) -> None:
        # FastFile mounts an engine that died may have left would stand in the way of removing job dirs.
        unmount_stale(self.work_root)
        super().recover()

    # -- status bookkeeping -------------------------------------------------------------------
    def _transition(self, name: str, secondary: str, message: str, **fields) -> dict:
        with self.jobs.lock:
            job = self.jobs.get(name)
            now = time.time()
            transitions = job.setdefault("SecondaryStatusTransitions", [])
            if transitions and "EndTime" not in transitions[-1]:
                transitions[-1]["EndTime"] = now
            transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
            job.update(SecondaryStatus=secondary, LastModifiedTime=now, **fields)
            self.jobs.put(name, job)
            return job

    def _finish(
        self, name: str, status: str, secondary: str | None = None, message: str | None = None, **fields
    ) -> None:
        default_secondary, default_message = _ENDINGS[status]
        secondary, message = secondary or default_secondary, message or default_message
        now = time.time()
        job = self.jobs.get(name)
        started = job.get("TrainingStartTime", now)
        count = job["ResourceConfig"].get("InstanceCount", 1)
        self._transition(
            name,
            secondary,
            message,
            TrainingJobStatus=status,
            TrainingStartTime=started,
            TrainingEndTime=now,
            TrainingTimeInSeconds=int(now - started),
            BillableTimeInSeconds=max(1, int(now - started)) * count,
            **fields,
        )
        transitions = self.jobs.get(name)["SecondaryStatusTransitions"]
        transitions[-1]["EndTime"] = transitions[-1]["StartTime"]
        self.jobs.update(name, SecondaryStatusTransitions=transitions)

    # -- one job ------------------------------------------------------------------------------
    def _clean_up(self, name: str) -> None:
        for feed in self._feeds.pop(name, []):
            feed.stop()
        for input_data in (self.work_root / name).glob("algo-*/opt/ml/input/data"):
            shutil.rmtree(input_data, ignore_errors=True)
        shutil.rmtree(self.work_root / name / EXCHANGE_DIRECTORY, ignore_errors=True)

    def _execute(self, name: str, running: RunningJob) -> None:
        job = self._transition(name, "Starting", "Preparing the instances for training")
        try:
            algorithm = training_algorithm(
                job["AlgorithmSpecification"]["TrainingImage"], job.get("HyperParameters") or {}
            )
        except (registry.UnknownImage, ImportError) as error:
            raise JobFailure(f"ClientError: {error}") from error
        if self._stopped(name, running):
            return

        self._transition(name, "Downloading", "Downloading input data")
        job_dir = self.work_root / name
        shutil.rmtree(job_dir, ignore_errors=True)
        hosts = [_Host(host, job_dir / host / "opt" / "ml") for host in host_names(job)]
        for index, host in enumerate(hosts):
            self._prepare(job, host, index, len(hosts))
            if self._stopped(name, running):
                return
        (job_dir / EXCHANGE_DIRECTORY).mkdir()

        started = time.time()
        self._transition(
            name,
            "Training",
            "Training image download completed. Training in progress.",
            TrainingStartTime=started,
        )
        for host in hosts:
            host.stream = f"{name}/{host.name}-{int(started)}"
        definitions = list(algorithm.metric_definitions) + list(
            job["AlgorithmSpecification"].get("MetricDefinitions") or []
        )
        outcome, failed = self._train(job, hosts, job_dir / EXCHANGE_DIRECTORY, definitions, running)
        metrics: dict[str, tuple[float, float]] = {}
        for host in reversed(hosts):  # a metric every host reports is algo-1's
            metrics.update(host.metrics)
        metric_list = [
            {"MetricName": metric, "Value": value, "Timestamp": stamp}
            for metric, (value, stamp) in metrics.items()
        ]

        if outcome == "failed":
            failure = failed.base_dir / "output" / "failure"
            reason = failure.read_text() if failure.exists() else ""
            raise JobFailure(
                reason.strip()
                or f"AlgorithmError: the training container of {failed.name} exited with code "
                f"{failed.process.returncode} and wrote no output/failure; see the job's CloudWatch log "
                f"stream {failed.stream}"
            )
        if outcome == "stopped":
            self._raise_if_engine_stopping()
            artifacts = self._upload_artifacts(job, hosts, required=False)
            self._finish(name, "Stopped", FinalMetricDataList=metric_list, **artifacts)
            return
        if outcome == "max_runtime":
            artifacts = self._upload_artifacts(job, hosts, required=False)
            self._finish(
                name,
                "Stopped",
                "MaxRuntimeExceeded",
                "Training job stopped because it exceeded StoppingCondition.MaxRuntimeInSeconds "
                f"({job['StoppingCondition']['MaxRuntimeInSeconds']} s)",
                FinalMetricDataList=metric_list,
                **artifacts,
            )
            return
        self._transition(name, "Uploading", "Uploading generated training model")
        artifacts = self._upload_artifacts(job, hosts, required=True)
        self._finish(name, "Completed", FinalMetricDataList=metric_list, **artifacts)

    def _prepare(self, job: dict, host: _Host, host_index: int, host_count: int) -> None:
        base_dir = host.base_dir
        config_dir = base_dir / "input" / "config"
        config_dir.mkdir(parents=True)
        for directory in ("model", "output/data", "output/intermediate"):
            (base_dir / directory).mkdir(parents=True)
        (config_dir / "hyperparameters.json").write_text(json.dumps(job.get("HyperParameters") or {}))
        (config_dir / "inputdataconfig.json").write_text(json.dumps(_input_data_config(job)))
        (config_dir / "resourceconfig.json").write_text(json.dumps(_resource_config(job, host.name)))
        for channel in job.get("InputDataConfig", []):
            try:
                data_dir = base_dir / "input" / "data"
                feed = stage_channel(
                    self.s3, job, channel, data_dir, host_index, host_count, host.notes.append
                )
            except ChannelError as error:
                raise JobFailure(str(error)) from error
            if feed is not None:
                self._feeds.setdefault(job["TrainingJobName"], []).append(feed)
        self._stage_source_directory(job, base_dir / "code")

    def _stage_source_directory(self, job: dict, code_dir: Path) -> None:
        """Script mode: extract ``sagemaker_submit_directory`` (``sourcedir.tar.gz`` on S3) to ``code/``."""
        raw = (job.get("HyperParameters") or {}).get("sagemaker_submit_directory")
        if raw is None:
            return
        uri = _decoded(raw)
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise JobFailure(
                "ClientError: sagemaker_submit_directory must be the s3:// URI of a tar.gz archive, "
                f"got {raw!r}"
            )
        bucket, key = split_s3_uri(uri, "sagemaker_submit_directory")
        archive_path = code_dir.parent / "sourcedir.tar.gz"
        if self.s3.download(bucket, key, archive_path) is None:
            raise JobFailure(f"ClientError: sagemaker_submit_directory {uri} does not exist")
        code_dir.mkdir(parents=True, exist_ok=True)
        extract_archive(
            archive_path,
            code_dir,
            lambda error: (
                f"ClientError: sagemaker_submit_directory {uri} is not a readable tar.gz archive: {error}"
            ),
        )

    def _train(
        self, job: dict, hosts: list[_Host], exchange: Path, definitions: list[dict], running: RunningJob
    ) -> tuple[str, _Host | None]:
        """Run every host's container until all have exited; returns ``(outcome, the failed host)``.

        The first host to fail fails the job: the others are stopped, as their work is lost anyway.
        """
        patterns = [(definition["Name"], re.compile(definition["Regex"])) for definition in definitions]
        for host in hosts:
            self.logs.append(TRAINING_LOG_GROUP, host.stream, host.notes)
            environment = {
                **os.environ,
                **thread_budget(len(hosts)),
                **container_environment(job, host.base_dir, host.name),
                IMAGE_VARIABLE: job["AlgorithmSpecification"]["TrainingImage"],
                EXCHANGE_VARIABLE: str(exchange),
            }
            host.process = forkserver.shared().spawn(["train"], environment, host.base_dir)
            host.reader = threading.Thread(
                target=self._pump_output,
                args=(host.process, host.stream, patterns, host.metrics),
                name=f"logs-{host.stream}",
                daemon=True,
            )
            host.reader.start()

        deadline = time.monotonic() + job["StoppingCondition"]["MaxRuntimeInSeconds"]
        outcome, failed = None, None
        while any(host.process.poll() is None for host in hosts):
            failed = next((host for host in hosts if host.process.poll() not in (None, 0)), None)
            if failed is not None:
                outcome = "failed"
            elif running.stop_requested.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic()))):
                outcome = "stopped"
            elif time.monotonic() >= deadline:
                outcome = "max_runtime"
            if outcome:
                self._terminate([host.process for host in hosts])
                break
        for host in hosts:
            host.process.wait()
            # Whatever the host's processes left in its group would also keep the log pipe open.
            kill_process_group(host.process.pid)
        for host in hosts:
            host.reader.join(timeout=5)
        if outcome is None:
            failed = next((host for host in hosts if host.process.returncode != 0), None)
            outcome = "failed" if failed else "completed"
        return outcome, failed

    def _pump_output(self, process: forkserver.ForkedProcess, stream: str, patterns, metrics: dict) -> None:
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.logs.append(TRAINING_LOG_GROUP, stream, [line])
            # CloudWatch renders a tab as "#011"; metric regexes (XGBoost's) are written against that.
            rendered = line.replace("\t", "#011")
            for metric, pattern in patterns:
                match = pattern.search(rendered)
                if match:
                    try:
                        metrics[metric] = (float(match.group(1)), time.time())
                    except (ValueError, IndexError):
                        continue

    @staticmethod
    def _terminate(processes: list[forkserver.ForkedProcess]) -> None:
        """SIGTERM every container's group at once, then SIGKILL those still running after the grace."""
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

    def _upload_artifacts(self, job: dict, hosts: list[_Host], required: bool) -> dict:
        """Upload ``model.tar.gz`` (and ``output.tar.gz`` if a host wrote output data), each the union of
        what every host wrote."""
        model_dirs = [host.base_dir / "model" for host in hosts]
        if not required and not any(any(directory.iterdir()) for directory in model_dirs):
            return {}
        output_path = job["OutputDataConfig"]["S3OutputPath"]
        bucket, prefix = split_s3_uri(output_path)
        if not self.s3.bucket_exists(bucket):
            raise JobFailure(
                f"ClientError: Unable to upload model artifacts to {output_path}: "
                f"bucket {bucket} does not exist"
            )
        prefix = prefix.rstrip("/")
        key_base = (
            f"{prefix}/{job['TrainingJobName']}/output" if prefix else f"{job['TrainingJobName']}/output"
        )
        job_dir = hosts[0].base_dir.parent.parent.parent
        archive = self._aggregate(hosts, model_dirs, job_dir / "model.tar.gz")
        self.s3.upload(archive, bucket, f"{key_base}/model.tar.gz", "application/x-tar")
        output_dirs = [host.base_dir / "output" / "data" for host in hosts]
        if any(directory.exists() and any(directory.iterdir()) for directory in output_dirs):
            archive = self._aggregate(hosts, output_dirs, job_dir / "output.tar.gz")
            self.s3.upload(archive, bucket, f"{key_base}/output.tar.gz", "application/x-tar")
        return {"ModelArtifacts": {"S3ModelArtifacts": f"s3://{bucket}/{key_base}/model.tar.gz"}}

    def _aggregate(self, hosts: list[_Host], directories: list[Path], archive_path: Path) -> Path:
        archive, clashes = _tar_directories([d for d in directories if d.exists()], archive_path)
        if clashes:
            self.logs.append(
                TRAINING_LOG_GROUP,
                hosts[0].stream,
                [
                    f"local engine: more than one host wrote {', '.join(clashes)} to {directories[0].name}/; "
                    f"{archive_path.name} holds the lowest-numbered host's"
                ],
            )
        return archive

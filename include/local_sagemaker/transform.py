"""Batch transform: a model container per job, fed the input objects record batch by record batch.

For each job the runner stages the model as an endpoint would (``model.tar.gz``, script-mode code),
starts one model-server subprocess with the batch settings in its environment, and for every input
object, in key order: splits it into records (``SplitType``), packs the records into requests
(``BatchStrategy`` within ``MaxPayloadInMB``), sends up to ``MaxConcurrentTransforms`` requests at a
time, and joins the answers in input order (``AssembleWith``). ``<output path>/<relative key>.out``
is written only when every request of that object succeeded; an object that fails gets no output and
fails the job, naming the object and the reason (``reference/sagemaker_formats.md`` §4.4).
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from include.local_sagemaker.channels import ChannelError, channel_objects
from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.hosting import DeploymentFailure, ModelServer, stage_model
from include.local_sagemaker.job_threads import JobThreads, RunningJob
from include.local_sagemaker.logs import LogStore
from include.local_sagemaker.names import split_s3_uri
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.state import ResourceStore
from include.recordio.errors import RecordIOError
from include.recordio.framing import frame, iter_payloads

TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
FAILURE_REASON_LIMIT = 1024
MEGABYTE = 1024 * 1024


class TransformFailure(Exception):
    """Ends a transform job as Failed; the message becomes ``FailureReason``."""


def split_records(data: bytes, split_type: str) -> list[bytes]:
    """The records of one input object: the whole object, its lines, or its recordIO records.

    Lines keep their newline (as SageMaker sends them); blank lines are not records. RecordIO records
    are re-framed one by one, so each request is itself a valid recordIO stream.
    """
    if split_type == "None":
        return [data] if data else []
    if split_type == "Line":
        return [line for line in data.splitlines(keepends=True) if line.strip()]
    if split_type == "RecordIO":
        return [frame(bytes(payload)) for _, payload in iter_payloads(data)]
    raise TransformFailure(f"ClientError: SplitType {split_type} is not supported by the local engine")


def batch_records(records: list[bytes], strategy: str, max_payload_bytes: int) -> Iterator[bytes]:
    """Requests of one record each (``SingleRecord``) or as many whole records as fit (``MultiRecord``).

    A record larger than the payload limit cannot be sent: :class:`TransformFailure` names its index.
    """
    pending: list[bytes] = []
    size = 0
    for index, record in enumerate(records):
        if len(record) > max_payload_bytes:
            raise TransformFailure(
                f"ClientError: record {index} is {len(record)} bytes, larger than MaxPayloadInMB "
                f"({max_payload_bytes // MEGABYTE} MB). Increase MaxPayloadInMB or split the input "
                "(SplitType Line or RecordIO)."
            )
        if strategy == "SingleRecord":
            yield record
            continue
        if pending and size + len(record) > max_payload_bytes:
            yield b"".join(pending)
            pending, size = [], 0
        pending.append(record)
        size += len(record)
    if pending:
        yield b"".join(pending)


def assemble(responses: list[bytes], assemble_with: str) -> bytes:
    """Join the answers in request order; ``Line`` ends each one with a newline (once)."""
    if assemble_with != "Line":
        return b"".join(responses)
    return b"".join(r if r.endswith(b"\n") else r + b"\n" for r in responses)


class TransformRunner:
    """Runs the transform jobs whose documents live in ``jobs``, one thread and model server each."""

    def __init__(
        self, jobs: ResourceStore, models: ResourceStore, s3: ObjectStore, logs: LogStore, work_root: Path
    ):
        self.jobs = jobs
        self.models = models
        self.s3 = s3
        self.logs = logs
        self.work_root = work_root
        self._threads = JobThreads("transform")

    def recover(self) -> None:
        """After a restart, jobs that were running are lost: end them Failed (they wrote nothing partial)."""
        for job in self.jobs.all():
            if job["TransformJobStatus"] in {"InProgress", "Stopping"}:
                self._finish(
                    job["TransformJobName"],
                    "Failed",
                    FailureReason="InternalServerError: The local SageMaker engine was restarted while this "
                    "transform job was in progress. Start it again under a new name.",
                )

    def start(self, name: str) -> None:
        self._threads.start(name, self._run)

    def request_stop(self, name: str) -> None:
        self._threads.request_stop(name)

    def shutdown(self, timeout: float = 30.0) -> None:
        self._threads.shutdown(timeout)

    def _finish(self, name: str, status: str, **fields) -> None:
        now = time.time()
        with self.jobs.lock:
            job = self.jobs.get(name)
            if job is None:
                return
            self.jobs.update(
                name,
                TransformJobStatus=status,
                TransformStartTime=job.get("TransformStartTime", now),
                TransformEndTime=now,
                LastModifiedTime=now,
                **fields,
            )

    def _run(self, name: str, running: RunningJob) -> None:
        try:
            self._execute(name, running)
        except TransformFailure as failure:
            self._finish(name, "Failed", FailureReason=str(failure)[:FAILURE_REASON_LIMIT])
        except Exception as error:  # an engine bug still ends the job instead of stranding it
            reason = f"InternalServerError: {type(error).__name__}: {error}"
            self._finish(name, "Failed", FailureReason=reason[:FAILURE_REASON_LIMIT])
        finally:
            shutil.rmtree(self.work_root / name, ignore_errors=True)

    def _stopped(self, name: str, running: RunningJob) -> bool:
        if not running.stop_requested.is_set():
            return False
        if self._threads.shutting_down:
            raise TransformFailure(
                "InternalServerError: The local SageMaker engine was stopped while this transform job was "
                "in progress. Start it again under a new name."
            )
        self._finish(name, "Stopped")
        return True

    def _execute(self, name: str, running: RunningJob) -> None:
        job = self.jobs.update(name, TransformStartTime=time.time())
        model = self.models.get(job["ModelName"])
        if model is None:
            raise TransformFailure(f'ClientError: Could not find model "{job["ModelName"]}".')
        container = model.get("PrimaryContainer") or model["Containers"][0]
        model_dir = self.work_root / name / "model"
        environment = {
            **(container.get("Environment") or {}),
            **(job.get("Environment") or {}),
            "SAGEMAKER_BATCH": "true",
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(job["MaxPayloadInMB"]),
            "SAGEMAKER_BATCH_STRATEGY": "SINGLE_RECORD"
            if job["BatchStrategy"] == "SingleRecord"
            else "MULTI_RECORD",
            "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(job["MaxConcurrentTransforms"]),
        }
        server = ModelServer(name, container["Image"], model_dir, self.logs, TRANSFORM_LOG_GROUP, environment)
        try:
            try:
                stage_model(self.s3, container, model_dir)
                server.start()
            except DeploymentFailure as failure:
                raise TransformFailure(f"ClientError: {failure}") from failure
            if self._stopped(name, running):
                return
            self._transform_all(name, job, server, running)
        finally:
            server.stop()

    def _transform_all(self, name: str, job: dict, server: ModelServer, running: RunningJob) -> None:
        source = job["TransformInput"]["DataSource"]["S3DataSource"]
        try:
            objects = channel_objects(self.s3, source)
        except ChannelError as error:
            raise TransformFailure(str(error)) from error
        output_bucket, output_prefix = split_s3_uri(job["TransformOutput"]["S3OutputPath"])
        if not self.s3.bucket_exists(output_bucket):
            raise TransformFailure(
                f"ClientError: the output bucket {output_bucket} of {job['TransformOutput']['S3OutputPath']} "
                "does not exist"
            )
        output_prefix = output_prefix.rstrip("/")
        failures = []
        written = 0
        for item in objects:
            if self._stopped(name, running):
                return
            source_uri = f"s3://{item.bucket}/{item.key}"
            try:
                result = self._transform_object(job, server, source_uri, self.s3.get(item.bucket, item.key))
            except TransformFailure as failure:
                failures.append(f"{source_uri}: {failure}")
                self.logs.append(TRANSFORM_LOG_GROUP, server.log_stream, [f"Failed {source_uri}: {failure}"])
                continue
            relative = item.relative_path + ".out"
            key = f"{output_prefix}/{relative}" if output_prefix else relative
            self.s3.put(
                output_bucket, key, result, job["TransformOutput"].get("Accept") or "binary/octet-stream"
            )
            written += 1
        if self._stopped(name, running):
            return
        if failures:
            raise TransformFailure(
                f"ClientError: {len(failures)} of {len(objects)} input object(s) failed and got no .out "
                f"object ({written} succeeded). First: {failures[0]}"
            )
        self._finish(name, "Completed")

    def _transform_object(self, job: dict, server: ModelServer, source_uri: str, data: bytes | None) -> bytes:
        if data is None:
            raise TransformFailure("the object was deleted while the job ran")
        transform_input = job["TransformInput"]
        if transform_input.get("CompressionType") == "Gzip":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as error:
                raise TransformFailure(
                    f"CompressionType is Gzip but the object is not gzip data: {error}"
                ) from error
        try:
            records = split_records(data, transform_input.get("SplitType", "None"))
        except RecordIOError as error:
            raise TransformFailure(f"SplitType RecordIO: {error}") from error
        requests = list(batch_records(records, job["BatchStrategy"], job["MaxPayloadInMB"] * MEGABYTE))
        accept = job["TransformOutput"].get("Accept")
        content_type = transform_input.get("ContentType")

        def invoke(body: bytes) -> bytes:
            try:
                return server.invoke(body, content_type, accept)[0]
            except ServiceError as error:
                raise TransformFailure(f"the model container answered: {error.message}") from error

        with ThreadPoolExecutor(max_workers=job["MaxConcurrentTransforms"]) as pool:
            responses = list(pool.map(invoke, requests))  # map keeps input order
        return assemble(responses, job["TransformOutput"].get("AssembleWith", "None"))

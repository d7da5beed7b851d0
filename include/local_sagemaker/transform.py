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

import contextlib
import gzip
import mmap
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

from include.local_sagemaker.channels import ChannelError, channel_objects
from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.failures import JobFailure
from include.local_sagemaker.job_runner import JobRunner
from include.local_sagemaker.job_threads import RunningJob
from include.local_sagemaker.logs import LogStore
from include.local_sagemaker.model_servers import ModelServer, serving_container, stage_model
from include.local_sagemaker.names import split_s3_uri
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.state import ResourceStore
from include.recordio.errors import RecordIOError
from include.recordio.framing import frame, iter_payloads

TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
MEGABYTE = 1024 * 1024


def split_records(data: bytes | memoryview | mmap.mmap, split_type: str) -> Iterator[bytes]:
    """The records of one input object, one at a time: the whole object, its lines, or its recordIO
    records. ``data`` may be a memory map of the object, so only the records in flight are copied.

    Lines keep their newline (as SageMaker sends them); blank lines are not records. RecordIO records
    are re-framed one by one, so each request is itself a valid recordIO stream.
    """
    if split_type == "None":
        if len(data):
            yield bytes(data)
    elif split_type == "Line":
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end + 1
            line = bytes(data[start:end])
            if line.strip():
                yield line
            start = end
    elif split_type == "RecordIO":
        for _, payload in iter_payloads(memoryview(data)):
            yield frame(bytes(payload))
    else:
        raise JobFailure(f"ClientError: SplitType {split_type} is not supported by the local engine")


def batch_records(records: Iterable[bytes], strategy: str, max_payload_bytes: int) -> Iterator[bytes]:
    """Requests of one record each (``SingleRecord``) or as many whole records as fit (``MultiRecord``).

    A record larger than the payload limit cannot be sent: :class:`JobFailure` names its index.
    """
    pending: list[bytes] = []
    size = 0
    for index, record in enumerate(records):
        if len(record) > max_payload_bytes:
            raise JobFailure(
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


def assembled(response: bytes, assemble_with: str) -> bytes:
    """One answer as it goes into the ``.out`` object: ``Line`` ends it with a newline (once)."""
    if assemble_with == "Line" and not response.endswith(b"\n"):
        return response + b"\n"
    return response


@contextlib.contextmanager
def _mapped(file) -> Iterator[mmap.mmap | bytes]:
    """A read-only memory map of an open file (pages come from the page cache, not the heap)."""
    if os.fstat(file.fileno()).st_size == 0:
        yield b""
        return
    with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        yield mapped


class TransformRunner(JobRunner):
    """Runs the transform jobs whose documents live in ``jobs``, one thread and model server each."""

    kind = "transform"
    status_field = "TransformJobStatus"
    name_field = "TransformJobName"
    # A lost job wrote nothing partial: an object's .out is written only when all of it succeeded.
    restart_reason = (
        "InternalServerError: The local SageMaker engine was restarted while this "
        "transform job was in progress. Start it again under a new name."
    )
    engine_stopped_reason = (
        "InternalServerError: The local SageMaker engine was stopped while this transform job was "
        "in progress. Start it again under a new name."
    )

    def __init__(
        self, jobs: ResourceStore, models: ResourceStore, s3: ObjectStore, logs: LogStore, work_root: Path
    ):
        super().__init__(jobs)
        self.models = models
        self.s3 = s3
        self.logs = logs
        self.work_root = work_root

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

    def _clean_up(self, name: str) -> None:
        shutil.rmtree(self.work_root / name, ignore_errors=True)

    def _execute(self, name: str, running: RunningJob) -> None:
        job = self.jobs.update(name, TransformStartTime=time.time())
        model = self.models.get(job["ModelName"])
        if model is None:
            raise JobFailure(f'ClientError: Could not find model "{job["ModelName"]}".')
        container = serving_container(model)
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
            except JobFailure as failure:
                raise JobFailure(f"ClientError: {failure}") from failure
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
            raise JobFailure(str(error)) from error
        output_bucket, output_prefix = split_s3_uri(job["TransformOutput"]["S3OutputPath"])
        if not self.s3.bucket_exists(output_bucket):
            raise JobFailure(
                f"ClientError: the output bucket {output_bucket} of {job['TransformOutput']['S3OutputPath']} "
                "does not exist"
            )
        output_prefix = output_prefix.rstrip("/")
        failures = []
        written = 0
        scratch = self.work_root / name / "objects"
        scratch.mkdir(parents=True, exist_ok=True)
        for item in objects:
            if self._stopped(name, running):
                return
            source_uri = f"s3://{item.bucket}/{item.key}"
            result = scratch / "result.out"
            try:
                self._transform_object(job, server, item, scratch / "input", result)
            except JobFailure as failure:
                failures.append(f"{source_uri}: {failure}")
                self.logs.append(TRANSFORM_LOG_GROUP, server.log_stream, [f"Failed {source_uri}: {failure}"])
                continue
            relative = item.relative_path + ".out"
            key = f"{output_prefix}/{relative}" if output_prefix else relative
            self.s3.upload(
                result, output_bucket, key, job["TransformOutput"].get("Accept") or "binary/octet-stream"
            )
            written += 1
        if self._stopped(name, running):
            return
        if failures:
            raise JobFailure(
                f"ClientError: {len(failures)} of {len(objects)} input object(s) failed and got no .out "
                f"object ({written} succeeded). First: {failures[0]}"
            )
        self._finish(name, "Completed")

    def _transform_object(self, job: dict, server: ModelServer, item, input_path: Path, result: Path) -> None:
        """Transform one input object into ``result``, streaming: the object is downloaded to a file
        (decompressed there if Gzip), split from a memory map of it, and at most a bounded window of
        requests and answers is in memory at once."""
        if self.s3.download(item.bucket, item.key, input_path) is None:
            raise JobFailure("the object was deleted while the job ran")
        transform_input = job["TransformInput"]
        if transform_input.get("CompressionType") == "Gzip":
            try:
                with gzip.open(input_path) as compressed, (input_path.with_suffix(".raw")).open("wb") as raw:
                    shutil.copyfileobj(compressed, raw, MEGABYTE)
            except (OSError, EOFError) as error:
                raise JobFailure(
                    f"CompressionType is Gzip but the object is not gzip data: {error}"
                ) from error
            input_path.with_suffix(".raw").replace(input_path)
        accept = job["TransformOutput"].get("Accept")
        content_type = transform_input.get("ContentType")
        assemble_with = job["TransformOutput"].get("AssembleWith", "None")
        concurrency = job["MaxConcurrentTransforms"]

        def invoke(body: bytes) -> bytes:
            try:
                return server.invoke(body, content_type, accept)[0]
            except ServiceError as error:
                raise JobFailure(f"the model container answered: {error.message}") from error

        with input_path.open("rb") as source, result.open("wb") as output, _mapped(source) as data:
            records = split_records(data, transform_input.get("SplitType", "None"))
            requests = batch_records(records, job["BatchStrategy"], job["MaxPayloadInMB"] * MEGABYTE)
            try:
                with ThreadPoolExecutor(max_workers=concurrency) as pool:
                    while window := list(islice(requests, 2 * concurrency)):
                        for response in pool.map(invoke, window):  # map keeps input order
                            output.write(assembled(response, assemble_with))
            except RecordIOError as error:
                raise JobFailure(f"SplitType RecordIO: {error}") from error
            finally:
                # Release the generators' views of the map before it closes.
                requests.close()
                records.close()

"""A model's container as an endpoint variant or a transform job runs it: staged, started, invoked, stopped.

``stage_model`` fills a model directory as SageMaker's ``/opt/ml/model`` (``model.tar.gz`` extracted, and
for the images that fetch it the ``SAGEMAKER_SUBMIT_DIRECTORY`` source under ``code/``). A
:class:`ModelServer` starts ``python -m include.local_sagemaker.container serve`` on an ephemeral loopback
port, waits for ``/ping``, and sends invocations over a pool of keep-alive connections, answering a
container's error as the SageMaker runtime does (``ModelError``, 424).
"""

from __future__ import annotations

import collections
import http.client
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

from include.local_sagemaker import forkserver
from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.failures import JobFailure
from include.local_sagemaker.frameworks.catalog import UnsupportedFrameworkVersion, framework_image
from include.local_sagemaker.frameworks.container.model_server import READY_PREFIX
from include.local_sagemaker.logs import LogStore
from include.local_sagemaker.names import ACCOUNT_ID, REGION, split_s3_uri
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.paths import extract_archive
from include.local_sagemaker.process_tree import kill_process_group

STARTUP_TIMEOUT_SECONDS = 120.0
INVOCATION_TIMEOUT_SECONDS = 60.0


def _model_error(variant: str, status: int, message: str, log_group: str) -> ServiceError:
    kind = "client" if status < 500 else "server"
    return ServiceError(
        "ModelError",
        f'Received {kind} error ({status}) from primary with message "{message}". See '
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
        f"#logEventViewer:group={log_group} "
        f"in account {ACCOUNT_ID} for more information.",
        status=424,
        OriginalStatusCode=status,
        OriginalMessage=message,
        LogStreamArn=f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{log_group}",
    )


def _extract_archive(archive_path: Path, destination: Path, source: str, what: str) -> None:
    extract_archive(
        archive_path,
        destination,
        lambda error: (
            f"Failed to extract {what} archive from URL {source}: {error}. Please ensure "
            "that the object located at the URL is a valid tar.gz archive."
        ),
    )


def serving_container(model: dict) -> dict:
    """The container a model serves with: its first, or what its model package holds when it was created
    from one (``ModelPackageName``; resolved by CreateModel)."""
    return model.get("_ServingContainer") or model.get("PrimaryContainer") or model["Containers"][0]


def stage_model(s3: ObjectStore, container: dict, model_dir: Path) -> None:
    """Fill ``model_dir`` as a SageMaker model container sees ``/opt/ml/model``.

    The model's ``model.tar.gz`` is extracted into it; for script mode, the ``sourcedir.tar.gz`` that
    ``SAGEMAKER_SUBMIT_DIRECTORY`` names (as the SageMaker SDK sets it) goes to ``code/`` beside it, where
    the model server looks for the user's module: only for the images whose server fetches it, as the
    others find their code in ``model.tar.gz`` alone.
    """
    shutil.rmtree(model_dir, ignore_errors=True)
    model_dir.mkdir(parents=True)
    model_data_url = container.get("ModelDataUrl")
    if model_data_url:
        bucket, key = split_s3_uri(model_data_url, "ModelDataUrl")
        archive = model_dir.parent / "model.tar.gz"
        if s3.download(bucket, key, archive) is None:
            raise JobFailure(
                f"Failed to download model data for container: could not find model data at {model_data_url}."
            )
        _extract_archive(archive, model_dir, model_data_url, "model data")
        archive.unlink()
    submit_directory = (container.get("Environment") or {}).get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    try:
        framework = framework_image(container.get("Image", ""))
    except UnsupportedFrameworkVersion as error:
        raise JobFailure(str(error)) from error
    if submit_directory.startswith("s3://") and (
        framework is None or framework.framework.fetches_source_directory
    ):
        bucket, key = split_s3_uri(submit_directory, "Environment.SAGEMAKER_SUBMIT_DIRECTORY")
        archive = model_dir.parent / "sourcedir.tar.gz"
        if s3.download(bucket, key, archive) is None:
            raise JobFailure(
                f"Failed to download the source directory {submit_directory} named by "
                "SAGEMAKER_SUBMIT_DIRECTORY: the object does not exist."
            )
        (model_dir / "code").mkdir(exist_ok=True)
        _extract_archive(archive, model_dir / "code", submit_directory, "source directory")
        archive.unlink()


class ServerGone(Exception):
    """The variant's container exited before it answered: the request can go to its replacement."""


class ModelServer:
    """One production variant's container process and a pool of keep-alive connections to it."""

    def __init__(
        self,
        variant: str,
        image: str,
        model_dir: Path,
        logs: LogStore,
        log_group: str,
        environment: dict[str, str] | None = None,
    ):
        self.variant = variant
        self.image = image
        self.model_dir = model_dir
        self.logs = logs
        self.log_group = log_group
        # The model's container ``Environment`` (SAGEMAKER_PROGRAM for script mode, batch settings...).
        self.environment = {str(key): str(value) for key, value in (environment or {}).items()}
        self.log_stream = f"{variant}/i-{uuid.uuid4().hex[:17]}"
        self.port: int | None = None
        self.process: forkserver.ForkedProcess | None = None
        # ``time.monotonic()`` when it passed the ping check.
        self.started: float | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=20)  # recent non-blank lines
        self._connections: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()

    def start(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Start the container and wait until it answers ``/ping``; raise :class:`JobFailure`."""
        arguments = ["serve", "--model-dir", str(self.model_dir), "--image", self.image]
        arguments += ["--host", "127.0.0.1", "--port", "0"]
        environment = {**os.environ, **self.environment, "PYTHONUNBUFFERED": "1"}
        self.process = forkserver.shared().spawn(arguments, environment)
        ready = threading.Event()

        def pump() -> None:
            for raw in self.process.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if not ready.is_set() and line.startswith(READY_PREFIX):
                    self.port = int(line[len(READY_PREFIX) :])
                    ready.set()
                    continue
                if line.strip():
                    self._output.append(line)
                self.logs.append(self.log_group, self.log_stream, [line])

        threading.Thread(target=pump, name=f"serve-logs-{self.log_stream}", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                time.sleep(0.05)  # let the pump collect the last lines
                raise JobFailure(
                    f"The primary container for production variant {self.variant} did not pass the ping "
                    f"health check: {self.last_output()}. Please check CloudWatch logs for this endpoint."
                )
        try:
            status, _, _ = self._request("GET", "/ping", b"", {})
            problem = None if status == 200 else f"HTTP {status}"
        except (http.client.HTTPException, OSError) as error:  # it died right after it started listening
            problem = f"no answer: {error}"
        if problem:
            self.stop()
            raise JobFailure(
                f"The primary container for production variant {self.variant} did not pass the ping "
                f"health check ({problem}). Please check CloudWatch logs for this endpoint."
            )
        self.started = time.monotonic()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _exited(self) -> bool:
        """Whether the container has ended, waiting briefly: ``poll()`` answers "running" while another
        thread reaps it, and a connection can be refused a moment before the exit is visible."""
        try:
            self.process.wait(timeout=1.0)
            return True
        except subprocess.TimeoutExpired:
            return False

    def last_output(self) -> str:
        """The container's last non-blank output line (its error, if it failed), or "no output"."""
        return self._output[-1] if self._output else "no output"

    def _request(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes, str]:
        for attempt in range(2):
            try:
                connection = self._connections.get_nowait()
            except queue.Empty:
                connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=INVOCATION_TIMEOUT_SECONDS
                )
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError, OSError):
                connection.close()
                # A pooled connection the container closed: retry once on a fresh one.
                if attempt == 0 and self.process and self.process.poll() is None:
                    continue
                raise
            self._connections.put(connection)
            return response.status, data, response.getheader("Content-Type", "")
        raise AssertionError("unreachable")

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        headers = {"Content-Type": content_type or "application/octet-stream"}
        if accept:
            headers["Accept"] = accept
        try:
            status, data, response_type = self._request("POST", "/invocations", body, headers)
        except (http.client.HTTPException, OSError) as error:
            if self._exited():
                raise ServerGone(self.variant) from error
            raise ServiceError(
                "ModelError",
                f"Received server error (500) from primary: the container did not answer ({error})",
                status=424,
                OriginalStatusCode=500,
                OriginalMessage=str(error),
            ) from error
        if not 200 <= status < 300:
            raise _model_error(self.variant, status, data.decode("utf-8", errors="replace"), self.log_group)
        return data, response_type

    def stop(self) -> None:
        """Stop the container (SIGTERM, SIGKILL after 5 s) and whatever is left of its process group."""
        while True:
            try:
                self._connections.get_nowait().close()
            except queue.Empty:
                break
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=5)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        kill_process_group(self.process.pid)
        self.process.wait()

"""The engine's front door: one HTTP port for S3, SageMaker, SageMaker runtime and CloudWatch Logs.

Requests are routed the way AWS's endpoints would separate them: ``X-Amz-Target: SageMaker.*`` to the
control plane, ``Logs_20140328.*`` to CloudWatch Logs, ``POST /endpoints/<name>/invocations`` to the
runtime, and everything else to moto's S3 implementation (whose changes are written through to disk).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
from pathlib import Path

from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from include.local_sagemaker.container import register_extra_algorithms
from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.hosting import MAX_PAYLOAD_BYTES, Hosting, payload_too_large
from include.local_sagemaker.logs import LogStore
from include.local_sagemaker.model_registry import ModelRegistry
from include.local_sagemaker.s3_store import S3Store
from include.local_sagemaker.sagemaker_api import SageMakerApi
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.training import TrainingRunner
from include.local_sagemaker.transform import TransformRunner
from include.local_sagemaker.transform_jobs import TransformJobs
from include.local_sagemaker.tuning import TuningRunner
from include.local_sagemaker.tuning_jobs import TuningJobs

_INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations/?$")
_STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    413: "Payload Too Large",
    424: "Failed Dependency",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class _RequestHandler(MotoRequestHandler):
    # boto3 keeps connections alive; without TCP_NODELAY a small response body can wait ~40 ms for
    # the client's delayed ACK of the headers.
    disable_nagle_algorithm = True

    def log_request(self, code="-", size="-") -> None:
        pass


def _status_line(status: int) -> str:
    return f"{status} {_STATUS_TEXT.get(status, 'Error')}"


def _json_response(start_response, status: int, document: dict, extra_headers: list | None = None):
    body = json.dumps(document).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
    start_response(_status_line(status), headers + (extra_headers or []))
    return [body]


def _error_response(start_response, error: ServiceError):
    return _json_response(start_response, error.status, error.body(), [("x-amzn-ErrorType", error.code)])


def _read_body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        return environ["wsgi.input"].read(length)
    # Without a length only a chunked (self-terminating) body can be read to its end without blocking.
    return environ["wsgi.input"].read() if environ.get("wsgi.input_terminated") else b""


def is_loopback(host: str) -> bool:
    """True if every address ``host`` resolves to is a loopback address."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses
    )


class EngineApp:
    """The WSGI application routing each request to its service."""

    def __init__(self, sagemaker: SageMakerApi, logs: LogStore, hosting: Hosting, s3: S3Store):
        self.sagemaker = sagemaker
        self.logs = logs
        self.hosting = hosting
        self.s3 = s3
        self.s3_app = create_backend_app("s3")

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("SageMaker."):
            return self._json_api(self.sagemaker.handle, target.partition(".")[2], environ, start_response)
        if target.startswith("Logs_20140328."):
            return self._json_api(self.logs.handle, target.partition(".")[2], environ, start_response)
        invocation = _INVOCATIONS.match(environ.get("PATH_INFO", ""))
        if invocation and environ["REQUEST_METHOD"] == "POST":
            return self._invoke(invocation.group(1), environ, start_response)
        return self._s3(environ, start_response)

    @staticmethod
    def _json_api(handle, operation: str, environ, start_response):
        try:
            raw = _read_body(environ)
            try:
                request = json.loads(raw or b"{}")
            except ValueError as error:
                raise ServiceError(
                    "SerializationException", f"The request body is not valid JSON: {error}"
                ) from error
            return _json_response(start_response, 200, handle(operation, request))
        except ServiceError as error:
            return _error_response(start_response, error)
        except Exception as error:
            return _error_response(
                start_response,
                ServiceError("InternalFailure", f"{type(error).__name__}: {error}", status=500),
            )

    def _invoke(self, endpoint_name: str, environ, start_response):
        from urllib.parse import unquote

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_PAYLOAD_BYTES:
                # Drain exactly the announced body so the connection stays usable, then refuse it.
                remaining = length
                while remaining > 0 and (chunk := environ["wsgi.input"].read(min(remaining, 1 << 20))):
                    remaining -= len(chunk)
                raise payload_too_large(length)
            body = _read_body(environ)
            data, content_type, variant = self.hosting.invoke(
                unquote(endpoint_name),
                body,
                environ.get("CONTENT_TYPE"),
                environ.get("HTTP_ACCEPT"),
                environ.get("HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT"),
            )
        except ServiceError as error:
            return _error_response(start_response, error)
        except Exception as error:
            return _error_response(
                start_response,
                ServiceError("InternalFailure", f"{type(error).__name__}: {error}", status=500),
            )
        start_response(
            "200 OK",
            [
                ("Content-Type", content_type or "application/octet-stream"),
                ("Content-Length", str(len(data))),
                ("x-Amzn-Invoked-Production-Variant", variant),
            ],
        )
        return [data]

    def _s3(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        if method not in {"PUT", "POST", "DELETE"}:
            return self.s3_app(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda chunk: None

        chunks = self.s3_app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        if captured["status"].startswith("2"):
            # Written through before the client hears "OK", so an acknowledged write survives a crash.
            self.s3.mirror_request(method, environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", ""))
        start_response(captured["status"], captured["headers"])
        return [body]


class LocalSageMaker:
    """The engine, startable in-process: ``LocalSageMaker(state_dir).start()`` then ``.endpoint_url``.

    ``host`` must be a loopback address unless ``allow_remote=True``: the engine has no
    authentication, so listening beyond this machine would expose it.
    """

    def __init__(
        self, state_dir: str | Path, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False
    ):
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"Refusing to listen on {host!r}: it is not a loopback address and the engine has no "
                "authentication. Use 127.0.0.1, or pass allow_remote=True (--allow-remote) deliberately."
            )
        self.state_dir = Path(state_dir).resolve()
        self.host = host
        self.port = port
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalSageMaker:
        """Load state, recover resources, and start serving in a background thread."""
        register_extra_algorithms()
        root = self.state_dir
        root.mkdir(parents=True, exist_ok=True)
        self.s3 = S3Store(root / "s3")
        self.s3.load()
        self.logs = LogStore(root / "logs")
        self.jobs = ResourceStore(root / "training-jobs")
        self.models = ResourceStore(root / "models")
        self.endpoint_configs = ResourceStore(root / "endpoint-configs")
        self.endpoints = ResourceStore(root / "endpoints")
        self.training = TrainingRunner(self.jobs, self.s3, self.logs, root / "jobs")
        self.hosting = Hosting(
            self.endpoints, self.endpoint_configs, self.models, self.s3, self.logs, root / "hosting"
        )
        self.model_registry = ModelRegistry(
            ResourceStore(root / "model-package-groups"), ResourceStore(root / "model-packages")
        )
        self.transform_jobs = ResourceStore(root / "transform-jobs")
        self.transform = TransformRunner(
            self.transform_jobs, self.models, self.s3, self.logs, root / "transform"
        )
        self.tuning_jobs = ResourceStore(root / "tuning-jobs")
        # Children are created through the control plane itself, so they are validated like any job.
        self.tuning = TuningRunner(
            self.tuning_jobs,
            self.jobs,
            lambda request: self.sagemaker.handle("CreateTrainingJob", request),
            lambda name: self.sagemaker.handle("StopTrainingJob", {"TrainingJobName": name}),
        )
        self.sagemaker = SageMakerApi(
            self.jobs,
            self.models,
            self.endpoint_configs,
            self.endpoints,
            self.training,
            self.hosting,
            extensions=(
                self.model_registry,
                TransformJobs(self.transform_jobs, self.models, self.transform),
                TuningJobs(self.tuning_jobs, self.jobs, self.tuning),
            ),
        )
        self.training.recover()
        self.transform.recover()
        self.tuning.recover()
        self._server = make_server(
            self.host,
            self.port,
            EngineApp(self.sagemaker, self.logs, self.hosting, self.s3),
            threaded=True,
            request_handler=_RequestHandler,
        )
        self.port = self._server.server_port
        self.hosting.recover()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-sagemaker", daemon=True
        )
        self._thread.start()
        return self

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving, end running jobs and stop endpoint containers (endpoints come back on start)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self.tuning.shutdown()
        self.training.shutdown()
        self.transform.shutdown()
        self.hosting.shutdown()
        self._server = None

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI's main loop)."""
        if self._thread:
            self._thread.join()

    def __enter__(self) -> LocalSageMaker:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

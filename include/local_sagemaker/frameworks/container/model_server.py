"""The model server of a framework image, run by the framework environment's Python.

``python model_server.py --serving-entry sagemaker_mxnet_serving_container.serving:main
--replacing sagemaker_inference.model_server:start_model_server --port 0``

The image's own serving entry runs as in the real container: it prepares its environment and calls the
function that starts the Java model server with its handler service (the inference toolkit's
``model_server.start_model_server`` starts Multi Model Server, the PyTorch toolkit's
``torchserve.start_torchserve`` TorchServe). Here that function is replaced by :func:`start_model_server`,
which does the toolkit's own preparation (the code directory on the path, ``code/requirements.txt``
installed) and then hosts the handler service in this process exactly as an MMS worker does
(awslabs/multi-model-server ``mms/model_loader.py``, ``mms/context.py``): the one class the module defines
is instantiated, ``initialize(context)`` once, ``handle([{"body": ...}], context)`` per request, the
answer's status and content type read back from the context.

It speaks the hosting contract (``GET /ping``, ``POST /invocations``) on 127.0.0.1 and prints
``serving port=<port>`` once it listens. This file imports only the standard library at module level,
as it runs in environments that have nothing of the engine's.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

READY_PREFIX = "serving port="
# MMS answers a healthy ping with this body.
HEALTHY = b'{\n  "status": "Healthy"\n}\n'


class RequestProcessor:
    """One request's headers in, status and response headers out (``mms.context.RequestProcessor``)."""

    def __init__(self, headers: dict[str, str]):
        self._headers = headers
        self.status = 200
        self.phrase = ""
        self.response_headers: dict[str, str] = {}

    def get_request_property(self, key: str):
        return self._headers.get(key)

    def get_request_properties(self) -> dict[str, str]:
        return self._headers

    def report_status(self, code: int, reason_phrase: str | None = None) -> None:
        self.status, self.phrase = code, reason_phrase or ""

    def add_response_property(self, key: str, value: str) -> None:
        self.response_headers[key] = value

    def get_response_headers(self) -> dict[str, str]:
        return self.response_headers


class Context:
    """What a handler service is given (``mms.context.Context``): the model's properties and the requests."""

    def __init__(self, model_dir: str, headers: dict[str, str] | None = None):
        self.model_name = "model"
        self.manifest = None
        self.system_properties = {
            "model_dir": model_dir,
            "gpu_id": None,
            "batch_size": 1,
            "server_name": "MMS",
            "server_version": "1.1.11",
        }
        self.request_processor = [RequestProcessor(headers or {})]

    def get_request_header(self, idx: int, key: str):
        return self.request_processor[idx].get_request_property(key)

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return self.request_processor[idx].get_request_properties()

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.request_processor[idx].add_response_property("Content-Type", value)

    def get_response_content_type(self, idx: int):
        return self.request_processor[idx].get_response_headers().get("Content-Type")

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.request_processor[idx].report_status(code, phrase)


def _handler_service(module_name: str):
    """The one class the handler module defines, instantiated (MMS's ``model_loader``). TorchServe's
    toolkit names the module by its file (``handler_service.__file__``), MMS's by its import name."""
    if module_name.endswith(".py"):
        spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    classes = [
        member
        for _, member in inspect.getmembers(module, inspect.isclass)
        if member.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise ValueError(f"{module_name} must define exactly one class; it defines {len(classes)}")
    return classes[0]()


def _handler(service, model_dir: str) -> type[BaseHTTPRequestHandler]:
    # The toolkits' handlers keep per-request state on themselves (MMS gives each worker one request at a
    # time), so requests take turns.
    turn = threading.Lock()

    class InvocationHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._reply(200, HEALTHY, "application/json")
            else:
                self._reply(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/invocations":
                self._reply(404, b"not found", "text/plain")
                return
            context = Context(model_dir, dict(self.headers.items()))
            try:
                with turn:
                    answers = service.handle([{"body": body}], context)
            except Exception as error:
                traceback.print_exc()
                self._reply(500, f"{type(error).__name__}: {error}".encode(), "text/plain")
                return
            processor = context.request_processor[0]
            answer = answers[0] if answers else b""
            if isinstance(answer, str):
                answer = answer.encode("utf-8")
            elif not isinstance(answer, (bytes, bytearray)):
                answer = str(answer).encode("utf-8")
            content_type = processor.get_response_headers().get("Content-Type") or "application/json"
            self._reply(processor.status, bytes(answer), content_type)

        def log_message(self, format: str, *args) -> None:
            pass

    return InvocationHandler


def start_model_server(handler_service: str, port: int, host: str = "127.0.0.1") -> None:
    """Prepare as the inference toolkit does, load the handler service and answer until killed."""
    from sagemaker_inference import environment, model_server

    # The sagemaker-inference that PyTorch's inference toolkit installs sets no PYTHONPATH (its TorchServe
    # does); the code directory goes on this process's path below either way.
    if hasattr(model_server, "_set_python_path"):
        model_server._set_python_path()
    # MMS workers inherit PYTHONPATH; in this one process the code directory goes on the path directly.
    sys.path.insert(0, environment.code_dir)
    if os.path.exists(model_server.REQUIREMENTS_PATH):
        model_server._install_requirements()
    service = _handler_service(handler_service)
    service.initialize(Context(environment.model_dir))
    server = ThreadingHTTPServer((host, port), _handler(service, environment.model_dir))
    server.daemon_threads = True
    print(f"{READY_PREFIX}{server.server_address[1]}", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="model_server.py")
    parser.add_argument("--serving-entry", required=True, help="module:function the image's server runs")
    parser.add_argument("--replacing", required=True, help="module:function that starts the Java server")
    parser.add_argument("--port", type=int, default=8080)
    arguments = parser.parse_args(argv)
    # Modules beside this file (the serving contracts written here) import by name, like the toolkits'.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        module_name, _, function = arguments.replacing.partition(":")
        setattr(
            importlib.import_module(module_name),
            function,
            lambda handler_service=None, **_: start_model_server(handler_service, arguments.port),
        )
        module_name, _, function = arguments.serving_entry.partition(":")
        getattr(importlib.import_module(module_name), function)()
    except Exception as error:
        traceback.print_exc()
        print(f"Failed to load model: {error}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

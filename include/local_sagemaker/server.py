"""The engine's front door: one HTTP port for S3, SageMaker, SageMaker runtime, CloudWatch Logs, STS and IAM.

Requests are routed the way AWS's endpoints would separate them: ``X-Amz-Target: SageMaker.*`` to the
control plane, ``Logs_20140328.*`` to CloudWatch Logs, ``POST /endpoints/<name>/invocations`` to the
runtime, requests signed for ``sts`` or ``iam`` to the local account, and everything else to the
object store's S3 gateway (streamed through, never buffered).

Local mode has no authentication, so before routing, every request must prove it does not come from a
web page: its ``Host`` must be a loopback name or address (a DNS-rebinding page's ``Host`` is its own
domain) unless the engine was started with ``--allow-remote``, and a request carrying a browser
``Origin`` other than the engine's own is refused. No response ever grants CORS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.hosting import MAX_PAYLOAD_BYTES, Hosting, payload_too_large
from include.local_sagemaker.local_account import LocalAccount
from include.local_sagemaker.logs import LogStore
from include.local_sagemaker.request_validation import MAX_REQUEST_BYTES, parse_json_request
from include.local_sagemaker.s3_proxy import S3Proxy
from include.local_sagemaker.sagemaker_api import SageMakerApi

log = logging.getLogger(__name__)

_INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations/?$")
_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/]+)/aws4_request")
# The names a client on this machine reaches the engine by; ``<bucket>.<name>`` is virtual-host S3.
_LOCAL_NAMES = ("s3.localhost", "localhost")


def is_loopback(host: str) -> bool:
    """True if every address ``host`` resolves to is a loopback address (for the listen address)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses
    )


def split_host(host_header: str) -> str:
    """The host name of a ``Host`` header, without its port (``[::1]:5000`` -> ``::1``)."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


def is_local_host_name(name: str) -> bool:
    """A loopback address literal, ``localhost`` or a ``*.localhost`` name (RFC 6761), never resolved:
    a DNS name that resolves to 127.0.0.1 is exactly what a rebinding page uses."""
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def virtual_host_bucket(name: str) -> str | None:
    """The bucket of a virtual-host-style S3 request (``<bucket>.localhost``), else None."""
    name = name.lower().rstrip(".")
    for base in _LOCAL_NAMES:
        if name == base:
            return None
        if name.endswith("." + base):
            return name[: -len(base) - 1]
    return None


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def _read_body(receive, limit: int) -> bytes:
    """The request body; one over ``limit`` bytes is cut at ``limit + 1`` (enough to refuse it)."""
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        parts.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body"):
            return b"".join(parts)[: limit + 1]


async def _respond(send, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    raw_headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _json_headers(request_id: str, error: ServiceError | None = None) -> list[tuple[str, str]]:
    headers = [("content-type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)]
    if error is not None:
        headers.append(("x-amzn-ErrorType", error.code))
    return headers


def _service_error(failure: Exception, operation: str) -> ServiceError:
    """A refusal as it is; anything else is an engine bug: logged with its traceback, answered 500."""
    if isinstance(failure, ServiceError):
        return failure
    log.error("%s failed on a request it accepted", operation, exc_info=failure)
    message = f"The engine failed on {operation}: {type(failure).__name__}: {failure} (traceback in its log)"
    return ServiceError("InternalFailure", message, status=500)


class EngineApp:
    """The ASGI application routing each request to its service."""

    def __init__(
        self,
        sagemaker: SageMakerApi,
        logs: LogStore,
        hosting: Hosting,
        s3: S3Proxy,
        account: LocalAccount,
        own_origins: Callable[[], set[str]],
        allow_remote: bool = False,
    ):
        self.sagemaker = sagemaker
        self.logs = logs
        self.hosting = hosting
        self.s3 = s3
        self.account = account
        self.own_origins = own_origins
        self.allow_remote = allow_remote
        # Handlers are synchronous and may block (an invocation waits for its model server): they run
        # here, off the event loop, which keeps streaming S3 bodies.
        self.executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="engine-request")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        host = split_host(_header(scope, b"host"))
        if not self.allow_remote and not is_local_host_name(host):
            return await self._refuse(
                send,
                f"Host {host!r} is not a loopback name or address. The engine has no authentication, so "
                "it answers only requests addressed to 127.0.0.1, [::1] or localhost (start it with "
                "--allow-remote to serve other names).",
            )
        origin = _header(scope, b"origin")
        if origin and origin not in self.own_origins():
            return await self._refuse(
                send,
                f"Requests from the web origin {origin!r} are refused: a web page must not drive the engine.",
            )
        if scope["method"] == "OPTIONS":
            # A preflight from the engine's own origin: allowed, and still no CORS grant.
            return await _respond(send, 200, b"", [])
        target = _header(scope, b"x-amz-target")
        if target.startswith("SageMaker."):
            return await self._json_api(self.sagemaker.handle, target.partition(".")[2], receive, send)
        if target.startswith("Logs_20140328."):
            return await self._json_api(self.logs.handle, target.partition(".")[2], receive, send)
        invocation = _INVOCATIONS.match(scope["path"])
        if invocation and scope["method"] == "POST":
            return await self._invoke(scope, unquote(invocation.group(1)), receive, send)
        service = _CREDENTIAL_SERVICE.search(_header(scope, b"authorization"))
        if service and service.group(1) != "s3":
            return await self._account(scope, service.group(1), receive, send)
        return await self.s3.forward(scope, receive, send, virtual_host_bucket(host))

    @staticmethod
    async def _refuse(send, message: str) -> None:
        refusal = ServiceError("AccessDeniedException", message, status=403)
        await _respond(
            send, 403, json.dumps(refusal.body()).encode(), _json_headers(str(uuid.uuid4()), refusal)
        )

    async def _run(self, function, *arguments):
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *arguments)

    async def _json_api(self, handle, operation: str, receive, send) -> None:
        request_id = str(uuid.uuid4())
        try:
            request = parse_json_request(await _read_body(receive, MAX_REQUEST_BYTES))
            status, document, error = 200, await self._run(handle, operation, request), None
        except Exception as failure:
            error = _service_error(failure, operation)
            status, document = error.status, error.body()
        await _respond(send, status, json.dumps(document).encode(), _json_headers(request_id, error))

    async def _invoke(self, scope, endpoint_name: str, receive, send) -> None:
        request_id = str(uuid.uuid4())
        try:
            body = await _read_body(receive, MAX_PAYLOAD_BYTES)
            if len(body) > MAX_PAYLOAD_BYTES:
                raise payload_too_large(int(_header(scope, b"content-length") or len(body)))
            data, content_type, variant = await self._run(
                self.hosting.invoke,
                endpoint_name,
                body,
                _header(scope, b"content-type") or None,
                _header(scope, b"accept") or None,
                _header(scope, b"x-amzn-sagemaker-target-variant") or None,
            )
        except Exception as failure:
            error = _service_error(failure, "InvokeEndpoint")
            return await _respond(
                send, error.status, json.dumps(error.body()).encode(), _json_headers(request_id, error)
            )
        headers = [
            ("content-type", content_type or "application/octet-stream"),
            ("x-Amzn-Invoked-Production-Variant", variant),
            ("x-amzn-RequestId", request_id),
        ]
        await _respond(send, 200, data, headers)

    async def _account(self, scope, service: str, receive, send) -> None:
        body = await _read_body(receive, MAX_REQUEST_BYTES)
        status, content_type, document = await self._run(
            self.account.handle,
            service,
            scope.get("query_string", b""),
            body,
            _header(scope, b"content-type"),
        )
        await _respond(
            send, status, document, [("content-type", content_type), ("x-amzn-RequestId", str(uuid.uuid4()))]
        )

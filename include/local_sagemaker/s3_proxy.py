"""S3 requests, forwarded from the engine's front door to the object store, streaming both ways.

Clients sign with whatever credentials they hold (local mode has no accounts), so each request is
re-signed for the store with the engine's own secret (SigV4 over ``UNSIGNED-PAYLOAD``: the body is
never buffered to hash it). On the way the request is put in the one form the store's signature
check and every client agree on:

- virtual-host style (``Host: <bucket>.localhost``) becomes path style;
- the path and query are decoded once and re-encoded as SigV4's canonical form (RFC 3986, ``/`` kept);
- a presigned URL's query authentication is dropped (the engine signs instead);
- an ``aws-chunked`` body with per-chunk signatures (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, which the
  Java SDK sends over HTTP) is decoded to the plain bytes; unsigned ``aws-chunked`` bodies with a
  checksum trailer (botocore's default) pass through, so the store verifies the checksum itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl, quote, unquote_to_bytes
from xml.sax.saxutils import escape

import httpx
from botocore.auth import UNSIGNED_PAYLOAD, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from include.local_sagemaker.names import REGION

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
_SIGNED_CHUNKS = "STREAMING-AWS4-"  # -HMAC-SHA256-PAYLOAD[-TRAILER], -ECDSA-P256-SHA256-PAYLOAD[-TRAILER]
# Request headers that belong to the client's hop or signature, not to the S3 operation.
_DROPPED_REQUEST_HEADERS = frozenset(
    {
        "host", "authorization", "x-amz-date", "date", "x-amz-security-token", "x-amz-content-sha256",
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "expect", "origin", "referer", "content-length",
    }
)  # fmt: skip
_PRESIGN_PARAMETERS = frozenset(
    {
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders",
        "x-amz-signature", "x-amz-security-token", "awsaccesskeyid", "signature", "expires",
    }
)  # fmt: skip
_SSE = "x-amz-server-side-encryption"
_KMS_HEADERS = (f"{_SSE}-aws-kms-key-id", f"{_SSE}-context", f"{_SSE}-bucket-key-enabled")
_DROPPED_RESPONSE_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "server", "date"})
_CHUNK = 1 << 20


class _StoreSigner(S3SigV4Auth):
    """SigV4 for the store with the body hash given, not computed (bodies stream unread)."""

    def payload(self, request):
        return request.context["content_sha256"]


def canonical_path(raw_path: bytes, bucket: str | None) -> str:
    """The request path decoded once and encoded as SigV4 canonicalises it (``/`` and ``~`` kept)."""
    path = unquote_to_bytes(raw_path)
    if bucket is not None:
        path = b"/" + bucket.encode() + (path if path.startswith(b"/") else b"/" + path)
    return quote(path, safe="/~")


def canonical_query(raw_query: bytes) -> str:
    """The query with presign parameters dropped, every pair written ``key=value`` RFC 3986-encoded."""
    pairs = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    return "&".join(
        f"{quote(key, safe='~')}={quote(value, safe='~')}"
        for key, value in pairs
        if key.lower() not in _PRESIGN_PARAMETERS
    )


async def _request_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away before sending the whole body")
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body"):
            return


async def _primed(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``body`` with its first chunk already received. The store is contacted only once the client has
    sent body bytes: SeaweedFS 4.48 stores an empty object when a PUT's connection closes right after
    its headers (it keeps the old object when any body byte arrived), so a client that dies early must
    never reach it."""
    first = await anext(body, None)

    async def chained() -> AsyncIterator[bytes]:
        if first is not None:
            yield first
        async for chunk in body:
            yield chunk

    return chained()


class AwsChunkedDecodeError(ValueError):
    """The body does not follow the ``aws-chunked`` framing it announced."""


async def decode_aws_chunked(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The payload of an ``aws-chunked`` body: ``<hex size>[;chunk-signature=...]\\r\\n<data>\\r\\n``
    per chunk, a zero-size chunk last, then optional trailer lines (which are dropped)."""
    buffer = bytearray()
    source = body.__aiter__()

    async def fill() -> bool:
        try:
            buffer.extend(await source.__anext__())
            return True
        except StopAsyncIteration:
            return False

    while True:
        while (end := buffer.find(b"\r\n")) < 0:
            if len(buffer) > 4096 or not await fill():
                raise AwsChunkedDecodeError("an aws-chunked chunk header is missing or too long")
        header = bytes(buffer[:end]).split(b";", 1)[0].strip()
        try:
            size = int(header, 16)
        except ValueError:
            raise AwsChunkedDecodeError(f"bad aws-chunked chunk size {header[:20]!r}") from None
        del buffer[: end + 2]
        if size == 0:
            while await fill():  # the trailer: checksum and trailer-signature lines
                pass
            return
        remaining = size
        while remaining:
            if not buffer and not await fill():
                raise AwsChunkedDecodeError("the aws-chunked body ended inside a chunk")
            piece = bytes(buffer[:remaining])
            del buffer[: len(piece)]
            remaining -= len(piece)
            yield piece
        while len(buffer) < 2:
            if not await fill():
                raise AwsChunkedDecodeError("an aws-chunked chunk is not followed by CRLF")
        del buffer[:2]


class S3Proxy:
    """Forwards ASGI HTTP requests to the object store's S3 gateway."""

    def __init__(self, store_endpoint: str, access_key: str, secret_key: str):
        self.store_endpoint = store_endpoint.rstrip("/")
        self._signer = _StoreSigner(Credentials(access_key, secret_key), "s3", REGION)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0), follow_redirects=False)
        # No default Accept-Encoding & co.: the store must see exactly the client's headers.
        self._client.headers.clear()

    async def forward(self, scope: dict, receive: Receive, send: Send, bucket: str | None) -> None:
        """Forward one request; ``bucket`` is set when the client addressed it virtual-host style."""
        original: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            original[name] = f"{original[name]},{value}" if name in original else value
        headers = {name: value for name, value in original.items() if name not in _DROPPED_REQUEST_HEADERS}
        if headers.get(_SSE, "").startswith("aws:kms"):
            # The store has no KMS and fails such a write (InternalError), where S3 encrypts it with the
            # account's AWS managed key. The SageMaker SDK asks for that on every source archive it
            # uploads (fw_utils.tar_and_upload_dir). The store's own encryption at rest stands in.
            headers[_SSE] = "AES256"
            for name in _KMS_HEADERS:
                headers.pop(name, None)
        content_sha = original.get("x-amz-content-sha256", "")
        length = original.get("content-length", "")
        has_body = bool(length) or "transfer-encoding" in original
        body = _request_body(receive) if has_body else None
        if body is not None and content_sha.startswith(_SIGNED_CHUNKS):
            body = decode_aws_chunked(body)
            length = headers.pop("x-amz-decoded-content-length", "")
            headers.pop("x-amz-trailer", None)
            encodings = [e.strip() for e in headers.pop("content-encoding", "").split(",") if e.strip()]
            if remaining := [e for e in encodings if e.lower() != "aws-chunked"]:
                headers["content-encoding"] = ",".join(remaining)
            content_sha = UNSIGNED_PAYLOAD
        elif content_sha != _UNSIGNED_TRAILER:
            content_sha = UNSIGNED_PAYLOAD
        if length:
            headers["content-length"] = length
        if body is not None and length != "0":
            try:
                body = await _primed(body)
            except AwsChunkedDecodeError as error:
                return await _s3_error(
                    send, 400, "IncompleteBody", f"The aws-chunked body is malformed: {error}"
                )
            except ConnectionError:
                return  # the client went away before sending a byte of its body: nothing to store
        path = canonical_path(scope.get("raw_path") or scope["path"].encode(), bucket)
        query = canonical_query(scope.get("query_string", b""))
        url = f"{self.store_endpoint}{path}" + (f"?{query}" if query else "")
        signed = AWSRequest(method=scope["method"], url=url, headers=headers)
        signed.context["content_sha256"] = content_sha
        self._signer.add_auth(signed)
        request = self._client.build_request(
            scope["method"], httpx.URL(url), headers=list(signed.headers.items()), content=body
        )
        try:
            response = await self._client.send(request, stream=True)
        except AwsChunkedDecodeError as error:
            return await _s3_error(
                send, 400, "IncompleteBody", f"The aws-chunked request body is malformed: {error}"
            )
        except httpx.HTTPError as error:
            return await _s3_error(
                send, 503, "ServiceUnavailable", f"The object store did not answer: {type(error).__name__}"
            )
        try:
            if (
                scope["method"] == "PUT"
                and path.count("/") == 1
                and not query
                and response.status_code == 409
            ):
                await response.aread()
                if b"<Code>BucketAlreadyOwnedByYou</Code>" in response.content:
                    # us-east-1 answers 200 to a CreateBucket of a bucket its caller already owns (S3 API
                    # reference, CreateBucket: "BucketAlreadyOwnedByYou ... except in us-east-1").
                    headers = [(b"location", path.encode()), (b"content-length", b"0")]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (name, value)
                        for name, value in response.headers.raw
                        if name.lower().decode("latin-1") not in _DROPPED_RESPONSE_HEADERS
                        and not name.lower().startswith(b"access-control-")
                    ],
                }
            )
            if response.is_stream_consumed:  # read above, to look for BucketAlreadyOwnedByYou
                await send({"type": "http.response.body", "body": response.content})
                return
            async for chunk in response.aiter_raw(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


async def _s3_error(send: Send, status: int, code: str, message: str) -> None:
    """An S3 error document, for failures the store never saw."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
    ).encode()
    headers = [(b"content-type", b"application/xml"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""Downloads into a cache keyed by checksum: atomic, verified, retried on transient errors.

A file reaches its final cache path only after its size and checksum matched, by ``os.replace`` of a
temporary file in the same directory, so an interrupted or corrupt download never looks complete.
"""

from __future__ import annotations

import http.client
import logging
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from include.mnist.checksums import Digest, file_hexdigest, matching_digest
from include.mnist.errors import ChecksumMismatchError, DownloadError

log = logging.getLogger(__name__)

CACHE_ENV_VAR = "MNIST_CACHE_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """``$MNIST_CACHE_DIR`` if set, else ``.cache/mnist`` in the checkout (which git ignores)."""
    configured = os.environ.get(CACHE_ENV_VAR)
    return Path(configured) if configured else _REPO_ROOT / ".cache" / "mnist"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient network errors: ``attempts`` tries in all."""

    attempts: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    timeout: float = 60.0

    def delays(self) -> Iterable[float]:
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            yield min(delay, self.max_delay)
            delay *= 2


class _TransientError(Exception):
    """A failure worth retrying: timeouts, resets, refused connections, 5xx, short reads."""


def _classify_http_error(url: str, exc: Exception) -> Exception:
    """Turn a urllib/http.client failure into a retryable or a final error."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code >= 500 or exc.code == 429:
            return _TransientError(f"HTTP {exc.code} {exc.reason}")
        return DownloadError(f"GET {url} failed with HTTP {exc.code} {exc.reason}")
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return DownloadError(f"GET {url} failed: {reason}")
    if isinstance(reason, OSError | http.client.HTTPException):
        return _TransientError(f"{type(reason).__name__}: {reason}")
    return DownloadError(f"GET {url} failed: {reason}")


def _stream_http(url: str, out: BinaryIO, timeout: float) -> None:
    """Copy the body of ``url`` into ``out``; a body shorter than Content-Length is a transient error.

    Only network failures are classified; an error writing ``out`` (a full disk) propagates unchanged.
    """
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _classify_http_error(url, exc) from exc
    with response:
        declared = response.headers.get("Content-Length")
        received = 0
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (http.client.HTTPException, OSError) as exc:
                raise _classify_http_error(url, exc) from exc
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
    if declared is not None and received != int(declared):
        raise _TransientError(f"connection closed after {received} of {declared} bytes")


def _s3_location(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path.lstrip("/")


def _stream_s3(client: Any, url: str, out: BinaryIO) -> None:
    """Copy an S3 object into ``out`` through a boto3 client (botocore does its own retries)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _s3_location(url)
    try:
        client.download_fileobj(bucket, key, out)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NoSuchBucket"):
            raise DownloadError(f"{url} does not exist (S3 error {code})") from exc
        raise DownloadError(f"could not read {url}: {exc}") from exc
    except BotoCoreError as exc:
        raise DownloadError(f"could not reach S3 for {url}: {exc}") from exc


def _default_s3_client() -> Any:
    import boto3

    return boto3.client("s3")


class DownloadCache:
    """Files fetched from URLs, stored as ``<root>/<algorithm>/<hexdigest>/<filename>``.

    Args:
        root: cache directory; defaults to :func:`default_cache_dir`.
        retry: backoff policy for transient HTTP errors.
        s3_client: a boto3 S3 client for ``s3://`` URLs (from Airflow: ``S3Hook(aws_conn_id).get_conn()``,
            so the connection's endpoint_url is honoured); a default boto3 client if omitted.
        sleep: how to wait between retries (a test can record the delays instead).
    """

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        retry: RetryPolicy | None = None,
        s3_client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.retry = retry or RetryPolicy()
        self._s3_client = s3_client
        self._sleep = sleep

    def path_for(self, digest: Digest, filename: str) -> Path:
        """Where a file with this checksum lives once it is cached."""
        return self.root / digest.algorithm / digest.hexdigest / filename

    def fetch(self, url: str, digest: Digest, *, source: str) -> Path:
        """The cached path of ``url``'s content, downloading and verifying it first if needed.

        Args:
            url: ``http(s)://`` or ``s3://`` URL of the file.
            digest: the checksum (and size, if known) the bytes must have.
            source: the user's source spec, named in every error.

        Raises:
            DownloadError: unreachable host after all retries, HTTP 4xx, missing S3 object.
            ChecksumMismatchError: the bytes differ from ``digest``; nothing is cached.
        """
        filename = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        final = self.path_for(digest, filename)
        if final.exists():
            if matching_digest(final, [digest]) is not None:
                log.info("Using cached %s for %s", final, url)
                return final
            log.warning("Cached %s does not match %s any more; downloading it again", final, digest)
            final.unlink(missing_ok=True)
        final.parent.mkdir(parents=True, exist_ok=True)

        scheme = urlsplit(url).scheme.lower()
        fd, temp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{filename}.", suffix=".part")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                if scheme == "s3":
                    _stream_s3(self._s3_client or _default_s3_client(), url, out)
                else:
                    self._download_with_retries(url, out, source=source)
            self._verify(temp, digest, url=url, source=source)
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        log.info("Downloaded %s to %s (%s verified)", url, final, digest.algorithm)
        return final

    def _download_with_retries(self, url: str, out: BinaryIO, *, source: str) -> None:
        delays = iter(self.retry.delays())
        attempt = 0
        while True:
            attempt += 1
            out.seek(0)
            out.truncate()
            try:
                _stream_http(url, out, self.retry.timeout)
                return
            except DownloadError as exc:
                raise DownloadError(f"MNIST source {source!r}: {exc}") from exc
            except _TransientError as exc:
                delay = next(delays, None)
                if delay is None:
                    raise DownloadError(
                        f"MNIST source {source!r} unreachable: GET {url} failed after {attempt} attempts, "
                        f"last error: {exc}"
                    ) from exc
                log.warning("GET %s failed (%s); retry %d in %.1fs", url, exc, attempt, delay)
                self._sleep(delay)

    @staticmethod
    def _verify(path: Path, digest: Digest, *, url: str, source: str) -> None:
        if matching_digest(path, [digest]) is not None:
            return
        size = path.stat().st_size
        actual = file_hexdigest(path, digest.algorithm)
        expected_size = f", {digest.size} bytes" if digest.size is not None else ""
        raise ChecksumMismatchError(
            f"MNIST source {source!r}: {url} has {digest.algorithm} {actual} ({size} bytes), "
            f"expected {digest.hexdigest}{expected_size}; the download was discarded"
        )

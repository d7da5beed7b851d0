"""The download cache against a real HTTP server on 127.0.0.1: verified, atomic, retried when it should be."""

from __future__ import annotations

import hashlib
import socket

import pytest

from include.mnist.checksums import Digest
from include.mnist.errors import ChecksumMismatchError, DownloadError
from include.mnist.fetch import DownloadCache, RetryPolicy, default_cache_dir
from tests.mnist.mnist_testdata import cached_files

PAYLOAD = b"MNIST bytes " * 1000
DIGEST = Digest("sha256", hashlib.sha256(PAYLOAD).hexdigest(), len(PAYLOAD))
FAST_RETRY = RetryPolicy(attempts=3, initial_delay=0.25, timeout=5)


@pytest.fixture
def cache(cache_dir):
    delays: list[float] = []
    store = DownloadCache(cache_dir, retry=FAST_RETRY, sleep=delays.append)
    store.delays = delays
    return store


def test_download_is_verified_and_cached_by_checksum(cache, file_server):
    file_server.files["data.bin"] = PAYLOAD
    path = cache.fetch(file_server.url("data.bin"), DIGEST, source="test")
    assert path == cache.root / "sha256" / DIGEST.hexdigest / "data.bin"
    assert path.read_bytes() == PAYLOAD
    assert cached_files(cache.root) == [path]

    assert cache.fetch(file_server.url("data.bin"), DIGEST, source="test") == path
    assert file_server.requests["data.bin"] == 1, "a cached file is not downloaded again"


def test_md5_digests_work_too(cache, file_server):
    file_server.files["mnist.pkl.gz"] = PAYLOAD
    digest = Digest("md5", hashlib.md5(PAYLOAD).hexdigest())
    assert cache.fetch(file_server.url("mnist.pkl.gz"), digest, source="t").read_bytes() == PAYLOAD


def test_checksum_mismatch_caches_nothing_and_is_not_retried(cache, file_server):
    file_server.files["data.bin"] = PAYLOAD + b"!"
    with pytest.raises(ChecksumMismatchError) as raised:
        cache.fetch(file_server.url("data.bin"), DIGEST, source="my-mirror")
    message = str(raised.value)
    assert "'my-mirror'" in message
    assert file_server.url("data.bin") in message
    assert f"expected {DIGEST.hexdigest}, {len(PAYLOAD)} bytes" in message
    assert cached_files(cache.root) == []
    assert file_server.requests["data.bin"] == 1


def test_transient_5xx_is_retried_with_backoff(cache, file_server):
    file_server.files["data.bin"] = PAYLOAD
    file_server.faults["data.bin"] = [503, 500]
    path = cache.fetch(file_server.url("data.bin"), DIGEST, source="test")
    assert path.read_bytes() == PAYLOAD
    assert file_server.requests["data.bin"] == 3
    assert cache.delays == [0.25, 0.5]


def test_a_timeout_is_retried(cache_dir, file_server):
    file_server.files["data.bin"] = PAYLOAD
    file_server.faults["data.bin"] = ["stall"]
    delays: list[float] = []
    retry = RetryPolicy(attempts=2, initial_delay=0.1, timeout=0.2)
    cache = DownloadCache(cache_dir, retry=retry, sleep=delays.append)
    assert cache.fetch(file_server.url("data.bin"), DIGEST, source="test").read_bytes() == PAYLOAD
    assert file_server.requests["data.bin"] == 2
    assert delays == [0.1]


def test_truncated_transfer_is_retried_and_never_cached(cache, file_server):
    file_server.files["data.bin"] = PAYLOAD
    file_server.faults["data.bin"] = ["truncate", "truncate", "truncate"]
    with pytest.raises(
        DownloadError, match=r"'test' unreachable: .* after 3 attempts.*connection closed after"
    ):
        cache.fetch(file_server.url("data.bin"), DIGEST, source="test")
    assert cached_files(cache.root) == []


def test_404_fails_at_once(cache, file_server):
    with pytest.raises(DownloadError, match=r"MNIST source 'test': GET .*/missing\.bin failed with HTTP 404"):
        cache.fetch(file_server.url("missing.bin"), DIGEST, source="test")
    assert file_server.requests["missing.bin"] == 1
    assert cache.delays == []


def test_unreachable_mirror_is_retried_then_named(cache):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/data.bin"
    with pytest.raises(DownloadError) as raised:
        cache.fetch(url, DIGEST, source="http://127.0.0.1/")
    assert "MNIST source 'http://127.0.0.1/' unreachable" in str(raised.value)
    assert "after 3 attempts" in str(raised.value)
    assert len(cache.delays) == 2
    assert cached_files(cache.root) == []


def test_a_corrupted_cache_entry_is_downloaded_again(cache, file_server):
    file_server.files["data.bin"] = PAYLOAD
    path = cache.fetch(file_server.url("data.bin"), DIGEST, source="test")
    path.write_bytes(b"bit rot")
    assert cache.fetch(file_server.url("data.bin"), DIGEST, source="test").read_bytes() == PAYLOAD
    assert file_server.requests["data.bin"] == 2


def test_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("MNIST_CACHE_DIR")
    assert default_cache_dir().parts[-2:] == (".cache", "mnist")

"""Fixtures for the MNIST tests: small IDX / pickle files built here, served on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tests.mnist.mnist_testdata import FileServer, TinyMnist, make_handler


@pytest.fixture
def tiny() -> TinyMnist:
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, size=(16, 784), dtype=np.uint8)
    images[images < 128] = 0  # MNIST-like sparsity, so libsvm skips zeros
    labels = np.arange(16, dtype=np.uint8) % 10
    return TinyMnist(images[:12], labels[:12], images[12:], labels[12:])


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """A file server on an ephemeral 127.0.0.1 port, stopped after the test."""
    state = FileServer(base_url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    httpd.timeout = 5
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"

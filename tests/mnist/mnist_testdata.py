"""Small MNIST-shaped files built by the tests themselves (no download, no Debian package)."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np

from include.mnist.idx import encode_idx

STALL_SECONDS = 0.6

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass
class TinyMnist:
    """Deterministic small MNIST-shaped arrays: 12 training and 4 test images."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def idx_bytes(self) -> dict[str, bytes]:
        """The four gzip-compressed IDX files, by canonical file name."""
        return {
            IDX_NAMES["train_images"]: gzip.compress(encode_idx(self.train_images.reshape(-1, 28, 28))),
            IDX_NAMES["train_labels"]: gzip.compress(encode_idx(self.train_labels)),
            IDX_NAMES["test_images"]: gzip.compress(encode_idx(self.test_images.reshape(-1, 28, 28))),
            IDX_NAMES["test_labels"]: gzip.compress(encode_idx(self.test_labels)),
        }

    def pickle_bytes(self, protocol: int = 2) -> bytes:
        """An ``mnist.pkl.gz`` in the SageMaker examples' layout (train 8, valid 4, test 4)."""
        floats = self.train_images.astype(np.float32) / 255
        test = self.test_images.astype(np.float32) / 255
        content = (
            (floats[:8], self.train_labels[:8].astype(np.int64)),
            (floats[8:], self.train_labels[8:].astype(np.int64)),
            (test, self.test_labels.astype(np.int64)),
        )
        return gzip.compress(pickle.dumps(content, protocol=protocol))


def sha256_spec(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def cached_files(root: Path) -> list[Path]:
    """Every file under the cache, including hidden temporary ones."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@dataclass
class FileServer:
    """An HTTP server on 127.0.0.1 serving ``files``; ``faults[path]`` is a queue of failures to inject.

    A fault is an HTTP status (e.g. 503), ``"truncate"`` (send half the body, then close) or ``"stall"``
    (wait ``STALL_SECONDS`` before answering, to trip a client's timeout).
    """

    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, list[int | str]] = field(default_factory=lambda: defaultdict(list))
    requests: Counter = field(default_factory=Counter)

    def url(self, name: str) -> str:
        return self.base_url + name


def make_handler(server_state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            server_state.requests[name] += 1
            queue = server_state.faults.get(name)
            fault = queue.pop(0) if queue else None
            body = server_state.files.get(name)
            if fault == "stall":
                time.sleep(STALL_SECONDS)
                return  # the client has given up by now; answering would only hit a closed socket
            if isinstance(fault, int):
                self.send_error(fault)
                return
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if fault == "truncate" else body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler

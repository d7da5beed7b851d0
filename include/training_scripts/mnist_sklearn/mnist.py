"""An MNIST multilayer perceptron in scikit-learn, for SageMaker's scikit-learn framework images.

Training contract: the same as the MXNet Module script beside it (``mnist_mxnet/mnist.py``):

- the ``train`` channel (``SM_CHANNEL_TRAIN``) holds ``train-images-idx3-ubyte.gz`` and
  ``train-labels-idx1-ubyte.gz``, the ``test`` channel (``SM_CHANNEL_TEST``) ``t10k-images-idx3-ubyte.gz``
  and ``t10k-labels-idx1-ubyte.gz``, gzip-compressed or not;
- hyperparameters ``--batch-size`` (100, the solver's mini-batch), ``--epochs`` (10, its ``max_iter``: one
  ``partial_fit`` pass each), ``--learning-rate`` (0.1, its ``learning_rate_init``, plain SGD) and ``--seed``
  (0, its ``random_state``); with several hosts each trains on all the data and only the first saves;
- ``--model-dir``, ``--current-host`` and ``--hosts`` default to ``SM_MODEL_DIR``, ``SM_CURRENT_HOST`` and
  ``SM_HOSTS``.

After every epoch it prints ``Epoch[3] Train-accuracy=0.962000`` and ``Epoch[3] Validation-accuracy=0.951000``
(accuracy on the test channel), the lines MXNet's Module.fit logs, so one metric definition fits all three.

The model directory receives ``model.joblib``. The scikit-learn image has no default ``model_fn`` and its
default ``predict_fn`` answers labels, so the script defines the four serving handlers: a ``text/csv``
request (rows of 784 pixels scaled to [0, 1]; a JSON list of rows works too) is answered in JSON with one
list of ten class probabilities per row, ``[[p0, ..., p9]]``, as the MXNet image answers for the Module
script; ``Accept: text/csv`` gets the same probabilities as CSV rows.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
from pathlib import Path

import joblib
import numpy as np
from sklearn.neural_network import MLPClassifier

CHANNEL_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
PIXELS = 28 * 28
DIGITS = np.arange(10)
MODEL_FILE = "model.joblib"
CSV, JSON = "text/csv", "application/json"


class UnsupportedMediaType(ValueError):
    """A request or accept type this script does not handle; the model server answers 415."""

    status_code = 415


def read_idx(path: Path) -> np.ndarray:
    """The unsigned-byte array of an IDX file: 2 zero bytes, type 0x08, rank, big-endian uint32 sizes."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (header {raw[:4].hex()})")
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    offset = 4 + 4 * rank
    if len(raw) - offset != int(np.prod(shape)):
        raise ValueError(f"{path}: header declares shape {shape} but holds {len(raw) - offset} data bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def read_channel(directory: str, channel: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 784 pixels scaled to [0, 1] and their labels, from one channel's IDX pair."""
    folder = Path(directory)
    paths = [folder / name for name in CHANNEL_FILES[channel]]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else "no such directory"
        raise FileNotFoundError(f"The {channel} channel {directory} lacks {missing}; it holds {present}")
    images, labels = (read_idx(path) for path in paths)
    if len(images) != len(labels):
        raise ValueError(f"The {channel} channel has {len(images)} images but {len(labels)} labels")
    return images.reshape(-1, PIXELS).astype(np.float32) / 255, labels.astype(np.int64)


def host_list(value: str) -> list[str]:
    """``SM_HOSTS`` is a JSON list; a comma-separated list is accepted on the command line too."""
    try:
        hosts = json.loads(value)
    except json.JSONDecodeError:
        hosts = [host for host in value.split(",") if host]
    if not isinstance(hosts, list) or not hosts:
        raise argparse.ArgumentTypeError(f"--hosts must name at least one host, got {value!r}")
    return hosts


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0, help="for the initial weights and the shuffles")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", default=os.environ.get("SM_CHANNEL_TEST"))
    parser.add_argument("--current-host", default=os.environ.get("SM_CURRENT_HOST", "algo-1"))
    parser.add_argument("--hosts", type=host_list, default=os.environ.get("SM_HOSTS", '["algo-1"]'))
    arguments = parser.parse_args(argv)
    for name in ("model_dir", "train", "test"):
        if not getattr(arguments, name):
            parser.error(f"--{name.replace('_', '-')} is required outside SageMaker")
    if arguments.current_host not in arguments.hosts:
        parser.error(f"--current-host {arguments.current_host!r} is not one of --hosts {arguments.hosts}")
    return arguments


def train(arguments: argparse.Namespace) -> MLPClassifier:
    train_pixels, train_labels = read_channel(arguments.train, "train")
    test_pixels, test_labels = read_channel(arguments.test, "test")
    model = MLPClassifier(
        hidden_layer_sizes=(128, 64),
        solver="sgd",
        momentum=0.0,
        learning_rate_init=arguments.learning_rate,
        batch_size=arguments.batch_size,
        max_iter=arguments.epochs,
        random_state=arguments.seed,
    )
    # One partial_fit is one epoch, which lets every epoch report its accuracies as it ends.
    for epoch in range(arguments.epochs):
        model.partial_fit(train_pixels, train_labels, classes=DIGITS)
        print(f"Epoch[{epoch}] Train-accuracy={model.score(train_pixels, train_labels):f}")
        print(f"Epoch[{epoch}] Validation-accuracy={model.score(test_pixels, test_labels):f}", flush=True)
    return model


def model_fn(model_dir: str) -> MLPClassifier:
    return joblib.load(os.path.join(model_dir, MODEL_FILE))


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def input_fn(request_body: str | bytes, content_type: str) -> np.ndarray:
    """Rows of pixels as float32; every number is read as a float, however it is written."""
    media = _media_type(content_type)
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    if media == CSV:
        return np.loadtxt(io.StringIO(request_body), delimiter=",", dtype=np.float32, ndmin=2)
    if media == JSON:
        return np.atleast_2d(np.asarray(json.loads(request_body), dtype=np.float32))
    raise UnsupportedMediaType(f"Content type {content_type!r} is not supported; send {CSV} or {JSON}")


def predict_fn(pixels: np.ndarray, model: MLPClassifier) -> np.ndarray:
    """Class probabilities, one row of ten per image."""
    if pixels.ndim != 2 or pixels.shape[1] != model.n_features_in_:
        raise ValueError(
            f"Each record needs {model.n_features_in_} pixel values; got records of shape {pixels.shape[1:]}"
        )
    return model.predict_proba(pixels)


def output_fn(probabilities: np.ndarray, accept: str | None) -> tuple[str, str]:
    for media in (_media_type(part) for part in (accept or JSON).split(",")):
        if media in (JSON, "*/*"):
            return json.dumps(probabilities.tolist()), JSON
        if media == CSV:
            return "".join(",".join(map(repr, row)) + "\n" for row in probabilities.tolist()), CSV
    raise UnsupportedMediaType(f"Accept {accept!r} is not supported; accept {JSON} or {CSV}")


if __name__ == "__main__":
    options = parse_arguments()
    fitted = train(options)
    if options.current_host == options.hosts[0]:
        joblib.dump(fitted, os.path.join(options.model_dir, MODEL_FILE))

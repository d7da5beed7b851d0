"""An MNIST multilayer perceptron written with MXNet's Module API, for SageMaker's MXNet framework images.

Training contract (the sagemaker-training toolkit runs ``python mnist.py --batch-size 100 ...``):

- the ``train`` channel (``SM_CHANNEL_TRAIN``) holds ``train-images-idx3-ubyte.gz`` and
  ``train-labels-idx1-ubyte.gz``, the ``test`` channel (``SM_CHANNEL_TEST``) ``t10k-images-idx3-ubyte.gz``
  and ``t10k-labels-idx1-ubyte.gz``: the IDX files as published, gzip-compressed or not;
- hyperparameters ``--batch-size`` (100), ``--epochs`` (10), ``--learning-rate`` (0.1), ``--seed`` (0);
- ``--model-dir``, ``--current-host`` and ``--hosts`` default to ``SM_MODEL_DIR``, ``SM_CURRENT_HOST`` and
  ``SM_HOSTS``. With several hosts each trains on its share of the images through a ``dist_sync``
  key-value store (the MXNet image starts the parameter servers), and only the first host saves.

Module.fit logs ``Epoch[3] Validation-accuracy=0.951000`` after every epoch, which a training job's metric
definitions can pick up.

The model directory receives ``model-symbol.json``, ``model-0000.params`` and ``model-shapes.json``: the
three files that the MXNet serving image's default Module handlers (package sagemaker-mxnet-inference) load
when the script defines no ``model_fn``, so this script defines none. Those handlers reshape each
``text/csv`` row of 784 pixels to the saved input shape and answer JSON, one list of ten class
probabilities per row: ``[[p0, ..., p9]]``. Pixels are expected scaled to [0, 1], as in training.
"""

# No ``from __future__ import annotations``: the mxnet-training:1.6.0 image runs Python 3.6, so annotations
# that 3.6 cannot evaluate are written as strings.
import argparse
import gzip
import json
import logging
import os
from pathlib import Path

import mxnet as mx
import numpy as np

CHANNEL_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# Each sample is one channel-first image, as the SageMaker example's Module saw it; the default handlers
# reshape every CSV row to this shape.
IMAGE_SHAPE = (1, 28, 28)
CHECKPOINT_PREFIX = "model"
SHAPES_FILE = "model-shapes.json"


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


def read_channel(directory: str, channel: str) -> "tuple[np.ndarray, np.ndarray]":
    """Images scaled to [0, 1] in ``IMAGE_SHAPE`` and their labels, from one channel's IDX pair."""
    folder = Path(directory)
    paths = [folder / name for name in CHANNEL_FILES[channel]]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else "no such directory"
        raise FileNotFoundError(f"The {channel} channel {directory} lacks {missing}; it holds {present}")
    images, labels = (read_idx(path) for path in paths)
    if len(images) != len(labels):
        raise ValueError(f"The {channel} channel has {len(images)} images but {len(labels)} labels")
    return images.reshape((-1, *IMAGE_SHAPE)).astype(np.float32) / 255, labels.astype(np.float32)


def build_network() -> mx.sym.Symbol:
    """784 → 128 (ReLU) → 64 (ReLU) → 10, with a softmax output whose label input is ``softmax_label``."""
    layer = mx.sym.flatten(mx.sym.var("data"))
    for width in (128, 64):
        layer = mx.sym.Activation(mx.sym.FullyConnected(layer, num_hidden=width), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(layer, num_hidden=10), name="softmax")


def host_list(value: str) -> "list[str]":
    """``SM_HOSTS`` is a JSON list; a comma-separated list is accepted on the command line too."""
    try:
        hosts = json.loads(value)
    except json.JSONDecodeError:
        hosts = [host for host in value.split(",") if host]
    if not isinstance(hosts, list) or not hosts:
        raise argparse.ArgumentTypeError(f"--hosts must name at least one host, got {value!r}")
    return hosts


def parse_arguments(argv: "list[str] | None" = None) -> argparse.Namespace:
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


def train(arguments: argparse.Namespace) -> mx.mod.Module:
    mx.random.seed(arguments.seed)
    np.random.seed(arguments.seed)  # NDArrayIter shuffles with numpy's global generator
    train_images, train_labels = read_channel(arguments.train, "train")
    test_images, test_labels = read_channel(arguments.test, "test")

    hosts = arguments.hosts
    share = len(train_images) // len(hosts)
    start = hosts.index(arguments.current_host) * share
    train_iter = mx.io.NDArrayIter(
        train_images[start : start + share],
        train_labels[start : start + share],
        arguments.batch_size,
        shuffle=True,
    )
    test_iter = mx.io.NDArrayIter(test_images, test_labels, arguments.batch_size)

    gpus = int(os.environ.get("SM_NUM_GPUS", "0"))
    module = mx.mod.Module(build_network(), context=[mx.gpu(i) for i in range(gpus)] or mx.cpu())
    module.fit(
        train_iter,
        eval_data=test_iter,
        kvstore="local" if len(hosts) == 1 else "dist_sync",
        # The default uniform(±0.01) start takes a few hundred batches to leave its plateau, a whole epoch
        # of small data sets; Xavier starts learning at once.
        initializer=mx.init.Xavier(magnitude=2.0),
        optimizer="sgd",
        optimizer_params={"learning_rate": arguments.learning_rate},
        eval_metric="acc",
        batch_end_callback=mx.callback.Speedometer(arguments.batch_size, 100),
        num_epoch=arguments.epochs,
    )
    return module


def save(module: mx.mod.Module, model_dir: str) -> None:
    """The three files the serving image's default ``model_fn`` reads; it rebinds to batch size 1 itself."""
    module.save_checkpoint(os.path.join(model_dir, CHECKPOINT_PREFIX), 0)
    shapes = [{"name": desc.name, "shape": list(desc.shape)} for desc in module.data_shapes]
    Path(model_dir, SHAPES_FILE).write_text(json.dumps(shapes))


if __name__ == "__main__":
    # Module.fit reports accuracies through the logging module, at INFO.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options = parse_arguments()
    fitted = train(options)
    if options.current_host == options.hosts[0]:
        save(fitted, options.model_dir)

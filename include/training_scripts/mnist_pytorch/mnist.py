"""An MNIST multilayer perceptron in PyTorch, for SageMaker's PyTorch framework images.

Training contract: the same as the MXNet Module script beside it (``mnist_mxnet/mnist.py``):

- the ``train`` channel (``SM_CHANNEL_TRAIN``) holds ``train-images-idx3-ubyte.gz`` and
  ``train-labels-idx1-ubyte.gz``, the ``test`` channel (``SM_CHANNEL_TEST``) ``t10k-images-idx3-ubyte.gz``
  and ``t10k-labels-idx1-ubyte.gz``, gzip-compressed or not;
- hyperparameters ``--batch-size`` (100), ``--epochs`` (10), ``--learning-rate`` (0.1, plain SGD) and
  ``--seed`` (0); ``--backend`` is accepted and ignored, since training is not distributed: with several
  hosts each trains on all the data and only the first saves;
- ``--model-dir``, ``--current-host`` and ``--hosts`` default to ``SM_MODEL_DIR``, ``SM_CURRENT_HOST`` and
  ``SM_HOSTS``.

After every epoch it prints ``Epoch[3] Train-accuracy=0.962000`` and ``Epoch[3] Validation-accuracy=0.951000``
(accuracy on the test channel), the lines MXNet's Module.fit logs, so one metric definition fits both.

The model directory receives ``model.pth``, the network's state dict. Serving uses the PyTorch serving
image's default handlers (package sagemaker-pytorch-inference) for everything but loading: ``model_fn``
returns a network that accepts what the default ``input_fn`` decodes (a ``text/csv`` row of 784 pixels
becomes a 1-D float tensor) and ends in a softmax, so the default ``output_fn`` answers JSON with one list
of ten class probabilities per row, ``[[p0, ..., p9]]``, as the MXNet image does for the Module script.
Pixels are expected scaled to [0, 1], as in training.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

CHANNEL_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
PIXELS = 28 * 28
MODEL_FILE = "model.pth"


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


def read_channel(directory: str, channel: str) -> tuple[torch.Tensor, torch.Tensor]:
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
    pixels = torch.from_numpy(images.reshape(-1, PIXELS).astype(np.float32) / 255)
    return pixels, torch.from_numpy(labels.astype(np.int64))


class PixelRows(nn.Module):
    """Reads any batch of images (or one flat image) as float32 rows of 784 pixels."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.reshape(-1, PIXELS).to(torch.float32)


def build_network() -> nn.Sequential:
    """784 → 128 (ReLU) → 64 (ReLU) → 10 class scores (logits)."""
    return nn.Sequential(
        PixelRows(),
        nn.Linear(PIXELS, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


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
    parser.add_argument("--backend", help="ignored: training runs on one host")
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


def accuracy(network: nn.Module, pixels: torch.Tensor, labels: torch.Tensor) -> float:
    network.eval()
    with torch.no_grad():
        return (network(pixels).argmax(dim=1) == labels).float().mean().item()


def train(arguments: argparse.Namespace) -> nn.Sequential:
    torch.manual_seed(arguments.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_pixels, train_labels = (t.to(device) for t in read_channel(arguments.train, "train"))
    test_pixels, test_labels = (t.to(device) for t in read_channel(arguments.test, "test"))

    network = build_network().to(device)
    optimizer = torch.optim.SGD(network.parameters(), lr=arguments.learning_rate)
    loss_function = nn.CrossEntropyLoss()
    for epoch in range(arguments.epochs):
        network.train()
        for batch in torch.randperm(len(train_pixels), device=device).split(arguments.batch_size):
            optimizer.zero_grad()
            loss_function(network(train_pixels[batch]), train_labels[batch]).backward()
            optimizer.step()
        train_accuracy = accuracy(network, train_pixels, train_labels)
        test_accuracy = accuracy(network, test_pixels, test_labels)
        print(f"Epoch[{epoch}] Train-accuracy={train_accuracy:f}")
        print(f"Epoch[{epoch}] Validation-accuracy={test_accuracy:f}", flush=True)
    return network.cpu()


def model_fn(model_dir: str) -> nn.Sequential:
    """The trained network followed by a softmax, so that predictions are class probabilities."""
    network = build_network()
    state = torch.load(os.path.join(model_dir, MODEL_FILE), map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    return nn.Sequential(network, nn.Softmax(dim=1)).eval()


if __name__ == "__main__":
    options = parse_arguments()
    fitted = train(options)
    if options.current_host == options.hosts[0]:
        torch.save(fitted.state_dict(), os.path.join(options.model_dir, MODEL_FILE))

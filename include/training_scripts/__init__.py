"""Entry-point scripts that SageMaker runs in script mode, one source directory each.

A source directory is shipped as it is (``sourcedir.tar.gz``) and runs inside a framework image, so its
scripts import nothing from this project.

The three ``mnist.py`` scripts (MXNet Module API, PyTorch, scikit-learn) share one contract: gzip IDX files
in ``train`` and ``test`` channels, ``--batch-size/--epochs/--learning-rate``, and a ``text/csv`` row of 784
pixels answered as ``[[p0, ..., p9]]`` in JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).resolve().parent

MNIST_CLASSIFIER = _HERE / "mnist_classifier"
MNIST_CLASSIFIER_ENTRY_POINT = "train.py"
# What the MNIST classifier prints ("train:accuracy=0.9712"), as a training job's MetricDefinitions.
MNIST_CLASSIFIER_METRICS = [
    {"Name": f"{channel}:accuracy", "Regex": rf"{channel}:accuracy=([0-9.]+)"}
    for channel in ("train", "validation")
]


def _epoch_accuracy_metrics() -> list[dict[str, str]]:
    """MetricDefinitions for the epoch lines MXNet's Module.fit logs and the other two scripts print alike:
    ``Epoch[3] Train-accuracy=0.962000`` and ``Epoch[3] Validation-accuracy=0.951000`` (the test channel)."""
    return [
        {"Name": "train:accuracy", "Regex": r"Train-accuracy=([0-9.]+)"},
        {"Name": "validation:accuracy", "Regex": r"Validation-accuracy=([0-9.]+)"},
    ]


MNIST_MXNET = _HERE / "mnist_mxnet"
MNIST_MXNET_ENTRY_POINT = "mnist.py"
MNIST_MXNET_METRICS = _epoch_accuracy_metrics()

MNIST_PYTORCH = _HERE / "mnist_pytorch"
MNIST_PYTORCH_ENTRY_POINT = "mnist.py"
MNIST_PYTORCH_METRICS = _epoch_accuracy_metrics()

MNIST_SKLEARN = _HERE / "mnist_sklearn"
MNIST_SKLEARN_ENTRY_POINT = "mnist.py"
MNIST_SKLEARN_METRICS = _epoch_accuracy_metrics()


@dataclass(frozen=True)
class EntryPoint:
    """One framework's script: its source directory, the entry point in it, and the metrics it logs."""

    source_dir: Path
    script: str
    metrics: list[dict[str, str]]


# The seed's MNIST script per framework, as the SDK's framework estimators name them.
MNIST_ENTRY_POINTS = {
    "mxnet": EntryPoint(MNIST_MXNET, MNIST_MXNET_ENTRY_POINT, MNIST_MXNET_METRICS),
    "pytorch": EntryPoint(MNIST_PYTORCH, MNIST_PYTORCH_ENTRY_POINT, MNIST_PYTORCH_METRICS),
    "sklearn": EntryPoint(MNIST_SKLEARN, MNIST_SKLEARN_ENTRY_POINT, MNIST_SKLEARN_METRICS),
}

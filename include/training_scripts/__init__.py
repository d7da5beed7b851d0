"""Entry-point scripts that SageMaker runs in script mode, one source directory each.

A source directory is shipped as it is (``sourcedir.tar.gz``) and runs inside a framework image, so its
scripts import nothing from this project.
"""

from __future__ import annotations

from pathlib import Path

MNIST_CLASSIFIER = Path(__file__).resolve().parent / "mnist_classifier"
MNIST_CLASSIFIER_ENTRY_POINT = "train.py"
# What the MNIST classifier prints ("train:accuracy=0.9712"), as a training job's MetricDefinitions.
MNIST_CLASSIFIER_METRICS = [
    {"Name": f"{channel}:accuracy", "Regex": rf"{channel}:accuracy=([0-9.]+)"}
    for channel in ("train", "validation")
]

"""Running an entry point the way SageMaker's containers do, for the tests of the framework scripts.

Training: a subprocess of the framework's interpreter in a copy of the source directory, with the
training toolkit's ``SM_*`` variables and the hyperparameters as ``--name value`` arguments. Serving: the
model directory laid out as model.tar.gz unpacks (the entry point under ``code/``), served by the image's
own handler service through ``handler_service_driver.py``.
"""

from __future__ import annotations

import ast
import gzip
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from include.mnist import MnistDataset
from include.mnist.idx import encode_idx

DRIVER = Path(__file__).resolve().parents[1] / "training_scripts" / "handler_service_driver.py"
CHANNEL_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _framework_environment() -> dict[str, str]:
    """This process's environment less what would leak the project into a framework image's interpreter."""
    return {
        key: value
        for key, value in os.environ.items()
        if key != "PYTHONPATH" and not key.startswith(("SM_", "SAGEMAKER_"))
    }


def write_idx_channels(base: Path, digits: MnistDataset) -> dict[str, Path]:
    """The train and test channels as the seed ships them: gzip IDX images (28x28 uint8) and labels."""
    channels = {}
    for channel, (images_name, labels_name) in CHANNEL_FILES.items():
        split = digits.splits[channel]
        directory = base / channel
        directory.mkdir(parents=True)
        pixels = np.rint(split.images * 255).astype(np.uint8).reshape(-1, 28, 28)
        (directory / images_name).write_bytes(gzip.compress(encode_idx(pixels)))
        (directory / labels_name).write_bytes(gzip.compress(encode_idx(split.labels.astype(np.uint8))))
        channels[channel] = directory
    return channels


def train(
    python: str | Path,
    source_dir: Path,
    entry_point: str,
    job_dir: Path,
    channels: dict[str, Path],
    hyperparameters: dict[str, object],
    *,
    current_host: str = "algo-1",
    hosts: Sequence[str] = ("algo-1",),
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Run ``entry_point`` as the training toolkit does; the model directory and the finished process."""
    code_dir, model_dir = job_dir / "code", job_dir / "model"
    shutil.copytree(source_dir, code_dir, ignore=shutil.ignore_patterns("__pycache__"))
    model_dir.mkdir()
    environment = _framework_environment()
    environment.update(
        SM_MODEL_DIR=str(model_dir),
        SM_CHANNELS=json.dumps(sorted(channels)),
        SM_HOSTS=json.dumps(list(hosts)),
        SM_CURRENT_HOST=current_host,
        SM_NUM_GPUS="0",
        SM_HPS=json.dumps(hyperparameters),
        **{f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()},
    )
    arguments = [item for name, value in hyperparameters.items() for item in (f"--{name}", str(value))]
    finished = subprocess.run(
        [str(python), entry_point, *arguments],
        cwd=code_dir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return model_dir, finished


def metric_values(log: str, metric_definitions: list[dict[str, str]]) -> dict[str, list[float]]:
    """Every value each MetricDefinition's regex picks from a training log, as SageMaker reads them."""
    return {
        definition["Name"]: [float(value) for value in re.findall(definition["Regex"], log)]
        for definition in metric_definitions
    }


def csv_row(pixels: np.ndarray) -> str:
    """One ``text/csv`` request line. Every value is written with a decimal point: sagemaker-inference
    decodes CSV with ``genfromtxt(dtype=None)``, which types each column by itself, so a row mixing ``0``
    and ``0.5`` becomes a structured array that the default handlers cannot cast to floats."""
    return ",".join(f"{value:.6f}" for value in pixels)


def serve_csv(
    python: str | Path,
    handler_service: str,
    model_dir: Path,
    source_dir: Path,
    entry_point: str,
    rows: np.ndarray,
) -> list[dict[str, object]]:
    """Answers of the image's ``handler_service`` to one ``text/csv`` request per row."""
    serving_dir = model_dir.parent / "serving"
    shutil.copytree(model_dir, serving_dir)
    shutil.copytree(source_dir, serving_dir / "code", ignore=shutil.ignore_patterns("__pycache__"))
    environment = {**_framework_environment(), "SAGEMAKER_PROGRAM": entry_point}
    finished = subprocess.run(
        [str(python), str(DRIVER), handler_service, str(serving_dir)],
        input="".join(csv_row(row) + "\n" for row in rows),
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return [json.loads(line) for line in finished.stdout.splitlines()]


def predicted_label(answer: str) -> int:
    """The notebook's read-back: the first (only) row of the answer, and its most probable class."""
    probabilities = ast.literal_eval(answer)[0]
    return probabilities.index(max(probabilities))


def top_level_functions(script: Path) -> dict[str, ast.FunctionDef]:
    """Each top-level function of a script, read without importing its framework."""
    return {
        node.name: node for node in ast.parse(script.read_text()).body if isinstance(node, ast.FunctionDef)
    }

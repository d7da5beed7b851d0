"""The MNIST classifier entry point under SageMaker's contracts: trained as the training toolkit runs it
(a subprocess with SM_* variables and CLI hyperparameters), then served through its handlers."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from include.mnist import load_mnist
from include.training_scripts import MNIST_CLASSIFIER, MNIST_CLASSIFIER_ENTRY_POINT

TRAIN_ROWS = 1500


def _write_channel(directory: Path, images: np.ndarray, labels: np.ndarray) -> None:
    directory.mkdir(parents=True)
    rows = np.column_stack([labels, images])
    np.savetxt(directory / "part-00000.csv", rows, delimiter=",", fmt=["%d"] + ["%.6g"] * images.shape[1])


@pytest.fixture(scope="module")
def digits():
    return load_mnist("sample")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, digits) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("opt-ml")
    train, validation = digits.splits["train"], digits.splits["validation"]
    _write_channel(base / "input/data/train", train.images[:TRAIN_ROWS], train.labels[:TRAIN_ROWS])
    _write_channel(base / "input/data/validation", validation.images, validation.labels)
    (base / "model").mkdir()
    environment = {
        **os.environ,
        "SM_MODEL_DIR": str(base / "model"),
        "SM_CHANNEL_TRAIN": str(base / "input/data/train"),
        "SM_CHANNEL_VALIDATION": str(base / "input/data/validation"),
    }
    result = subprocess.run(
        [sys.executable, MNIST_CLASSIFIER_ENTRY_POINT, "--hidden-units", "32", "--max-iter", "15"],
        cwd=MNIST_CLASSIFIER,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return base / "model", result.stdout


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("mnist_classifier_train", MNIST_CLASSIFIER / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_prints_accuracies_and_saves_the_model(trained) -> None:
    model_dir, stdout = trained
    metrics = dict(line.split("=") for line in stdout.splitlines() if ":accuracy=" in line)
    assert float(metrics["train:accuracy"]) > 0.9, stdout
    assert float(metrics["validation:accuracy"]) > 0.8, stdout
    assert (model_dir / "model.joblib").is_file()


def test_handlers_classify_csv_and_json_requests(trained, script, digits) -> None:
    model = script.model_fn(str(trained[0]))
    test = digits.splits["test"]
    body = "\n".join(",".join(f"{value:.6g}" for value in row) for row in test.images) + "\n"
    predicted, content_type = script.output_fn(
        script.predict_fn(script.input_fn(body, "text/csv"), model), "text/csv"
    )
    assert content_type == "text/csv"
    labels = np.array([int(line) for line in predicted.splitlines()])
    assert len(labels) == len(test.labels)
    assert (labels == test.labels).mean() > 0.8

    rows = json.dumps(test.images[:2].tolist())
    answer, content_type = script.output_fn(
        script.predict_fn(script.input_fn(rows, "application/json"), model), "application/json"
    )
    assert content_type == "application/json"
    assert [p["predicted_label"] for p in json.loads(answer)["predictions"]] == labels[:2].tolist()


def test_handlers_refuse_what_they_cannot_read(trained, script) -> None:
    model = script.model_fn(str(trained[0]))
    with pytest.raises(ValueError, match="application/x-parquet") as refused:
        script.input_fn(b"PAR1", "application/x-parquet")
    assert refused.value.status_code == 415
    with pytest.raises(ValueError, match="784 pixel values"):
        script.predict_fn(np.zeros((1, 3), dtype=np.float32), model)
    with pytest.raises(ValueError, match="image/png"):
        script.output_fn(np.array([1]), "image/png")


def test_training_without_a_train_channel_says_what_is_missing(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    result = subprocess.run(
        [sys.executable, MNIST_CLASSIFIER_ENTRY_POINT, "--model-dir", str(tmp_path)],
        cwd=MNIST_CLASSIFIER,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "--train is required" in result.stderr

"""A small MNIST digit classifier (scikit-learn MLP) for SageMaker's scikit-learn framework image.

Training follows the sagemaker-training-toolkit contract: the ``train`` channel (``SM_CHANNEL_TRAIN``)
and the optional ``validation`` channel hold headerless CSV files, label first and then the pixels;
hyperparameters arrive as command-line arguments; the fitted model goes to ``SM_MODEL_DIR``. Accuracies
are printed as ``train:accuracy=0.97`` so the job's metric definitions can pick them up.

Serving follows the sagemaker-inference-toolkit handler contract: ``model_fn`` loads the model,
``input_fn`` reads ``text/csv`` rows of pixels (or a JSON list of rows), ``predict_fn`` predicts digits
and ``output_fn`` answers ``text/csv`` (one digit a line) or JSON in the built-in algorithms' shape
``{"predictions": [{"predicted_label": 7}, ...]}``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

MODEL_FILE = "model.joblib"
CSV, JSON = "text/csv", "application/json"


class UnsupportedMediaType(ValueError):
    """A request or accept type this script does not handle; the model server answers 415."""

    status_code = 415


def read_channel(directory: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixels and labels of every CSV file in a channel directory, in file-name order."""
    files = sorted(Path(directory).rglob("*.csv"))
    if not files:
        raise FileNotFoundError(f"The channel directory {directory} holds no .csv file")
    rows = np.concatenate(
        [pd.read_csv(path, header=None, dtype=np.float32).to_numpy() for path in files], axis=0
    )
    return rows[:, 1:], rows[:, 0].astype(np.int64)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-units", type=int, default=64)
    parser.add_argument("--max-iter", type=int, default=20, help="epochs of the Adam solver")
    parser.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    parser.add_argument("--learning-rate-init", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    arguments = parser.parse_args(argv)
    for name in ("model_dir", "train"):
        if not getattr(arguments, name):
            parser.error(f"--{name.replace('_', '-')} is required outside SageMaker")
    return arguments


def train(arguments: argparse.Namespace) -> MLPClassifier:
    features, labels = read_channel(arguments.train)
    model = MLPClassifier(
        hidden_layer_sizes=(arguments.hidden_units,),
        alpha=arguments.alpha,
        learning_rate_init=arguments.learning_rate_init,
        max_iter=arguments.max_iter,
        random_state=arguments.seed,
    )
    # A small max_iter is a deliberate budget, not a mistake worth a warning on stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, labels)
    print(f"train:accuracy={model.score(features, labels):.4f}", flush=True)
    if arguments.validation:
        validation_features, validation_labels = read_channel(arguments.validation)
        print(f"validation:accuracy={model.score(validation_features, validation_labels):.4f}", flush=True)
    return model


def model_fn(model_dir: str) -> MLPClassifier:
    return joblib.load(os.path.join(model_dir, MODEL_FILE))


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def input_fn(request_body, content_type: str) -> np.ndarray:
    media = _media_type(content_type)
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    if media == CSV:
        return pd.read_csv(io.StringIO(request_body), header=None, dtype=np.float32).to_numpy()
    if media == JSON:
        return np.atleast_2d(np.asarray(json.loads(request_body), dtype=np.float32))
    raise UnsupportedMediaType(f"Content type {content_type!r} is not supported; send {CSV} or {JSON}")


def predict_fn(features: np.ndarray, model: MLPClassifier) -> np.ndarray:
    if features.ndim != 2 or features.shape[1] != model.n_features_in_:
        raise ValueError(
            f"Each record needs {model.n_features_in_} pixel values; "
            f"got records of shape {features.shape[1:]}"
        )
    return model.predict(features)


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    labels = [int(label) for label in prediction]
    for media in (_media_type(part) for part in (accept or CSV).split(",")):
        if media in (CSV, "*/*"):
            return "\n".join(map(str, labels)), CSV
        if media == JSON:
            return json.dumps({"predictions": [{"predicted_label": label} for label in labels]}), JSON
    raise UnsupportedMediaType(f"Accept {accept!r} is not supported; accept {CSV} or {JSON}")


if __name__ == "__main__":
    options = parse_arguments()
    fitted = train(options)
    joblib.dump(fitted, os.path.join(options.model_dir, MODEL_FILE))

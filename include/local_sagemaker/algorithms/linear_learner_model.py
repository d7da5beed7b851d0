"""A trained Linear Learner model: its scores, and its artifact ``model_algo-1``.

The model is ``margin = x · Wᵀ + b`` on raw features (the standardisation used in training is folded into
``W`` and ``b``), turned into the documented response fields:

* ``binary_classifier``: ``score`` = sigmoid(margin) for the logistic (and two-class softmax) loss, the
  margin itself for the hinge loss and for the regression losses (fitted to the 0/1 label),
  ``predicted_label`` = 1 when the score reaches the calibrated ``threshold``;
* ``multiclass_classifier``: ``score`` = one probability per class (softmax of the margins),
  ``predicted_label`` = the most probable class;
* ``regressor``: ``score`` = the margin (a sigmoid of it for the logistic and softmax losses).

Artifact. On SageMaker ``model_algo-1`` is a zip of an MXNet Module checkpoint (``mx-mod-symbol.json``,
``mx-mod-0000.params``) with ``manifest.json`` and ``additional-params.json``. MXNet's symbol graph cannot
be reproduced faithfully here, so the zip written here holds ``manifest.json``, ``additional-params.json``
(predictor type, loss, threshold, dimensions) and ``mx-mod-0000.params``: an MXNet NDArray dict with the
learned ``arg:fc0_weight`` (outputs × feature_dim) and ``arg:fc0_bias`` (outputs), readable with
``mx.nd.load``. It has no ``mx-mod-symbol.json``, so it is not an MXNet Module a real container loads.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from include.local_sagemaker.algorithms import mxnet_ndarray

# Losses whose score is a probability: a sigmoid of the margin (a softmax across classes for multiclass);
# the others score a record with the margin itself.
PROBABILITY_LOSSES = ("logistic", "softmax_loss")
MODEL_FILE = "model_algo-1"
PARAMS_FILE = "mx-mod-0000.params"
WEIGHT_KEY = "arg:fc0_weight"
BIAS_KEY = "arg:fc0_bias"


@dataclass(frozen=True)
class LinearModel:
    """Weights ``(outputs, feature_dim)`` and bias ``(outputs,)`` on raw features, and how to read them."""

    predictor_type: str
    loss: str
    weights: np.ndarray
    bias: np.ndarray
    threshold: float = 0.5

    @property
    def feature_dim(self) -> int:
        return self.weights.shape[1]

    def margins(self, features: np.ndarray) -> np.ndarray:
        """``x · Wᵀ + b`` in float64: ``(records, outputs)``."""
        return np.asarray(features, dtype=np.float64) @ self.weights.T + self.bias

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The ``score`` field: ``(records,)`` (binary, regressor) or ``(records, classes)`` (multiclass)."""
        margins = self.margins(features)
        if self.predictor_type == "multiclass_classifier":
            shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        margins = margins[:, 0]
        if self.loss in PROBABILITY_LOSSES:
            return 0.5 * (1.0 + np.tanh(0.5 * margins))  # the sigmoid, without overflow
        return margins

    def predicted_labels(self, scores: np.ndarray) -> np.ndarray:
        """The ``predicted_label`` field of classifiers."""
        if self.predictor_type == "multiclass_classifier":
            return scores.argmax(axis=1)
        return (scores >= self.threshold).astype(np.int64)


def save(model: LinearModel, path: Path, extra: dict | None = None) -> None:
    """Write ``model_algo-1`` (see the module docstring for what it holds and what it lacks)."""
    params = {
        WEIGHT_KEY: np.ascontiguousarray(model.weights, dtype=np.float32),
        BIAS_KEY: np.ascontiguousarray(model.bias, dtype=np.float32),
    }
    additional = {
        "predictor_type": model.predictor_type,
        "loss": model.loss,
        "threshold": model.threshold,
        "feature_dim": model.feature_dim,
        "num_outputs": int(model.weights.shape[0]),
        **(extra or {}),
    }
    manifest = {
        "algorithm": "linear-learner",
        "files": ["additional-params.json", PARAMS_FILE],
        "note": "MXNet NDArray parameters only; no mx-mod-symbol.json (not an MXNet Module checkpoint)",
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        archive.writestr("additional-params.json", json.dumps(additional, indent=2))
        archive.writestr(PARAMS_FILE, mxnet_ndarray.dumps(params))


def load(path: Path) -> LinearModel:
    """Read a ``model_algo-1`` written by :func:`save`."""
    try:
        with zipfile.ZipFile(path) as archive:
            additional = json.loads(archive.read("additional-params.json"))
            params = mxnet_ndarray.loads(archive.read(PARAMS_FILE))
    except (zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{path} is not a Linear Learner model_algo-1 zip: {error}") from None
    if not isinstance(params, dict) or WEIGHT_KEY not in params or BIAS_KEY not in params:
        raise ValueError(f"{path}: {PARAMS_FILE} lacks {WEIGHT_KEY!r} / {BIAS_KEY!r}")
    return LinearModel(
        predictor_type=additional["predictor_type"],
        loss=additional["loss"],
        weights=params[WEIGHT_KEY].astype(np.float64),
        bias=params[BIAS_KEY].astype(np.float64),
        threshold=float(additional.get("threshold", 0.5)),
    )

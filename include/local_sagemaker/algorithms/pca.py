"""SageMaker's built-in PCA (image repository ``pca``) on scikit-learn.

``algorithm_mode=regular`` is SageMaker's covariance method: scikit-learn's ``PCA`` with the
``covariance_eigh`` solver (an eigendecomposition of the feature covariance, exact and fast when
records far outnumber features, as in MNIST). ``randomized`` uses the randomized SVD with
``extra_components`` as its oversampling. With ``subtract_mean=false`` the data is not centred:
``TruncatedSVD`` (randomized mode) or the eigendecomposition of the uncentred Gram matrix (regular mode).

Artifact: ``model_algo-1``, an MXNet NDArray dict ``{"mean": (1, d) (only when subtracting the mean),
"s": (c,), "v": (d, c)}`` with components in ascending order of significance, as SageMaker stores them.
Inference answers ``projection`` = (x - mean) · v per record.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA, TruncatedSVD

from include.local_sagemaker.algorithms import content_types, mxnet_ndarray, payloads
from include.local_sagemaker.algorithms.base import TrainingContext
from include.local_sagemaker.algorithms.channel_data import read_channel
from include.local_sagemaker.algorithms.hyperparameters import (
    Hyperparameter,
    as_mapping,
    boolean,
    client_error,
    integer,
    one_of,
    parse_hyperparameters,
)
from include.local_sagemaker.algorithms.metrics import log

HYPERPARAMETERS = (
    Hyperparameter("feature_dim", integer(minimum=1), required=True),
    Hyperparameter("mini_batch_size", integer(minimum=1), required=True),
    Hyperparameter("num_components", integer(minimum=1), required=True),
    Hyperparameter("algorithm_mode", one_of("regular", "randomized"), default="regular"),
    Hyperparameter("subtract_mean", boolean, default="true"),
    Hyperparameter("extra_components", integer(minimum=-1), default="-1"),
)
RANDOM_STATE = 0
MODEL_FILE = "model_algo-1"
# PCA's documented response formats (no CSV, unlike k-means).
RESPONSE_TYPES = (content_types.JSON, content_types.JSON_LINES, content_types.RECORDIO_PROTOBUF)


class PCAAlgorithm:
    """The ``Algorithm`` the engine runs for ``…/pca:1`` images."""

    image_repositories = ("pca",)
    metric_definitions = ()  # SageMaker's PCA publishes no metrics

    def train(self, context: TrainingContext) -> None:
        """Fit the components on the ``train`` channel and write ``model_algo-1``; check ``test`` if given."""
        started = time.perf_counter()
        params = parse_hyperparameters(HYPERPARAMETERS, context.hyperparameters)
        log(f"Final configuration: {as_mapping(params)}")
        if "train" not in context.channels:
            raise client_error(
                "Channel 'train' is required; channels given: " + (", ".join(context.channels) or "none"),
                cause="KeyError",
            )
        if params["num_components"] > params["feature_dim"]:
            raise client_error(
                f"num_components ({params['num_components']}) must not exceed "
                f"feature_dim ({params['feature_dim']})",
                cause="ValueError",
            )
        train = read_channel(context.channels["train"], params["feature_dim"])
        log(f"Read {train.rows} records of {params['feature_dim']} features from channel 'train'")
        if train.rows < params["num_components"]:
            raise client_error(
                f"The 'train' channel has {train.rows} records, "
                f"fewer than num_components={params['num_components']}",
                cause="ValueError",
            )
        model = fit_components(train.features, params)
        context.model_dir.mkdir(parents=True, exist_ok=True)
        path = context.model_dir / f"model_{context.current_host}"
        mxnet_ndarray.save(path, model)
        log(f"Saved {params['num_components']} components to {path}")

        if "test" in context.channels:
            test = read_channel(context.channels["test"], params["feature_dim"])
            error = reconstruction_error(test.features, model)
            log(f"Channel 'test': {test.rows} records, mean squared reconstruction error {error!r}")
        log(f"Training finished in {time.perf_counter() - started:.3f} seconds")

    def load(self, model_dir: Path) -> PCAPredictor:
        """Load ``model_algo-1`` (ours or one trained on SageMaker)."""
        path = _model_file(model_dir)
        arrays = mxnet_ndarray.load(path)
        if not isinstance(arrays, dict) or "v" not in arrays:
            raise ValueError(
                f"{path} is not a PCA model: expected an NDArray dict with 'v' (and 's', 'mean')"
            )
        return PCAPredictor(arrays["v"], arrays.get("mean"))


class PCAPredictor:
    """Answers ``InvokeEndpoint`` with each record's projection on the components."""

    def __init__(self, components: np.ndarray, mean: np.ndarray | None):
        self.components = np.ascontiguousarray(components, dtype=np.float32)  # (feature_dim, num_components)
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32).reshape(1, -1)
        self.feature_dim = self.components.shape[0]

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """Decode ``body`` (CSV, JSON, JSON Lines, recordIO) and answer in the ``accept`` format."""
        response_type = payloads.choose_accept(accept, offered=RESPONSE_TYPES)
        records = payloads.decode_features(body, content_type, self.feature_dim)
        columns = {"projection": self.project(records)}
        return payloads.encode_response(columns, response_type, json_key="projections"), response_type

    def project(self, records: np.ndarray) -> np.ndarray:
        """(records - mean) · v."""
        if self.mean is not None:
            records = records - self.mean
        return records @ self.components


def fit_components(features: np.ndarray, params: dict) -> dict[str, np.ndarray]:
    """``{"mean"?, "s", "v"}`` in SageMaker's layout: float32, least significant component first."""
    count = params["num_components"]
    randomized = params["algorithm_mode"] == "randomized"
    oversamples = params["extra_components"]
    oversamples = max(10, count) if oversamples == -1 else oversamples
    model: dict[str, np.ndarray] = {}
    if params["subtract_mean"]:
        if randomized:
            pca = PCA(count, svd_solver="randomized", n_oversamples=oversamples, random_state=RANDOM_STATE)
        else:
            pca = PCA(count, svd_solver="covariance_eigh")
        pca.fit(features)
        model["mean"] = pca.mean_.reshape(1, -1)
        singular_values, components = pca.singular_values_, pca.components_
    elif randomized:
        svd = TruncatedSVD(
            count, algorithm="randomized", n_oversamples=oversamples, random_state=RANDOM_STATE
        )
        svd.fit(features)
        singular_values, components = svd.singular_values_, svd.components_
    else:
        singular_values, components = _uncentred_eigh(features, count)
    log(
        f"Fitted {count} components ({params['algorithm_mode']} mode), "
        f"largest singular value {singular_values[0]:.6g}"
    )
    # scikit-learn orders components most significant first; SageMaker stores them the other way round.
    model["s"] = singular_values[::-1]
    model["v"] = components[::-1].T
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in model.items()}


def _uncentred_eigh(features: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``count`` singular values / right singular vectors of the uncentred data, via its d×d Gram matrix
    (what ``covariance_eigh`` does, minus the centring scikit-learn's PCA always applies)."""
    data = features.astype(np.float64, copy=False)
    eigenvalues, eigenvectors = np.linalg.eigh(data.T @ data)  # ascending
    top = slice(len(eigenvalues) - 1, len(eigenvalues) - 1 - count, -1)
    return np.sqrt(np.maximum(eigenvalues[top], 0.0)), eigenvectors[:, top].T


def reconstruction_error(features: np.ndarray, model: dict[str, np.ndarray]) -> float:
    """Mean squared error of projecting ``features`` on the components and back."""
    centred = features - model["mean"] if "mean" in model else features
    restored = (centred @ model["v"]) @ model["v"].T
    return float(np.mean(np.square(centred.astype(np.float64) - restored)))


def _model_file(model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    for candidate in [model_dir / MODEL_FILE, *sorted(model_dir.glob("model_*"))]:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"No PCA model in {model_dir}: expected {MODEL_FILE} (from model.tar.gz)")


ALGORITHM = PCAAlgorithm()

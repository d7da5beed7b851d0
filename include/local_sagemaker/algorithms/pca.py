"""SageMaker's built-in PCA (image repository ``pca``) on scikit-learn.

The channel is streamed: one pass accumulates, batch by batch and in float64, the record count, the
feature sums and the d×d scatter matrix (about a shifted origin, the first batch's mean, so that centring
loses no precision), which bounds memory by a batch and d×d whatever the size of the data.
``algorithm_mode=regular`` is SageMaker's covariance method: the eigendecomposition of that matrix, what
scikit-learn's ``PCA(svd_solver="covariance_eigh")`` computes on the whole data. ``randomized`` is the
randomized SVD (scikit-learn's ``randomized_svd``, ``extra_components`` as its oversampling) of the same
matrix, a sketch of its top eigenvectors. With ``subtract_mean=false`` the data is not centred: the
matrix is the uncentred Gram matrix. Components and signs follow scikit-learn's (``svd_flip``); singular
values are those of the (centred) data matrix.

Several hosts (``InstanceCount`` > 1) each accumulate the partial statistics of their share of
``train`` (count, mean and scatter); ``algo-1`` combines them exactly (:meth:`Scatter.combine`), fits the
components and writes the model, as SageMaker's PCA reduces its hosts' partial sums; the ``test`` error
is summed over the hosts' shards in the same way.

Artifact: ``model_algo-1``, an MXNet NDArray dict ``{"mean": (1, d) (only when subtracting the mean),
"s": (c,), "v": (d, c)}`` with components in ascending order of significance, as SageMaker stores them.
Inference answers ``projection`` = (x - mean) · v per record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils.extmath import randomized_svd, svd_flip

from include.local_sagemaker.algorithms import content_types, mxnet_ndarray, payloads
from include.local_sagemaker.algorithms.base import TrainingContext
from include.local_sagemaker.algorithms.channel_data import ChannelStream, host_shard
from include.local_sagemaker.algorithms.host_exchange import HostExchange
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
# Records per batch of the accumulation and of the test pass. The result does not depend on it (unlike
# k-means'), so it is not mini_batch_size: a small one would only make the pass slow. 5,000 × 784 float64
# is 31 MB.
BATCH_ROWS = 5000
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
        exchange = HostExchange.of(context)
        train = host_shard(context.channels["train"], params["feature_dim"], exchange.distributed)
        scatter = (
            Scatter.of(train, BATCH_ROWS, centred=params["subtract_mean"])
            if train is not None
            else Scatter.empty(params["feature_dim"], centred=params["subtract_mean"])
        )
        log(f"Read {scatter.rows} records of {params['feature_dim']} features from channel 'train'")
        gathered = exchange.gather("pca-scatter", scatter.message())
        model = None
        if gathered is not None:
            scatter = Scatter.combine([Scatter.from_message(part) for part in gathered])
            if exchange.distributed:
                log(f"Combined the statistics of {len(gathered)} hosts: {scatter.rows} records")
            if scatter.rows < params["num_components"]:
                raise client_error(
                    f"The 'train' channel has {scatter.rows} records, "
                    f"fewer than num_components={params['num_components']}",
                    cause="ValueError",
                )
            model = fit_components(scatter, params)
            context.model_dir.mkdir(parents=True, exist_ok=True)
            path = context.model_dir / MODEL_FILE
            mxnet_ndarray.save(path, model)
            log(f"Saved {params['num_components']} components to {path}")
        model = exchange.broadcast("pca-model", model)

        if "test" in context.channels:
            test = host_shard(context.channels["test"], params["feature_dim"], exchange.distributed)
            sums = reconstruction_sums(test, model, BATCH_ROWS)
            gathered = exchange.gather("pca-test", sums)
            if gathered is not None:
                total = sum(float(part["error"]) for part in gathered)
                values = sum(int(part["values"]) for part in gathered)
                rows = sum(int(part["rows"]) for part in gathered)
                log(
                    f"Channel 'test': {rows} records, mean squared reconstruction error "
                    f"{total / max(values, 1)!r}"
                )
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


@dataclass(frozen=True)
class Scatter:
    """What one pass over the data leaves: ``rows``, the ``mean`` (or None if the data is not centred) and
    the d×d ``matrix`` of the centred (or raw) records' products, all float64.

    The scatters of several hosts' shards :meth:`combine` exactly into the scatter of all their records:
    counts and (uncentred) matrices add; centred ones add with the between-shard term
    ``n_a n_b / n (mean_a - mean_b)(mean_a - mean_b)ᵀ`` (Chan, Golub and LeVeque's pairwise update).
    """

    rows: int
    mean: np.ndarray | None
    matrix: np.ndarray

    @classmethod
    def of(cls, records: ChannelStream, batch_rows: int, centred: bool) -> Scatter:
        rows, shift, sums, products = 0, None, None, None
        for batch in records.batches(batch_rows):
            batch = batch.astype(np.float64)
            if shift is None:
                shift = batch.mean(axis=0) if centred else np.zeros(batch.shape[1])
                sums = np.zeros(batch.shape[1])
                products = np.zeros((batch.shape[1], batch.shape[1]))
            batch -= shift
            rows += len(batch)
            sums += batch.sum(axis=0)
            products += batch.T @ batch
        if not centred:
            return cls(rows, None, products)
        offset = sums / rows  # the mean relative to the shifted origin
        return cls(rows, shift + offset, products - rows * np.outer(offset, offset))

    @classmethod
    def empty(cls, dimension: int, centred: bool) -> Scatter:
        """The scatter of no records (a host that received none)."""
        return cls(0, np.zeros(dimension) if centred else None, np.zeros((dimension, dimension)))

    @classmethod
    def combine(cls, parts: list[Scatter]) -> Scatter:
        """The scatter of the union of the parts' records."""
        parts = [part for part in parts if part.rows] or parts[:1]
        combined = parts[0]
        for part in parts[1:]:
            rows = combined.rows + part.rows
            if combined.mean is None:
                combined = cls(rows, None, combined.matrix + part.matrix)
                continue
            delta = part.mean - combined.mean
            combined = cls(
                rows,
                combined.mean + delta * (part.rows / rows),
                combined.matrix + part.matrix + np.outer(delta, delta) * (combined.rows * part.rows / rows),
            )
        return combined

    def message(self) -> dict[str, np.ndarray]:
        """This scatter as a host sends it (:mod:`~include.local_sagemaker.algorithms.host_exchange`)."""
        message = {"rows": np.array(self.rows), "matrix": self.matrix}
        if self.mean is not None:
            message["mean"] = self.mean
        return message

    @classmethod
    def from_message(cls, message: dict[str, np.ndarray]) -> Scatter:
        return cls(int(message["rows"]), message.get("mean"), message["matrix"])


def fit_components(scatter: Scatter, params: dict) -> dict[str, np.ndarray]:
    """``{"mean"?, "s", "v"}`` in SageMaker's layout: float32, least significant component first."""
    count = params["num_components"]
    oversamples = params["extra_components"]
    oversamples = max(10, count) if oversamples == -1 else oversamples
    if params["algorithm_mode"] == "randomized":
        _, eigenvalues, components = randomized_svd(
            scatter.matrix, count, n_oversamples=oversamples, random_state=RANDOM_STATE
        )
    else:
        eigenvalues, eigenvectors = np.linalg.eigh(scatter.matrix)  # ascending
        top = slice(len(eigenvalues) - 1, len(eigenvalues) - 1 - count, -1)
        eigenvalues, components = eigenvalues[top], eigenvectors[:, top].T
    _, components = svd_flip(None, components, u_based_decision=False)
    singular_values = np.sqrt(np.maximum(eigenvalues, 0.0))
    log(
        f"Fitted {count} components ({params['algorithm_mode']} mode), "
        f"largest singular value {singular_values[0]:.6g}"
    )
    model: dict[str, np.ndarray] = {}
    if scatter.mean is not None:
        model["mean"] = scatter.mean.reshape(1, -1)
    # Most significant first so far; SageMaker stores them the other way round.
    model["s"] = singular_values[::-1]
    model["v"] = components[::-1].T
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in model.items()}


def reconstruction_error(records: ChannelStream, model: dict[str, np.ndarray], batch_rows: int) -> float:
    """Mean squared error of projecting the records on the components and back, batch by batch."""
    sums = reconstruction_sums(records, model, batch_rows)
    return float(sums["error"]) / int(sums["values"])


def reconstruction_sums(
    records: ChannelStream | None, model: dict[str, np.ndarray], batch_rows: int
) -> dict[str, np.ndarray]:
    """What the error of several hosts' shards adds up from: squared ``error``, ``values`` and ``rows``."""
    total, values, rows = 0.0, 0, 0
    for batch in records.batches(batch_rows) if records is not None else ():
        centred = batch - model["mean"] if "mean" in model else batch
        restored = (centred @ model["v"]) @ model["v"].T
        total += float(np.square(centred.astype(np.float64) - restored).sum())
        values += centred.size
        rows += len(centred)
    return {"error": np.array(total), "values": np.array(values), "rows": np.array(rows)}


def _model_file(model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    for candidate in [model_dir / MODEL_FILE, *sorted(model_dir.glob("model_*"))]:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"No PCA model in {model_dir}: expected {MODEL_FILE} (from model.tar.gz)")


ALGORITHM = PCAAlgorithm()

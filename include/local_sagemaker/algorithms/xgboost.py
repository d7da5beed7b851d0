"""SageMaker's XGBoost (image repositories ``sagemaker-xgboost`` and ``xgboost``) on the xgboost library.

Training follows the open-source container's algorithm mode: hyperparameters validated with its rules
(:mod:`~include.local_sagemaker.algorithms.xgboost_hyperparameters`), the ``train`` / ``validation``
channels read in its formats (:mod:`~include.local_sagemaker.algorithms.xgboost_data`), then
``xgboost.train`` on the ``train`` channel as an iterator-fed ``QuantileDMatrix`` (the data read in bounded
batches and held as histogram bins, not values; :func:`quantile_bins` says when a ``DMatrix`` is used), with
the validated hyperparameters as parameters (nothing added: XGBoost's defaults apply
to what is not given), ``num_round`` boosting rounds, the ``train`` and ``validation`` sets as evaluation
sets and XGBoost's ``EvaluationMonitor``, which prints ``[3]\\ttrain-merror:0.052\\tvalidation-merror:0.06``.
CloudWatch shows the tab as ``#011``; the metric definitions ``validation:<metric>`` match that rendering.
``early_stopping_rounds`` stops on the last ``eval_metric`` of the validation set and keeps the best model.
The container's own metrics (``accuracy``, ``f1``, ``r2``, ... not built into XGBoost) are computed with
scikit-learn on the raw predictions, as its custom evaluation function does.

Hosts: a job of several instances trains one booster on every host's share of the data through XGBoost's
collective, as the container does (:mod:`~include.local_sagemaker.algorithms.xgboost_hosts`); the first host
with data saves it.

Artifact: ``xgboost-model``, written by ``Booster.save_model("xgboost-model")`` as the container does
(UBJSON, the format of XGBoost 2.1 and later), so the real container loads it; serving loads models
saved by ``save_model`` in any format XGBoost reads, or pickled boosters (images up to 1.2-2).

Versions: the image's tag picks the version (:mod:`~include.local_sagemaker.algorithms.xgboost_versions`),
which decides the hyperparameters accepted and how answers are written; :func:`algorithm_for_image` is what
the registry calls. Training runs this environment's XGBoost whatever the version.

Failures: customer errors are ``ClientError: <the container's message>``; an XGBoost failure that is not
a known customer error is ``AlgorithmError: XGB train call failed with exception: ...``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from sklearn import metrics as sk_metrics

from include.local_sagemaker.algorithms import xgboost_inference, xgboost_versions
from include.local_sagemaker.algorithms.base import Channel, InferenceError, TrainingContext
from include.local_sagemaker.algorithms.channel_data import PIPE, pipe_has_data, pipe_path
from include.local_sagemaker.algorithms.host_exchange import HostExchange
from include.local_sagemaker.algorithms.metrics import log
from include.local_sagemaker.algorithms.xgboost_data import (
    ChannelFormat,
    channel_format,
    data_files,
    read_dmatrix,
)
from include.local_sagemaker.algorithms.xgboost_hosts import boosting_hosts
from include.local_sagemaker.algorithms.xgboost_hyperparameters import (
    MAXIMIZE_METRICS,
    MINIMIZE_METRICS,
    user_error,
    validate,
)
from include.local_sagemaker.failures import JobFailure

MODEL_FILE = "xgboost-model"
_SOURCE_LOCATION = re.compile(r"^\[\d\d:\d\d:\d\d\] \S+:\d+: ")

# Messages of XGBoost failures that the container reports as customer errors (plus the wording XGBoost 3
# uses for a class label out of range, which the container's list predates).
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "label must be discrete values in the range of [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "base_score must be in (0,1) for logistic loss",
    "PoissonRegression: label must be nonnegative",
    "TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)
# Hyperparameters the container consumes itself rather than passing to xgboost.train, and those of older
# images that the XGBoost installed here no longer has (``silent`` only set the log level).
_CONTAINER_ONLY = (
    "num_round",
    "csv_weights",
    "early_stopping_rounds",
    "save_model_on_termination",
    "_tuning_objective_metric",
    "_kfold",
    "_nfold",
    "_num_cv_round",
    "use_dask_gpu_training",
    "silent",
    "single_precision_histogram",
)
# Set in a batch transform's container (the engine sets it as SageMaker does); it changes the answers.
BATCH_VARIABLE = "SAGEMAKER_BATCH"


def metric_definition(name: str) -> dict[str, str]:
    """The container's definition of ``validation:<name>``, matched against the CloudWatch rendering.

    The container captures ``(\\S+)``, which on a line of several metrics runs on into the next
    ``#011``-separated field (SageMaker keeps the number it starts with); the capture here stops before
    ``#`` so that the engine reads that same number.
    """
    return {"Name": f"validation:{name}", "Regex": f".*\\[[0-9]+\\].*#011validation-{name}:([^\\s#]+)"}


class XGBoostAlgorithm:
    """The ``Algorithm`` the engine runs for ``…/sagemaker-xgboost:<version>`` and ``…/xgboost:1`` images."""

    image_repositories = ("sagemaker-xgboost", "xgboost")
    metric_definitions = tuple(metric_definition(name) for name in MAXIMIZE_METRICS + MINIMIZE_METRICS)

    def __init__(self, version: str = xgboost_versions.DEFAULT):
        self.version = version

    def train(self, context: TrainingContext) -> None:
        """Train on ``train`` (evaluating ``validation`` too, if given) and write ``xgboost-model``."""
        started = time.perf_counter()
        params = validate(context.hyperparameters, self.version)
        log(f"Validated hyperparameters: {json.dumps(params, sort_keys=True, default=str)}")
        for folds in ("_kfold", "_nfold"):
            if folds in params:
                raise user_error(
                    f"Hyperparameter {folds}: cross-validation training is not supported by the local engine"
                )
        data_format = channel_format(context.channels)
        with boosting_hosts(HostExchange.of(context), self._takes_part(context)) as is_master:
            if is_master is not None:
                booster = self._train_here(context, params, data_format)
        if is_master:
            context.model_dir.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                # XGBoost warns that a name without extension is saved as UBJSON: the container's format.
                warnings.simplefilter("ignore", UserWarning)
                booster.save_model(str(context.model_dir / MODEL_FILE))
            log(f"Stored trained model at {context.model_dir / MODEL_FILE}")
        log(f"Training finished in {time.perf_counter() - started:.3f} seconds")

    def _takes_part(self, context: TrainingContext) -> bool:
        """Whether this host has the data to train, by the container's test (``algorithm_mode/train.py``):
        training data, and from image 1.7-1 on validation data too if the job has a validation channel (a
        host of a multi-host job without its share of either is left out of training)."""
        distributed = len(context.hosts) > 1
        if not _has_data(context.channels["train"], distributed):
            if distributed:
                log(
                    f"Host {context.current_host} does not have training data; it will not be used in "
                    "distributed training."
                )
            return False
        validation = context.channels.get("validation")
        if (
            validation is None
            or not xgboost_versions.between(self.version, "1.7-1", None)
            or _has_data(validation, distributed)
        ):
            return True
        if distributed:
            log(
                f"Host {context.current_host} does not have validation data in the validation channel; it "
                "will not be used in distributed training; divide the validation data across the instances."
            )
        return False

    @staticmethod
    def _train_here(context: TrainingContext, params: dict[str, Any], data_format: ChannelFormat):
        """Read this host's share of the channels and train (with the other hosts, in a collective)."""
        csv_weights = params.get("csv_weights", 0)
        train = read_dmatrix(context.channels["train"], data_format, csv_weights, quantile_bins(params))
        log(f"Train matrix has {train.num_row()} rows and {train.num_col()} columns")
        validation = None
        if "validation" in context.channels:
            validation = read_dmatrix(context.channels["validation"], data_format, csv_weights)
            log(f"Validation matrix has {validation.num_row()} rows")
        return train_booster(params, train, validation)

    def load(self, model_dir: Path) -> XGBoostPredictor:
        """Load ``xgboost-model`` (or the first model file of ``model_dir``, as the container does)."""
        # The container reads SAGEMAKER_BATCH once, when it starts; any value means batch transform.
        batch = bool(os.environ.get(BATCH_VARIABLE))
        return XGBoostPredictor(load_booster(Path(model_dir)), self.version, batch=batch)


def _has_data(channel: Channel, distributed: bool) -> bool:
    """The container's test: ``data_utils.get_size`` finds data when a Pipe-mode channel's first pipe
    ``<channel>_0`` exists, or another channel has data files of more than 0 bytes.

    A pipe that exists may still carry nothing (a host of a ``ShardedByS3Key`` channel with more hosts
    than objects): the container's Pipe-mode readers then build no matrix (mlio's ``peek_example()`` is
    None) and the host is left out of a multi-host job like one without data (``data_utils.py``,
    ``algorithm_mode/train.py``). Here a multi-host job looks one byte into the pipe's first pass to tell.
    """
    if channel.input_mode == PIPE:
        return pipe_path(channel, 0).exists() and (not distributed or pipe_has_data(channel))
    return any(path.stat().st_size > 0 for path in data_files(channel))


def algorithm_for_image(image_uri: str) -> XGBoostAlgorithm:
    """The algorithm as the image's version runs it (the registry calls this with the image URI)."""
    return XGBoostAlgorithm(xgboost_versions.image_version(image_uri))


def quantile_bins(params: dict[str, Any]) -> int | None:
    """``max_bin`` when the booster trains on histograms (XGBoost's default ``hist`` method), so the ``train``
    matrix can be a ``QuantileDMatrix`` of bins; None for ``exact``, ``approx``, explicit updaters and
    ``gblinear``, which read raw values."""
    if params.get("booster", "gbtree") == "gblinear" or "updater" in params:
        return None
    if params.get("tree_method", "auto") not in ("auto", "hist", "gpu_hist"):
        return None
    return params.get("max_bin", 256)


def train_booster(params: dict[str, Any], train: xgb.DMatrix, validation: xgb.DMatrix | None) -> xgb.Booster:
    """``xgboost.train`` as the container calls it; XGBoost failures become :class:`JobFailure`."""
    config = {name: _xgboost_value(value) for name, value in params.items() if name not in _CONTAINER_ONLY}
    objective_metric = params.get("_tuning_objective_metric", "").partition(":")[2] or None
    requested = list(
        dict.fromkeys([*params.get("eval_metric", []), *([objective_metric] if objective_metric else [])])
    )
    custom = [name for name in requested if name in CUSTOM_METRICS]
    builtin = [name for name in requested if name not in CUSTOM_METRICS]
    config.pop("eval_metric", None)
    if builtin:
        config["eval_metric"] = builtin

    evals = [(train, "train")] + ([(validation, "validation")] if validation is not None else [])
    callbacks: list[xgb.callback.TrainingCallback] = [xgb.callback.EvaluationMonitor()]
    rounds = params.get("early_stopping_rounds")
    stop_metric = objective_metric or (params["eval_metric"][-1] if params.get("eval_metric") else None)
    if rounds and validation is not None and stop_metric:
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=rounds,
                data_name="validation",
                metric_name=stop_metric,
                maximize=stop_metric in MAXIMIZE_METRICS,
                save_best=True,
            )
        )
    try:
        return xgb.train(
            config,
            train,
            num_boost_round=params["num_round"],
            evals=evals,
            custom_metric=_custom_evaluation(custom, params.get("objective", "")) if custom else None,
            callbacks=callbacks,
            verbose_eval=False,
        )
    except Exception as error:
        message = _without_stack_trace(str(error))
        if any(known in message for known in CUSTOMER_ERRORS):
            raise JobFailure(f"ClientError: {message}") from None
        raise JobFailure(f"AlgorithmError: XGB train call failed with exception:\n {message}") from None


def _xgboost_value(value: Any) -> Any:
    if isinstance(value, list) and value and isinstance(value[0], str):
        return ",".join(value)  # updater
    if isinstance(value, tuple | list):
        return str(value).replace(" ", "")  # monotone / interaction constraints in XGBoost's string form
    return value


def _without_stack_trace(message: str) -> str:
    """XGBoost's message without its C++ stack trace and ``[12:00:00] /workspace/src/...cc:64:`` prefix."""
    message = message.split("\nStack trace:", 1)[0].strip()
    return _SOURCE_LOCATION.sub("", message)


# --- the container's scikit-learn metrics --------------------------------------------------------


def _class_labels(predictions: np.ndarray, objective: str) -> np.ndarray:
    # Custom metrics see raw margins (one column per class, or binary log-odds), except under
    # multi:softmax, where XGBoost hands over the predicted classes themselves.
    if predictions.ndim == 2:
        return predictions.argmax(axis=-1)
    if objective == "multi:softmax":
        return predictions
    return (predictions > 0.0).astype(int)


def _on_labels(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[..., float]:
    def on_labels(labels: np.ndarray, predictions: np.ndarray, objective: str) -> float:
        return float(score(labels, _class_labels(predictions, objective))) if predictions.size else 0.0

    return on_labels


def _on_values(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[..., float]:
    return lambda labels, predictions, objective: float(score(labels, predictions))


CUSTOM_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, str], float]] = {
    "accuracy": _on_labels(sk_metrics.accuracy_score),
    "balanced_accuracy": _on_labels(sk_metrics.balanced_accuracy_score),
    "f1": _on_labels(lambda y, p: sk_metrics.f1_score(y, p, average="macro")),
    "f1_binary": _on_labels(lambda y, p: sk_metrics.f1_score(y, p, average="binary")),
    "f1_macro": _on_labels(lambda y, p: sk_metrics.f1_score(y, p, average="macro")),
    "precision": _on_labels(sk_metrics.precision_score),
    "precision_macro": _on_labels(lambda y, p: sk_metrics.precision_score(y, p, average="macro")),
    "precision_micro": _on_labels(lambda y, p: sk_metrics.precision_score(y, p, average="micro")),
    "recall": _on_labels(sk_metrics.recall_score),
    "recall_macro": _on_labels(lambda y, p: sk_metrics.recall_score(y, p, average="macro")),
    "recall_micro": _on_labels(lambda y, p: sk_metrics.recall_score(y, p, average="micro")),
    "mae": _on_values(sk_metrics.mean_absolute_error),
    "mse": _on_values(sk_metrics.mean_squared_error),
    "rmse": _on_values(sk_metrics.root_mean_squared_error),
    "r2": _on_values(sk_metrics.r2_score),
}


def _custom_evaluation(names: list[str], objective: str):
    def evaluate(predictions: np.ndarray, data: xgb.DMatrix) -> list[tuple[str, float]]:
        labels = data.get_label()
        return [(name, CUSTOM_METRICS[name](labels, predictions, objective)) for name in names]

    return evaluate


# --- serving -------------------------------------------------------------------------------------


def load_booster(model_dir: Path) -> xgb.Booster:
    """The booster in ``model_dir``: ``xgboost-model`` if present, else its first non-hidden file."""
    preferred = model_dir / MODEL_FILE
    files = (
        [preferred]
        if preferred.is_file()
        else sorted(path for path in model_dir.iterdir() if path.is_file() and not path.name.startswith("."))
    )
    if not files:
        raise FileNotFoundError(f"No XGBoost model in {model_dir}: expected {MODEL_FILE} (from model.tar.gz)")
    path = files[0]
    booster = xgb.Booster()
    try:
        with warnings.catch_warnings():
            # "Unknown file format: using UBJSON as a guess": the container's file has no extension.
            warnings.simplefilter("ignore", UserWarning)
            booster.load_model(str(path))
    except Exception as load_error:  # XGBoostError, or a decoding error on foreign bytes
        # Images up to 1.2-2 pickled the booster; the container tries that format too. Only load
        # model.tar.gz files you trust: unpickling runs code.
        try:
            with path.open("rb") as stream:
                booster = pickle.load(stream)
        except Exception as pickle_error:
            raise ValueError(
                f"Model {path} cannot be loaded:\nPickle load error={_without_stack_trace(str(pickle_error))}"
                f"\nXGB load model error={_without_stack_trace(str(load_error))}"
                f"\n(XGBoost {xgb.__version__} reads JSON and UBJSON models and pickled boosters; a model "
                "saved in the legacy binary format, as images 1.3-1 to 1.7-1 save it, must be re-saved as "
                "JSON with XGBoost 1.x first)"
            ) from None
    if not isinstance(booster, xgb.Booster):
        raise ValueError(f"Model {path} unpickles to {type(booster).__name__}, not an xgboost Booster")
    # One thread per request, as the container's workers do: single records do not gain from more.
    booster.set_param("nthread", 1)
    return booster


class XGBoostPredictor:
    """Answers ``InvokeEndpoint`` with the booster's predictions, as the container does."""

    def __init__(self, booster: xgb.Booster, version: str = xgboost_versions.DEFAULT, batch: bool = False):
        self.booster = booster
        self.version = version
        self.batch = batch
        config = json.loads(booster.save_config())
        self.objective = config["learner"]["objective"]["name"]
        self.num_features = booster.num_features()

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """Decode ``body`` (CSV, libsvm, recordIO) and answer CSV or JSON; statuses as the container's."""
        if not body:
            raise InferenceError(204, "")
        if len(body) > xgboost_inference.MAX_PAYLOAD_BYTES:
            raise InferenceError(
                413,
                f"Payload of {len(body)} bytes exceeds the {xgboost_inference.MAX_PAYLOAD_BYTES} byte limit",
            )
        records = xgboost_inference.decode(body, xgboost_inference.request_kind(content_type))
        try:
            predictions = self.predict(records)
        except (xgb.core.XGBoostError, ValueError) as error:
            raise InferenceError(
                400, f"Unable to evaluate payload provided: {_without_stack_trace(str(error))}"
            ) from None
        return xgboost_inference.respond(predictions, accept, self.version, self.batch)

    def predict(self, records) -> np.ndarray:
        """``Booster.predict`` on the records; a request may have fewer columns than the model (missing)."""
        columns = records.shape[1]
        if columns > self.num_features:
            raise ValueError(
                f"records have {columns} features but the model was trained on {self.num_features}"
            )
        if columns < self.num_features:
            # Trailing features a request leaves out (libsvm) are missing, as in a DMatrix.
            records = _widen(records, self.num_features)
        # In-place prediction skips building a DMatrix; its results are the same as predict's.
        return self.booster.inplace_predict(records, validate_features=False)


def _widen(records, width: int):
    import scipy.sparse as sp

    if sp.issparse(records):
        return sp.csr_matrix((records.data, records.indices, records.indptr), shape=(records.shape[0], width))
    widened = np.full((records.shape[0], width), np.nan, dtype=records.dtype)
    widened[:, : records.shape[1]] = records
    return widened


ALGORITHM = XGBoostAlgorithm()

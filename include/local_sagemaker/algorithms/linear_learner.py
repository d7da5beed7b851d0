"""SageMaker's built-in Linear Learner (image repository ``linear-learner``) on scikit-learn.

``predictor_type`` ``binary_classifier``, ``multiclass_classifier`` or ``regressor``; hyperparameters with
SageMaker's names, defaults and validation; channels ``train`` (required), ``validation`` (early stopping,
threshold calibration and model selection) and ``test``, in recordIO-protobuf (the default) or CSV with the
label first. How the candidates are trained and chosen is in
:mod:`~include.local_sagemaker.algorithms.linear_learner_fit`; the metrics, logged for the ``validation``
and ``test`` channels in SageMaker's ``#quality_metric`` format, in
:mod:`~include.local_sagemaker.algorithms.linear_learner_scores`.

Hosts: on several hosts each trains on its own share of ``train`` and the hosts average their candidates'
parameters (see :mod:`~include.local_sagemaker.algorithms.linear_learner_fit`); ``algo-1`` receives the
``validation`` and ``test`` channels' shares of the others, selects, scores and writes the model.

Artifact: ``model_algo-1``, a zip with the learned weights in MXNet's NDArray format (see
:mod:`~include.local_sagemaker.algorithms.linear_learner_model` for what it holds and lacks).
Inference takes CSV, JSON, JSON Lines or recordIO records and answers JSON, JSON Lines or recordIO with
``score`` and (classifiers) ``predicted_label`` per record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from include.local_sagemaker.algorithms import content_types, linear_learner_model, payloads
from include.local_sagemaker.algorithms.base import TrainingContext
from include.local_sagemaker.algorithms.channel_data import (
    ChannelData,
    ChannelStream,
    host_shard,
    read_channel,
)
from include.local_sagemaker.algorithms.host_exchange import HostExchange
from include.local_sagemaker.algorithms.hyperparameters import (
    Hyperparameter,
    InvalidValue,
    as_mapping,
    boolean,
    client_error,
    integer,
    number,
    one_of,
    or_auto,
    parse_hyperparameters,
)
from include.local_sagemaker.algorithms.linear_learner_fit import (
    LOSSES,
    REGRESSION_LOSSES,
    fit,
    resolve_loss,
    summarise,
)
from include.local_sagemaker.algorithms.linear_learner_model import MODEL_FILE, LinearModel
from include.local_sagemaker.algorithms.linear_learner_scores import LOSS_METRICS, METRICS, channel_metrics
from include.local_sagemaker.algorithms.metrics import log, log_quality_metric, metric_definition

RESPONSE_TYPES = (content_types.JSON, content_types.JSON_LINES, content_types.RECORDIO_PROTOBUF)


def _auto_true_false(raw: str) -> str:
    lowered = raw.lower()
    if lowered in ("auto", "true", "false"):
        return lowered
    raise InvalidValue("one of the following: 'auto', 'true', 'false'")


def _positive_weight(raw: str) -> str | float:
    if raw.lower() in ("auto", "balanced"):
        return raw.lower()
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise InvalidValue("one of the following: 'auto', 'balanced'; or a number greater than 0")
    return value


HYPERPARAMETERS = (
    Hyperparameter(
        "predictor_type", one_of("binary_classifier", "multiclass_classifier", "regressor"), required=True
    ),
    Hyperparameter("feature_dim", or_auto(integer(minimum=1)), default="auto"),
    Hyperparameter("num_classes", integer(minimum=3, maximum=1_000_000)),
    Hyperparameter("mini_batch_size", integer(minimum=1), default="1000"),
    Hyperparameter("epochs", integer(minimum=1), default="15"),
    Hyperparameter("loss", one_of(*LOSSES, "auto"), default="auto"),
    Hyperparameter("optimizer", one_of("sgd", "adam", "rmsprop", "auto"), default="auto"),
    Hyperparameter("num_models", or_auto(integer(minimum=1)), default="auto"),
    Hyperparameter(
        "binary_classifier_model_selection_criteria",
        one_of(
            "accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision", "loss_function"
        ),
        default="accuracy",
    ),
    Hyperparameter(
        "target_recall", number(0, 1, exclusive_minimum=True, exclusive_maximum=True), default="0.8"
    ),
    Hyperparameter(
        "target_precision", number(0, 1, exclusive_minimum=True, exclusive_maximum=True), default="0.8"
    ),
    Hyperparameter("positive_example_weight_mult", _positive_weight, default="1.0"),
    Hyperparameter("use_bias", boolean, default="true"),
    Hyperparameter("num_calibration_samples", or_auto(integer(minimum=1)), default="auto"),
    Hyperparameter("init_method", one_of("uniform", "normal"), default="uniform"),
    Hyperparameter("init_scale", number(0, exclusive_minimum=True), default="0.07"),
    Hyperparameter("init_sigma", number(0, exclusive_minimum=True), default="0.01"),
    Hyperparameter("init_bias", number(), default="0"),
    Hyperparameter("learning_rate", or_auto(number(0, exclusive_minimum=True)), default="auto"),
    Hyperparameter("wd", or_auto(number(0)), default="auto"),
    Hyperparameter("l1", or_auto(number(0)), default="auto"),
    Hyperparameter("momentum", or_auto(number(0, 1, exclusive_maximum=True)), default="auto"),
    Hyperparameter("beta_1", or_auto(number(0, 1, exclusive_maximum=True)), default="auto"),
    Hyperparameter("beta_2", or_auto(number(0, 1, exclusive_maximum=True)), default="auto"),
    Hyperparameter("bias_lr_mult", or_auto(number(0, exclusive_minimum=True)), default="auto"),
    Hyperparameter("bias_wd_mult", or_auto(number(0)), default="auto"),
    Hyperparameter("use_lr_scheduler", boolean, default="true"),
    Hyperparameter("lr_scheduler_step", or_auto(integer(minimum=1)), default="auto"),
    Hyperparameter(
        "lr_scheduler_factor",
        or_auto(number(0, 1, exclusive_minimum=True, exclusive_maximum=True)),
        default="auto",
    ),
    Hyperparameter("lr_scheduler_minimum_lr", or_auto(number(0, exclusive_minimum=True)), default="auto"),
    Hyperparameter("normalize_data", _auto_true_false, default="true"),
    Hyperparameter("normalize_label", _auto_true_false, default="auto"),
    Hyperparameter("unbias_data", _auto_true_false, default="auto"),
    Hyperparameter("unbias_label", _auto_true_false, default="auto"),
    Hyperparameter("num_point_for_scaler", integer(minimum=1), default="10000"),
    Hyperparameter("margin", number(0), default="1.0"),
    Hyperparameter("quantile", number(0, 1, exclusive_minimum=True, exclusive_maximum=True), default="0.5"),
    Hyperparameter("loss_insensitivity", number(0, exclusive_minimum=True), default="0.01"),
    Hyperparameter("huber_delta", number(0), default="1.0"),
    Hyperparameter("early_stopping_patience", integer(minimum=1), default="3"),
    Hyperparameter("early_stopping_tolerance", number(0, exclusive_minimum=True), default="0.001"),
    Hyperparameter("accuracy_top_k", integer(minimum=1, maximum=1_000_000), default="3"),
    Hyperparameter("f_beta", number(0, exclusive_minimum=True), default="1.0"),
    Hyperparameter("balance_multiclass_weights", boolean, default="false"),
)


def _metric_definitions() -> tuple[dict[str, str], ...]:
    names = dict.fromkeys(name for names in METRICS.values() for name in names)
    return tuple(
        metric_definition(channel, name, "loss" if name in LOSS_METRICS else "score")
        for channel in ("validation", "test")
        for name in names
    )


class LinearLearnerAlgorithm:
    """The ``Algorithm`` the engine runs for ``…/linear-learner:1`` images."""

    image_repositories = ("linear-learner",)
    metric_definitions = _metric_definitions()

    def train(self, context: TrainingContext) -> None:
        """Fit on ``train``, select on ``validation``, write ``model_algo-1``, score validation and test."""
        started = time.perf_counter()
        params = parse_hyperparameters(HYPERPARAMETERS, context.hyperparameters)
        _check_combinations(params)
        log(f"Final configuration: {as_mapping(params)}")
        if "train" not in context.channels:
            raise client_error(
                "Channel 'train' is required; channels given: " + (", ".join(context.channels) or "none"),
                cause="KeyError",
            )
        for name in context.channels:
            if name not in ("train", "validation", "test"):
                log(
                    f"Ignoring channel '{name}': linear learner reads 'train', 'validation' and 'test'",
                    "WARNING",
                )
        feature_dim = None if params["feature_dim"] == "auto" else params["feature_dim"]
        exchange = HostExchange.of(context)
        stream = host_shard(context.channels["train"], feature_dim, exchange.distributed)
        if stream is None:
            log(f"Host {context.current_host} received none of channel 'train': it trains on no records")
        train = CheckedLabels(stream or NoRecords(feature_dim), "train", params)
        summary = summarise(train, params, exchange)
        log(f"Read {summary.rows} records of {train.feature_dim} features from channel 'train'")
        validation = _read_labelled(context, "validation", train.feature_dim, params, exchange)
        test = _read_labelled(context, "test", train.feature_dim, params, exchange)

        selected = fit(train, summary, validation, params, exchange)
        if selected is None:  # another host than the leader: the leader selects and writes the model
            log(f"Training finished in {time.perf_counter() - started:.3f} seconds")
            return
        model, selection = selected
        context.model_dir.mkdir(parents=True, exist_ok=True)
        path = context.model_dir / f"model_{context.current_host}"
        linear_learner_model.save(model, path, extra={"num_models_trained": selection["candidates"]})
        log(f"Saved the selected model (threshold {model.threshold!r}) to {path}")

        for channel, data in (("validation", validation), ("test", test)):
            if data is None:
                continue
            for name, value in channel_metrics(model, data.features, data.labels, params).items():
                kind = "loss" if name in LOSS_METRICS else "score"
                log_quality_metric(context.current_host, channel, name, value, kind)
        log(f"Training finished in {time.perf_counter() - started:.3f} seconds")

    def load(self, model_dir: Path) -> LinearLearnerPredictor:
        """Load ``model_algo-1`` as written by :meth:`train`."""
        model_dir = Path(model_dir)
        path = model_dir / MODEL_FILE
        if not path.is_file():
            candidates = sorted(model_dir.glob("model_*"))
            if not candidates:
                raise FileNotFoundError(f"No Linear Learner model in {model_dir}: expected {MODEL_FILE}")
            path = candidates[0]
        return LinearLearnerPredictor(linear_learner_model.load(path))


class LinearLearnerPredictor:
    """Answers ``InvokeEndpoint`` with ``score`` and ``predicted_label`` per record."""

    def __init__(self, model: LinearModel):
        self.model = model
        self.feature_dim = model.feature_dim

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """Decode ``body`` (CSV, JSON, JSON Lines, recordIO) and answer in the ``accept`` format."""
        response_type = payloads.choose_accept(accept, offered=RESPONSE_TYPES)
        records = payloads.decode_features(body, content_type, self.feature_dim)
        scores = self.model.scores(records)
        columns = {"score": scores}
        if self.model.predictor_type != "regressor":
            columns["predicted_label"] = self.model.predicted_labels(scores)
        if response_type == content_types.RECORDIO_PROTOBUF:
            return payloads.encode_response(columns, response_type), response_type
        rows = _json_rows(columns)
        if response_type == content_types.JSON:
            return json.dumps({"predictions": rows}).encode(), response_type
        return "".join(json.dumps(row) + "\n" for row in rows).encode(), response_type


def _json_rows(columns: dict[str, np.ndarray]) -> list[dict]:
    # Scores print as float32 widened (like the real container), labels as integers (as documented).
    scores = np.asarray(columns["score"], dtype=np.float32).astype(np.float64).tolist()
    if "predicted_label" not in columns:
        return [{"score": score} for score in scores]
    labels = np.asarray(columns["predicted_label"]).astype(int).tolist()
    return [{"score": score, "predicted_label": label} for score, label in zip(scores, labels, strict=True)]


def _check_combinations(params: dict) -> None:
    predictor_type = params["predictor_type"]
    if predictor_type == "multiclass_classifier" and "num_classes" not in params:
        raise client_error(
            "For predictor_type 'multiclass_classifier', 'num_classes' should be set "
            "to a value greater than 2"
        )


class NoRecords:
    """The ``train`` share of a host that received none of the channel's objects (``ShardedByS3Key`` over
    more hosts than objects, which SageMaker allows): it takes part in every exchange with no records."""

    def __init__(self, feature_dim: int | None):
        self.feature_dim = feature_dim

    def labelled_batches(self, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter(())


class CheckedLabels:
    """A streamed channel whose batches' labels are checked as they are read (one per record, valid for the
    predictor type), so a bad label fails the job with its record number wherever it is."""

    def __init__(self, stream: ChannelStream, name: str, params: dict):
        self.stream = stream
        self.name = name
        self.params = params

    @property
    def feature_dim(self) -> int | None:
        return self.stream.feature_dim

    def labelled_batches(self, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        first_record = 0
        for features, labels in self.stream.labelled_batches(batch_rows):
            yield features, _checked_labels(self.name, labels, self.params, first_record)
            first_record += len(features)


def _read_labelled(
    context: TrainingContext, name: str, feature_dim: int | None, params: dict, exchange: HostExchange
) -> ChannelData | None:
    """The whole channel on the leader, which evaluates (the hosts' shares of a sharded one gathered);
    None on the other hosts, and for a channel the job does not have."""
    if name not in context.channels:
        return None
    channel = context.channels[name]
    if not (exchange.distributed and channel.s3_distribution_type == "ShardedByS3Key"):
        if not exchange.is_leader:
            return None
        data = read_channel(channel, feature_dim)
        return ChannelData(data.features, _checked_labels(name, data.labels, params))
    message = {"rows": np.array(0)}
    if channel.files():
        data = read_channel(channel, feature_dim)
        labels = _checked_labels(name, data.labels, params)
        message = {"rows": np.array(len(labels)), "features": data.features, "labels": labels}
    gathered = exchange.gather(f"linear-learner-{name}", message)
    if gathered is None:
        return None
    shares = [share for share in gathered if share["rows"] > 0]
    if not shares:
        raise client_error(f"No data in channel '{name}' on any of the hosts {list(exchange.hosts)}")
    counts = [int(share["rows"]) for share in gathered]
    log(f"Gathered channel '{name}' from {len(exchange.hosts)} hosts: {counts} records")
    return ChannelData(
        np.concatenate([share["features"] for share in shares]),
        np.concatenate([share["labels"] for share in shares]),
    )


def _checked_labels(name: str, labels: np.ndarray | None, params: dict, first_record: int = 0) -> np.ndarray:
    if labels is None:
        raise client_error(
            f"The '{name}' channel has no labels: linear learner needs a label per record "
            "(recordIO Record.label, or the first CSV column)",
            cause="ValueError",
        )
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 1:
        raise client_error(f"The '{name}' channel has {labels.shape[1]} labels per record; expected one")
    _check_labels(name, labels, params, first_record)
    return labels


def _check_labels(name: str, labels: np.ndarray, params: dict, first_record: int = 0) -> None:
    predictor_type = params["predictor_type"]
    if predictor_type == "binary_classifier":
        allowed, wording = np.isin(labels, (0.0, 1.0)), "0 or 1"
    elif predictor_type == "multiclass_classifier":
        classes = params["num_classes"]
        allowed = (labels == np.floor(labels)) & (labels >= 0) & (labels < classes)
        wording = f"an integer in [0, {classes - 1}] (num_classes={classes})"
    elif resolve_loss(params) not in REGRESSION_LOSSES:
        # A classifying loss for a regressor: the engine's reading is a 0/1 label (AWS documents none).
        allowed, wording = np.isin(labels, (0.0, 1.0)), f"0 or 1 with the '{resolve_loss(params)}' loss"
    else:
        allowed, wording = np.isfinite(labels), "a finite number"
    if not allowed.all():
        index = int(np.argmin(allowed))
        label, record = float(labels[index]), first_record + index + 1
        raise client_error(
            f"Record {record} of the '{name}' channel has label {label!r}; a {predictor_type} "
            f"label must be {wording}",
            cause="ValueError",
        )


ALGORITHM = LinearLearnerAlgorithm()

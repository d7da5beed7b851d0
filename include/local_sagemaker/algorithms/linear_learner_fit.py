"""Linear Learner's training on scikit-learn: candidate models, early stopping, calibration, selection.

As on SageMaker, ``num_models`` candidates are trained side by side, differing in regularisation (``wd``)
and learning rate where those are ``auto``; features are standardised first (``normalize_data``, on at
most ``num_point_for_scaler`` records) and regression labels too (``normalize_label``). Each epoch streams
the ``train`` channel (:func:`~include.local_sagemaker.algorithms.channel_data.stream_channel`): it is read
in windows of a bounded number of records, each window shuffled and cut into batches of
``mini_batch_size`` that every candidate takes a ``partial_fit`` step on, so memory holds a window, not
the channel. With a ``validation`` channel a candidate stops after ``early_stopping_patience`` epochs
without a relative improvement of ``early_stopping_tolerance`` in its validation loss and keeps its best
epoch. Binary classifiers then get the decision threshold that optimises
``binary_classifier_model_selection_criteria`` on the validation data (else on a uniform sample of
``num_calibration_samples`` training records), and the candidate that is best on that criterion
(classifiers) or loss (regressors) is the model.

Every loss trains with every predictor type, as the SageMaker Python SDK's and SageMaker Spark's validators
allow (the documentation's table of losses per predictor type is what ``auto`` resolves to). A regression
loss fits the margin to the label: the 0/1 label of a binary classifier (whose calibrated threshold then
splits the scores, as for any binary classifier), each class's 0/1 indicator for a multiclass classifier.
The logistic and hinge losses need a 0/1 label for a regressor too; the softmax loss with two outcomes is
the logistic loss.

Models: ``SGDClassifier`` (logistic and hinge losses) and ``SGDRegressor`` (squared, absolute,
epsilon-insensitive and Huber losses; one per class for a multiclass classifier) trained with
``partial_fit``; ``LogisticRegression`` (a true softmax) for multiclass ``softmax_loss`` and
``QuantileRegressor`` for ``quantile_loss``, which have no incremental fit and so read the whole channel into
memory. ``optimizer``, ``momentum``,
``beta_1``/``beta_2`` and the ``init_*`` settings are validated but scikit-learn's solvers ignore them.

Hosts: SageMaker's Linear Learner trains its hosts data-parallel, combining their parameters through
its (MXNet) kvstore on a schedule AWS does not document. Here every host trains the candidates on its
own share of ``train`` and, after each epoch, the hosts' weights and biases (and the running averages
of averaged SGD) are averaged, weighted by the records each host trained on, through the job's
:class:`~include.local_sagemaker.algorithms.host_exchange.HostExchange`; the solvers without an
incremental fit average their per-host fits once. The scaler and label scaling are pooled from every
host's statistics first, so that the hosts' weights mean the same thing. The leader (``algo-1``), which
receives the whole ``validation`` channel, decides early stopping for all hosts and selects the model.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, QuantileRegressor, SGDClassifier, SGDRegressor
from sklearn.preprocessing import StandardScaler

from include.local_sagemaker.algorithms.channel_data import ChannelData, LabelledRecords, reservoir_sample
from include.local_sagemaker.algorithms.host_exchange import HostExchange, Message
from include.local_sagemaker.algorithms.linear_learner_model import PROBABILITY_LOSSES, LinearModel
from include.local_sagemaker.algorithms.linear_learner_scores import binary_threshold, objective_loss
from include.local_sagemaker.algorithms.metrics import log

AUTO_NUM_MODELS = 4
# "auto" spreads. Measured on the MNIST sample ("is it a 0"), a constant step of 0.01 or 0.001 on
# standardised features with wd 1e-3..1e-2 gives the lowest validation loss; scikit-learn's "optimal"
# schedule saturates the scores (losses 5-15 times higher at the same accuracy).
AUTO_WD = (1e-3, 1e-2, 1e-4, 1e-5)
AUTO_LEARNING_RATES = (0.01, 0.001)
AUTO_LR_SCHEDULER_STEP = 5  # epochs between decays
AUTO_LR_SCHEDULER_FACTOR = 0.5
AUTO_LR_SCHEDULER_MINIMUM_LR = 1e-5
RANDOM_STATE = 0
# Records are shuffled within windows of this many bytes of features (64 MB: 21,400 MNIST records), the
# memory an epoch holds whatever the size of the channel.
SHUFFLE_WINDOW_BYTES = 64 * 1024 * 1024
PREPARATION_BATCH_ROWS = 10_000  # records per batch of the pass that fits the scaler and counts labels
# Without a validation channel, thresholds and selection use a sample of the training records: SageMaker's
# documented default for num_calibration_samples (10,000,000 records) would not be bounded memory.
AUTO_CALIBRATION_SAMPLES = 20_000
DEFAULT_LOSS = {
    "binary_classifier": "logistic",
    "multiclass_classifier": "softmax_loss",
    "regressor": "squared_loss",
}
# Every loss of the SDK's and SageMaker Spark's validators (sagemaker/amazon/linear_learner.py,
# LinearLearnerSageMakerEstimator.scala); each is accepted with every predictor type.
LOSSES = (
    "logistic",
    "squared_loss",
    "absolute_loss",
    "hinge_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
    "softmax_loss",
)
# The losses that fit the margin to the label's value; the others (PROBABILITY_LOSSES, hinge) classify.
REGRESSION_LOSSES = (
    "squared_loss",
    "absolute_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
)

# Losses whose gradient keeps its size near the optimum, so that the last SGD step still jumps: these keep the
# average of the iterates (averaged SGD). Measured on the MNIST sample with the seed's absolute loss ("is it
# a 0"): test ROC AUC 0.89 and accuracy 0.92 from the last iterate, 0.98 and 0.95 averaged.
BOUNDED_GRADIENT_LOSSES = ("absolute_loss", "eps_insensitive_absolute_loss", "huber_loss")


@dataclass
class Candidate:
    """One of the ``num_models`` models trained side by side."""

    number: int
    wd: float
    learning_rate: float
    estimator: object
    best_loss: float = float("inf")
    best_state: tuple[np.ndarray, np.ndarray] | None = None
    epochs_without_improvement: int = 0
    stopped: bool = False


def resolve_loss(params: dict) -> str:
    return DEFAULT_LOSS[params["predictor_type"]] if params["loss"] == "auto" else params["loss"]


@dataclass(frozen=True)
class TrainingSummary:
    """What one pass over the ``train`` channel tells before training (scalings pooled over the hosts)."""

    rows: int  # this host's
    scaler: StandardScaler | None
    label_mean: float
    label_scale: float
    positive_weight: float  # the weight of records labelled 1 (binary classifiers), 1.0 for none


def summarise(train: LabelledRecords, params: dict, exchange: HostExchange | None = None) -> TrainingSummary:
    """Fit the feature scaler and the label scaling on the first ``num_point_for_scaler`` records and count
    the records (and positives, for ``positive_example_weight_mult`` ``balanced``) in one bounded pass;
    on several hosts, pool every host's statistics."""
    exchange = exchange or HostExchange.single_host()
    wanted = params["num_point_for_scaler"]
    scaler = None
    if params["normalize_data"] != "false":
        scaler = StandardScaler(with_mean=params["unbias_data"] != "false")
    label_sample: list[np.ndarray] = []
    rows = positives = scaled_rows = 0
    for features, labels in train.labelled_batches(PREPARATION_BATCH_ROWS):
        if scaled_rows < wanted:
            head = slice(0, wanted - scaled_rows)
            if scaler is not None:
                scaler.partial_fit(features[head])
            label_sample.append(labels[head])
            scaled_rows += len(features[head])
        rows += len(labels)
        positives += int((labels == 1).sum())
    # A host of a multi-host job may have received no records (ShardedByS3Key over more hosts than objects).
    sample = np.concatenate(label_sample) if label_sample else np.zeros(1)
    counts = {
        "rows": np.array(rows),
        "positives": np.array(positives),
        "labels": np.array(len(sample) if label_sample else 0),
        "label_mean": np.array(sample.mean()),
        "label_m2": np.array(((sample - sample.mean()) ** 2).sum()),
    }
    if scaler is not None and scaled_rows:
        counts.update(scaled=np.array(scaled_rows), mean=scaler.mean_, m2=scaler.var_ * scaled_rows)
    pooled = exchange.allreduce("linear-learner-summary", counts, _pooled_counts)
    if exchange.distributed:
        log(f"Pooled the summaries of {len(exchange.hosts)} hosts: {int(pooled['rows'])} records")
        if scaler is not None:
            scaler = _pooled_scaler(scaler.with_mean, pooled)
    label_mean, label_scale = _label_scaling(pooled, params)
    weight = _positive_weight(int(pooled["rows"]), int(pooled["positives"]), params)
    return TrainingSummary(rows, scaler, label_mean, label_scale, weight)


def _pooled_counts(messages: list[Message]) -> Message:
    """The hosts' counts summed, their means and sums of squared deviations pooled (Chan et al.)."""
    if len(messages) == 1:
        return messages[0]
    pooled = {name: sum(message[name] for message in messages) for name in ("rows", "positives")}
    for count, mean, m2 in (("labels", "label_mean", "label_m2"), ("scaled", "mean", "m2")):
        parts = [message for message in messages if count in message and message[count] > 0]
        if not parts:
            continue
        counts = np.array([float(part[count]) for part in parts])
        means = np.array([part[mean] for part in parts])
        total = counts.sum()
        pooled[mean] = np.tensordot(counts, means, axes=1) / total
        deviations = (means - pooled[mean]) ** 2
        pooled[m2] = sum(part[m2] for part in parts) + np.tensordot(counts, deviations, axes=1)
        pooled[count] = np.array(total)
    return pooled


def _pooled_scaler(with_mean: bool, pooled: Message) -> StandardScaler:
    """A fitted ``StandardScaler`` of the pooled mean and variance, as ``partial_fit`` on all would be."""
    scaler = StandardScaler(with_mean=with_mean)
    scaler.mean_ = pooled["mean"]
    scaler.var_ = pooled["m2"] / pooled["scaled"]
    scale = np.sqrt(scaler.var_)
    scaler.scale_ = np.where(scale < 10 * np.finfo(scale.dtype).eps, 1.0, scale)  # constant features: 1
    scaler.n_samples_seen_ = int(pooled["scaled"])
    scaler.n_features_in_ = len(scaler.mean_)
    return scaler


def fit(
    train: LabelledRecords,
    summary: TrainingSummary,
    validation: ChannelData | None,
    params: dict,
    exchange: HostExchange | None = None,
) -> tuple[LinearModel, dict] | None:
    """Train the candidates and return the selected model with a summary of the selection (None on the
    hosts other than the leader, which selects)."""
    exchange = exchange or HostExchange.single_host()
    predictor_type = params["predictor_type"]
    loss = resolve_loss(params)
    scaling = (summary.scaler, params, loss, summary.label_mean, summary.label_scale)

    if (predictor_type == "multiclass_classifier" and loss == "softmax_loss") or loss == "quantile_loss":
        models = _fit_whole(train, summary, params, loss) if summary.rows else []
        linear = [
            _to_linear(weights, bias, *scaling) for weights, bias in _averaged(models, summary, exchange)
        ]
    else:
        candidates = [
            Candidate(number, wd, lr, _sgd_estimator(params, loss, wd, lr, summary.label_scale))
            for number, (wd, lr) in enumerate(_grid(params))
        ]
        _train_sgd(candidates, train, summary, validation, params, loss, exchange)
        if not exchange.is_leader:
            return None
        linear = [_to_linear(*candidate.best_state, *scaling) for candidate in candidates]
    if not exchange.is_leader:
        return None
    return _select(linear, train, validation, params)


def _fit_whole(train: LabelledRecords, summary: TrainingSummary, params: dict, loss: str):
    """``(weights, bias)`` of the solvers without an incremental fit, on the whole (scaled) channel."""
    scaled, labels = _whole(train, summary)
    if loss == "softmax_loss":
        return [_fit_softmax(scaled, labels, params, wd) for wd in _grid(params, learning_rates=False)]
    targets = (labels - summary.label_mean) / summary.label_scale
    return [_fit_quantile(scaled, _regression_targets(targets, params), params)]


def _averaged(models: list[tuple[np.ndarray, np.ndarray]], summary: TrainingSummary, exchange: HostExchange):
    """The ``(weights, bias)`` of each model averaged over the hosts, weighted by their records."""
    if not exchange.distributed:
        return models
    message = {"rows": np.array(summary.rows)}
    for number, (weights, bias) in enumerate(models):
        message.update({f"{number}.weights": weights, f"{number}.bias": bias})
    averaged = exchange.allreduce("linear-learner-models", message, _weighted_average)
    count = sum(name.endswith(".weights") for name in averaged)
    return [(averaged[f"{number}.weights"], averaged[f"{number}.bias"]) for number in range(count)]


def _weighted_average(messages: list[Message]) -> Message:
    """Every array of the hosts' messages averaged, weighted by each host's ``rows``."""
    messages = [message for message in messages if message["rows"] > 0]
    if len(messages) == 1:
        return messages[0]
    rows = np.array([float(message["rows"]) for message in messages])
    averaged = {"rows": np.array(rows.sum())}
    for name in messages[0]:
        if name != "rows":
            averaged[name] = (
                sum(weight * message[name] for weight, message in zip(rows, messages, strict=True))
                / rows.sum()
            )
    return averaged


# --- preprocessing -------------------------------------------------------------------------------


def _whole(train: LabelledRecords, summary: TrainingSummary) -> tuple[np.ndarray, np.ndarray]:
    """The whole channel, scaled, for the solvers that have no incremental fit."""
    features, labels = [], []
    for batch, batch_labels in train.labelled_batches(PREPARATION_BATCH_ROWS):
        features.append(summary.scaler.transform(batch) if summary.scaler else batch)
        labels.append(batch_labels)
    return np.concatenate(features), np.concatenate(labels)


def _label_scaling(pooled: Message, params: dict) -> tuple[float, float]:
    regression = params["predictor_type"] == "regressor" and resolve_loss(params) in REGRESSION_LOSSES
    if not regression or params["normalize_label"] == "false":
        return 0.0, 1.0
    mean = float(pooled["label_mean"]) if params["unbias_label"] != "false" else 0.0
    scale = float(np.sqrt(pooled["label_m2"] / pooled["labels"])) or 1.0
    return mean, scale


def _grid(params: dict, learning_rates: bool = True) -> list[tuple[float, float]] | list[float]:
    """``num_models`` (wd, learning rate) pairs: the given values, else SageMaker-like spreads of them."""
    wds = (params["wd"],) if params["wd"] != "auto" else AUTO_WD
    rates = (params["learning_rate"],) if params["learning_rate"] != "auto" else AUTO_LEARNING_RATES
    count = AUTO_NUM_MODELS if params["num_models"] == "auto" else params["num_models"]
    if not learning_rates:
        return [wds[i % len(wds)] for i in range(min(count, len(wds)))]
    pairs = list(product(wds, rates))
    return [pairs[i % len(pairs)] for i in range(count)]


# --- the SGD family ------------------------------------------------------------------------------


def _sgd_estimator(params: dict, loss: str, wd: float, learning_rate: float, label_scale: float):
    l1 = 0.0 if params["l1"] == "auto" else params["l1"]
    penalty = {"penalty": "l2", "alpha": max(wd, 1e-12)}
    if l1 > 0:
        penalty = {"penalty": "elasticnet", "alpha": wd + l1, "l1_ratio": l1 / (wd + l1)}
    # A constant step within an epoch; _step_size lowers it between epochs when use_lr_scheduler is on.
    schedule = {"learning_rate": "constant", "eta0": learning_rate}
    common = {"fit_intercept": params["use_bias"], "random_state": RANDOM_STATE, **penalty, **schedule}
    if loss not in REGRESSION_LOSSES:
        sklearn_loss = "log_loss" if loss in PROBABILITY_LOSSES else "hinge"
        class_weight = "balanced" if params["balance_multiclass_weights"] else None
        return SGDClassifier(loss=sklearn_loss, class_weight=class_weight, **common)
    epsilon = params["loss_insensitivity"] / label_scale
    sklearn_loss, extra = {
        "squared_loss": ("squared_error", {}),
        "absolute_loss": ("epsilon_insensitive", {"epsilon": 0.0}),
        "eps_insensitive_absolute_loss": ("epsilon_insensitive", {"epsilon": epsilon}),
        "eps_insensitive_squared_loss": ("squared_epsilon_insensitive", {"epsilon": epsilon}),
        "huber_loss": ("huber", {"epsilon": params["huber_delta"] / label_scale}),
    }[loss]
    if loss in BOUNDED_GRADIENT_LOSSES:
        extra["average"] = True
    if params["predictor_type"] == "multiclass_classifier":
        return _PerClassRegressors(
            params["num_classes"], lambda: SGDRegressor(loss=sklearn_loss, **extra, **common)
        )
    return SGDRegressor(loss=sklearn_loss, **extra, **common)


class _PerClassRegressors:
    """A regression loss on a multiclass label: one regressor per class, fitted to its 0/1 indicator."""

    def __init__(self, classes: int, make):
        self.estimators = [make() for _ in range(classes)]

    @property
    def eta0(self) -> float:
        return self.estimators[0].eta0

    @eta0.setter
    def eta0(self, value: float) -> None:
        for estimator in self.estimators:
            estimator.eta0 = value

    def partial_fit(self, features, labels, sample_weight=None):
        for number, estimator in enumerate(self.estimators):
            estimator.partial_fit(
                features, (labels == number).astype(np.float64), sample_weight=sample_weight
            )
        return self

    @property
    def coef_(self) -> np.ndarray:
        return np.vstack([estimator.coef_ for estimator in self.estimators])

    @property
    def intercept_(self) -> np.ndarray:
        return np.concatenate([estimator.intercept_ for estimator in self.estimators])


def _train_sgd(
    candidates: list[Candidate],
    train: LabelledRecords,
    summary: TrainingSummary,
    validation: ChannelData | None,
    params: dict,
    loss: str,
    exchange: HostExchange,
) -> None:
    rng = np.random.default_rng(RANDOM_STATE)
    # The classes of a classifying loss; a regression loss fits values (per class, for multiclass).
    classes = None
    if loss not in REGRESSION_LOSSES:
        classes = np.array([0.0, 1.0])
        if params["predictor_type"] == "multiclass_classifier":
            classes = np.arange(params["num_classes"], dtype=np.float64)
    arguments = {"classes": classes} if classes is not None else {}
    scaling = (summary.scaler, params, loss, summary.label_mean, summary.label_scale)
    for epoch in range(params["epochs"]):
        active = [candidate for candidate in candidates if not candidate.stopped]
        for candidate in active:
            candidate.estimator.eta0 = _step_size(candidate.learning_rate, epoch, params)
        rows = 0
        for features, labels in _shuffled_batches(train, params["mini_batch_size"], rng):
            rows += len(labels)
            scaled = summary.scaler.transform(features) if summary.scaler else features
            targets = (labels - summary.label_mean) / summary.label_scale
            sample_weight = None
            if summary.positive_weight != 1.0:
                sample_weight = np.where(labels == 1, summary.positive_weight, 1.0)
            for candidate in active:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    candidate.estimator.partial_fit(scaled, targets, sample_weight=sample_weight, **arguments)
        if exchange.distributed:
            _average_over_hosts(active, rows, exchange, f"linear-learner-epoch-{epoch + 1}")
        if exchange.is_leader:
            _track_validation(active, validation, scaling, params, epoch)
        stopped = exchange.broadcast(
            f"linear-learner-stopped-{epoch + 1}",
            {"stopped": np.array([candidate.stopped for candidate in candidates])}
            if exchange.is_leader
            else None,
        )["stopped"]
        for candidate, flag in zip(candidates, stopped, strict=True):
            candidate.stopped = bool(flag)
        log(
            f"#progress_metric: host={exchange.current_host}, "
            f"completed {100 * (epoch + 1) // params['epochs']} % of epochs"
        )
        if all(candidate.stopped for candidate in candidates):
            break


def _average_over_hosts(active: list[Candidate], rows: int, exchange: HostExchange, name: str) -> None:
    """Replace every active candidate's parameters by their average over the hosts (weighted by the records
    each trained on this epoch), written into scikit-learn's own arrays so that training continues from it."""
    message = {"rows": np.array(rows)}
    for candidate in active:
        for part, estimator in enumerate(_estimators(candidate.estimator)):
            for attribute in _SGD_STATE:
                if getattr(estimator, attribute, None) is not None:
                    message[f"{candidate.number}.{part}.{attribute}"] = getattr(estimator, attribute)
    averaged = exchange.allreduce(name, message, _weighted_average)
    for candidate in active:
        for part, estimator in enumerate(_estimators(candidate.estimator)):
            for attribute in _SGD_STATE:
                key = f"{candidate.number}.{part}.{attribute}"
                # A host that has no records has nothing to continue from.
                if key in averaged and getattr(estimator, attribute, None) is not None:
                    # In place: coef_ is a view of _standard_coef (or _average_coef), which the next
                    # partial_fit starts from.
                    np.copyto(getattr(estimator, attribute), averaged[key])


# What an SGD estimator's next partial_fit continues from (the last two for averaged SGD only).
_SGD_STATE = (
    "coef_",
    "intercept_",
    "_standard_coef",
    "_standard_intercept",
    "_average_coef",
    "_average_intercept",
)


def _estimators(estimator) -> list:
    return estimator.estimators if isinstance(estimator, _PerClassRegressors) else [estimator]


def _track_validation(
    active: list[Candidate], validation: ChannelData | None, scaling: tuple, params: dict, epoch: int
) -> None:
    """Keep each candidate's best epoch by its validation loss, and stop it when it no longer improves."""
    for candidate in active:
        state = _coefficients(candidate.estimator)
        if validation is None:
            candidate.best_state = state
            continue
        model = _to_linear(*state, *scaling)
        epoch_loss = objective_loss(model, validation.features, validation.labels)
        if epoch_loss < candidate.best_loss * (1 - params["early_stopping_tolerance"]):
            candidate.best_loss, candidate.best_state = epoch_loss, state
            candidate.epochs_without_improvement = 0
        else:
            if candidate.best_state is None or not np.isfinite(candidate.best_loss):
                candidate.best_state = state
            candidate.epochs_without_improvement += 1
            if candidate.epochs_without_improvement >= params["early_stopping_patience"]:
                candidate.stopped = True
                log(f"Early stopping model {candidate.number} after epoch {epoch + 1}")


def _shuffled_batches(
    train: LabelledRecords, batch_rows: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch: windows of whole mini-batches read in order, each shuffled and cut into mini-batches.

    A channel that fits in one window is shuffled as a whole; a larger one is mixed within each window
    only, so files sorted by label should be shuffled when written (or the channel given a ShuffleConfig).
    """
    for features, labels in train.labelled_batches(_window_rows(train, batch_rows)):
        order = rng.permutation(len(features))
        for start in range(0, len(order), batch_rows):
            rows = order[start : start + batch_rows]
            yield features[rows], labels[rows]


def _window_rows(train: LabelledRecords, batch_rows: int) -> int:
    feature_dim = getattr(train, "feature_dim", None) or 1
    batches = max(1, SHUFFLE_WINDOW_BYTES // (4 * feature_dim * batch_rows))
    return batches * batch_rows


def _step_size(learning_rate: float, epoch: int, params: dict) -> float:
    """Linear Learner's step schedule: the rate times ``lr_scheduler_factor`` every ``lr_scheduler_step``
    epochs, never below ``lr_scheduler_minimum_lr``."""
    if not params["use_lr_scheduler"]:
        return learning_rate
    step = _or(params["lr_scheduler_step"], AUTO_LR_SCHEDULER_STEP)
    factor = _or(params["lr_scheduler_factor"], AUTO_LR_SCHEDULER_FACTOR)
    minimum = min(_or(params["lr_scheduler_minimum_lr"], AUTO_LR_SCHEDULER_MINIMUM_LR), learning_rate)
    return max(minimum, learning_rate * factor ** (epoch // step))


def _or(value, auto_value):
    return auto_value if value == "auto" else value


def _positive_weight(rows: int, positives: int, params: dict) -> float:
    if params["predictor_type"] != "binary_classifier":
        return 1.0
    multiplier = params["positive_example_weight_mult"]
    if multiplier == "balanced":
        return (rows - max(positives, 1)) / max(positives, 1)
    return 1.0 if multiplier == "auto" else multiplier


def _coefficients(estimator) -> tuple[np.ndarray, np.ndarray]:
    weights = np.atleast_2d(np.array(estimator.coef_, dtype=np.float64))
    bias = np.atleast_1d(np.array(estimator.intercept_, dtype=np.float64))
    return weights, bias


# --- the other solvers ---------------------------------------------------------------------------


def _fit_softmax(scaled: np.ndarray, labels: np.ndarray, params: dict, wd: float):
    model = LogisticRegression(
        C=1.0 / (max(wd, 1e-12) * len(labels)),
        fit_intercept=params["use_bias"],
        class_weight="balanced" if params["balance_multiclass_weights"] else None,
        max_iter=max(100, 10 * params["epochs"]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(scaled, labels.astype(np.int64))
    weights = np.zeros((params["num_classes"], scaled.shape[1]))
    bias = np.full(params["num_classes"], -1e9 if len(model.classes_) < params["num_classes"] else 0.0)
    weights[model.classes_] = model.coef_
    bias[model.classes_] = model.intercept_
    return weights, bias


def _regression_targets(targets: np.ndarray, params: dict) -> np.ndarray:
    """``(records, outputs)``: the label, or each class's 0/1 indicator for a multiclass classifier."""
    if params["predictor_type"] == "multiclass_classifier":
        return (targets[:, None] == np.arange(params["num_classes"])[None, :]).astype(np.float64)
    return targets[:, None]


def _fit_quantile(scaled: np.ndarray, targets: np.ndarray, params: dict):
    l1 = 0.0 if params["l1"] == "auto" else params["l1"]
    weights, biases = [], []
    for column in targets.T:
        model = QuantileRegressor(quantile=params["quantile"], alpha=l1, fit_intercept=params["use_bias"])
        model.fit(scaled, column)
        weights.append(model.coef_)
        biases.append(model.intercept_)
    return np.vstack(weights), np.asarray(biases, dtype=np.float64)


# --- to raw features, and selection --------------------------------------------------------------


def _to_linear(weights, bias, scaler, params, loss, label_mean, label_scale) -> LinearModel:
    """Fold the feature and label standardisation into the weights, so the model reads raw records."""
    weights = np.atleast_2d(weights).astype(np.float64)
    bias = np.atleast_1d(bias).astype(np.float64)
    if scaler is not None:
        # scikit-learn already gives constant features a scale of 1.
        mean = scaler.mean_ if scaler.with_mean else 0.0
        weights = weights / scaler.scale_
        bias = bias - weights @ np.broadcast_to(mean, weights.shape[1])
    if params["predictor_type"] == "regressor":
        weights, bias = weights * label_scale, bias * label_scale + label_mean
    return LinearModel(params["predictor_type"], loss, weights, bias)


def _select(models: list[LinearModel], train: LabelledRecords, validation: ChannelData | None, params: dict):
    held_out = validation or _calibration_sample(train, params)
    best, best_value, values = None, -np.inf, []
    for model in models:
        if params["predictor_type"] == "binary_classifier":
            model, value = binary_threshold(model, held_out.features, held_out.labels, params)
        else:
            value = -objective_loss(model, held_out.features, held_out.labels)
        values.append(value)
        if value > best_value or best is None:
            best, best_value = model, value
    criterion = "loss"
    if params["predictor_type"] == "binary_classifier":
        criterion = params["binary_classifier_model_selection_criteria"]
    data_name = "validation" if validation else f"{len(held_out.labels)} sampled training"
    log(f"Selected model {values.index(best_value)} of {len(models)} on the {data_name} data ({criterion})")
    return best, {"candidates": len(models), "selection_values": values}


def _calibration_sample(train: LabelledRecords, params: dict) -> ChannelData:
    count = params["num_calibration_samples"]
    count = AUTO_CALIBRATION_SAMPLES if count == "auto" else count
    features, labels = reservoir_sample(train, count, PREPARATION_BATCH_ROWS, RANDOM_STATE)
    return ChannelData(features, labels)

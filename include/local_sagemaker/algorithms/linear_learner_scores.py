"""Linear Learner's losses, threshold calibration and ``validation:*`` / ``test:*`` metrics (scikit-learn).

Metric names are those of SageMaker's documentation (``binary_classification_accuracy``, ``binary_f_beta``,
``precision``, ``recall``, ``roc_auc_score``, ``multiclass_accuracy``, ``multiclass_top_k_accuracy``,
``macro_f_beta``, ``macro_precision``, ``macro_recall``, ``dcg``, ``mse``, ``rmse``, ``absolute_loss``,
``objective_loss``); losses are logged as ``<loss>``, the others as ``<score>``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn import metrics as sk

from include.local_sagemaker.algorithms.linear_learner_model import PROBABILITY_LOSSES, LinearModel

METRICS = {
    "binary_classifier": (
        "objective_loss",
        "binary_classification_accuracy",
        "binary_f_beta",
        "precision",
        "recall",
        "roc_auc_score",
    ),
    "multiclass_classifier": (
        "objective_loss",
        "multiclass_accuracy",
        "multiclass_top_k_accuracy",
        "macro_f_beta",
        "macro_precision",
        "macro_recall",
        "dcg",
    ),
    "regressor": ("objective_loss", "mse", "rmse", "absolute_loss"),
}
LOSS_METRICS = ("objective_loss", "mse", "rmse", "absolute_loss")


def objective_loss(model: LinearModel, features: np.ndarray, labels: np.ndarray) -> float:
    """The mean training loss of ``model`` on the records (what early stopping and selection compare)."""
    labels = np.asarray(labels, dtype=np.float64)
    if model.predictor_type == "multiclass_classifier":
        probabilities = model.scores(features)
        if model.loss in PROBABILITY_LOSSES:
            return float(sk.log_loss(labels, probabilities, labels=np.arange(probabilities.shape[1])))
        margins = model.margins(features)
        rows, classes = np.arange(len(labels)), labels.astype(np.int64)
        if model.loss != "hinge_loss":  # a regression loss, on each class's 0/1 indicator
            indicators = np.zeros_like(margins)
            indicators[rows, classes] = 1.0
            return _regression_loss(model.loss, margins - indicators)
        correct = margins[rows, classes]
        others = margins.copy()
        others[rows, classes] = -np.inf
        return float(np.maximum(0.0, 1 + others.max(axis=1) - correct).mean())
    # A binary classifier, or a regressor: the classifying losses take the label as 0/1.
    if model.loss in PROBABILITY_LOSSES:
        return float(sk.log_loss(labels, model.scores(features), labels=[0, 1]))
    if model.loss == "hinge_loss":
        signs = 2 * labels - 1
        return float(np.maximum(0.0, 1 - signs * model.margins(features)[:, 0]).mean())
    return _regression_loss(model.loss, model.scores(features) - labels)


def _regression_loss(loss: str, errors: np.ndarray) -> float:
    return float(np.mean(np.square(errors) if "squared" in loss else np.abs(errors)))


def binary_threshold(
    model: LinearModel, features: np.ndarray, labels: np.ndarray, params: dict
) -> tuple[LinearModel, float]:
    """The model with the threshold that is best for ``binary_classifier_model_selection_criteria`` on the
    records, and the criterion's value there (higher is better)."""
    criterion = params["binary_classifier_model_selection_criteria"]
    if criterion == "loss_function":
        # The hinge loss separates at margin 0; a probability, or a regression of the 0/1 label, at 0.5.
        threshold = 0.0 if model.loss == "hinge_loss" else 0.5
        return replace(model, threshold=threshold), -objective_loss(model, features, labels)
    scores = model.scores(features)
    positives = np.asarray(labels) == 1
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_positive = scores[order], positives[order]
    # Predicting positive for the top k records, for every k at which the score changes.
    true_positive = np.cumsum(sorted_positive)
    predicted_positive = np.arange(1, len(scores) + 1)
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_positive, predicted_positive = true_positive[last_of_tie], predicted_positive[last_of_tie]
    thresholds = sorted_scores[last_of_tie]
    total_positive = max(int(positives.sum()), 1)
    precision = true_positive / predicted_positive
    recall = true_positive / total_positive
    if criterion == "accuracy":
        true_negative = (~positives).sum() - (predicted_positive - true_positive)
        values = (true_positive + true_negative) / len(scores)
    elif criterion == "f_beta":
        beta2 = params["f_beta"] ** 2
        values = (1 + beta2) * precision * recall / np.maximum(beta2 * precision + recall, 1e-12)
    elif criterion == "precision_at_target_recall":
        values = np.where(recall >= params["target_recall"], precision, -1.0)
    else:  # recall_at_target_precision
        values = np.where(precision >= params["target_precision"], recall, -1.0)
    best = int(np.argmax(values))
    return replace(model, threshold=float(thresholds[best])), float(values[best])


def channel_metrics(
    model: LinearModel, features: np.ndarray, labels: np.ndarray, params: dict
) -> dict[str, float]:
    """Every documented metric of the model's predictor type on one channel's records."""
    labels = np.asarray(labels, dtype=np.float64)
    scores = model.scores(features)
    found = {"objective_loss": objective_loss(model, features, labels)}
    beta = params["f_beta"]
    if model.predictor_type == "binary_classifier":
        predicted = model.predicted_labels(scores)
        found["binary_classification_accuracy"] = sk.accuracy_score(labels, predicted)
        found["binary_f_beta"] = sk.fbeta_score(labels, predicted, beta=beta, zero_division=0.0)
        found["precision"] = sk.precision_score(labels, predicted, zero_division=0.0)
        found["recall"] = sk.recall_score(labels, predicted, zero_division=0.0)
        found["roc_auc_score"] = sk.roc_auc_score(labels, scores) if len(np.unique(labels)) == 2 else 0.0
    elif model.predictor_type == "multiclass_classifier":
        predicted = model.predicted_labels(scores)
        classes = np.arange(scores.shape[1])
        found["multiclass_accuracy"] = sk.accuracy_score(labels, predicted)
        top_k = min(params["accuracy_top_k"], scores.shape[1])
        found["multiclass_top_k_accuracy"] = sk.top_k_accuracy_score(labels, scores, k=top_k, labels=classes)
        found["macro_f_beta"] = sk.fbeta_score(
            labels, predicted, beta=beta, average="macro", zero_division=0.0
        )
        found["macro_precision"] = sk.precision_score(labels, predicted, average="macro", zero_division=0.0)
        found["macro_recall"] = sk.recall_score(labels, predicted, average="macro", zero_division=0.0)
        relevance = (labels[:, None] == classes[None, :]).astype(np.float64)
        found["dcg"] = sk.dcg_score(relevance, scores)
    else:
        errors = scores - labels
        found["mse"] = float(np.mean(np.square(errors)))
        found["rmse"] = float(np.sqrt(found["mse"]))
        found["absolute_loss"] = float(np.mean(np.abs(errors)))
    return {name: float(value) for name, value in found.items()}

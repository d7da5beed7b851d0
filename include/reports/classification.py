"""How well predicted classes match the true labels: accuracy, per-class scores, the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn import metrics


@dataclass(frozen=True)
class ClassificationMetrics:
    records: int
    accuracy: float
    class_ids: list[int]
    class_names: list[str]
    precision: list[float]  # per class, in class_ids order
    recall: list[float]
    f1: list[float]
    support: list[int]  # true records of each class
    confusion: list[list[int]]  # rows: true class, columns: predicted class (class_ids order)
    misclassified: int

    @property
    def macro_f1(self) -> float:
        return float(np.mean(self.f1))

    def summary(self) -> dict:
        """The headline numbers, as written to ``metrics.json`` and returned through XCom."""
        return {
            "records": self.records,
            "classes": len(self.class_ids),
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "misclassified": self.misclassified,
        }

    def per_class(self) -> list[dict]:
        """One entry per class: id, name, precision, recall, F1 and support."""
        return [
            {
                "class": class_id,
                "name": name,
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "support": support,
            }
            for class_id, name, precision, recall, f1, support in zip(
                self.class_ids,
                self.class_names,
                self.precision,
                self.recall,
                self.f1,
                self.support,
                strict=True,
            )
        ]


def classification_metrics(
    labels: np.ndarray, predictions: np.ndarray, class_names: Sequence[str] | None = None
) -> ClassificationMetrics:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix of ``predictions``.

    With ``class_names`` the classes are ``0 .. len(class_names) - 1`` (every one is reported, even
    one that never occurs); without, they are the labels and predictions that occur, named by number.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    predictions = np.asarray(predictions).astype(np.int64).ravel()
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.size} labels but {predictions.size} predictions")
    if labels.size == 0:
        raise ValueError("No predictions to report on")
    if class_names is None:
        class_ids = sorted(int(c) for c in np.union1d(labels, predictions))
        names = [str(c) for c in class_ids]
    else:
        names = [str(name) for name in class_names]
        class_ids = list(range(len(names)))
        unknown = sorted(int(c) for c in np.setdiff1d(np.union1d(labels, predictions), class_ids))
        if unknown:
            raise ValueError(
                f"Classes {unknown} occur in the labels or predictions but only {len(names)} class names "
                f"were given ({names}); give one name per class index"
            )
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predictions, labels=class_ids, zero_division=0
    )
    return ClassificationMetrics(
        records=int(labels.size),
        accuracy=float(metrics.accuracy_score(labels, predictions)),
        class_ids=class_ids,
        class_names=names,
        precision=[float(v) for v in precision],
        recall=[float(v) for v in recall],
        f1=[float(v) for v in f1],
        support=[int(v) for v in support],
        confusion=metrics.confusion_matrix(labels, predictions, labels=class_ids).tolist(),
        misclassified=int((labels != predictions).sum()),
    )


def misclassified_indices(labels: np.ndarray, predictions: np.ndarray, limit: int) -> np.ndarray:
    """Up to ``limit`` misclassified rows, spread over the true classes so one class does not fill them."""
    labels = np.asarray(labels).ravel()
    wrong = np.flatnonzero(labels != np.asarray(predictions).ravel())
    # Round-robin over classes: the k-th mistake of every class comes before any class's (k+1)-th.
    rank_in_class = np.zeros(len(wrong), dtype=np.int64)
    for label in np.unique(labels[wrong]):
        members = labels[wrong] == label
        rank_in_class[members] = np.arange(members.sum())
    order = np.lexsort((labels[wrong], rank_in_class))
    return wrong[order][:limit]

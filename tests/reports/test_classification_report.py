from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from include.reports.classification import classification_metrics, misclassified_indices
from include.reports.html import classification_report_html
from include.reports.montage import captioned_montage

# Three classes, ten records. By hand:
#   true 0: predicted 0, 0, 1     true 1: predicted 1, 1, 1, 2     true 2: predicted 2, 0, 2
#   confusion [[2, 1, 0], [0, 3, 1], [1, 0, 2]]; accuracy 7/10
#   precision 2/3, 3/4, 2/3; recall 2/3, 3/4, 2/3; F1 = precision (they are equal per class)
LABELS = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
PREDICTIONS = np.array([0, 0, 1, 1, 1, 1, 2, 2, 0, 2])


def test_metrics_match_the_hand_computed_values() -> None:
    result = classification_metrics(LABELS, PREDICTIONS)
    assert result.records == 10
    assert result.accuracy == pytest.approx(0.7)
    assert result.confusion == [[2, 1, 0], [0, 3, 1], [1, 0, 2]]
    assert result.precision == pytest.approx([2 / 3, 3 / 4, 2 / 3])
    assert result.recall == pytest.approx([2 / 3, 3 / 4, 2 / 3])
    assert result.f1 == pytest.approx([2 / 3, 3 / 4, 2 / 3])
    assert result.support == [3, 4, 3]
    assert result.misclassified == 3
    assert result.class_names == ["0", "1", "2"]
    assert result.summary() == {
        "records": 10,
        "classes": 3,
        "accuracy": 0.7,
        "macro_f1": round((2 / 3 + 3 / 4 + 2 / 3) / 3, 4),
        "misclassified": 3,
    }


def test_a_class_that_is_only_predicted_gets_a_row_and_a_column() -> None:
    result = classification_metrics(np.array([0, 0, 1]), np.array([0, 5, 1]))
    assert result.class_ids == [0, 1, 5]
    assert result.confusion == [[1, 0, 1], [0, 1, 0], [0, 0, 0]]
    assert result.precision[2] == 0.0  # never right, and no division-by-zero warning turned into an error
    assert result.support == [2, 1, 0]


def test_class_names_cover_every_index_even_unseen_ones() -> None:
    names = ["not a zero", "a zero", "spare"]
    result = classification_metrics(np.array([0, 1, 1]), np.array([1, 1, 1]), names)
    assert result.class_ids == [0, 1, 2]
    assert result.per_class()[0] == {
        "class": 0,
        "name": "not a zero",
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
    }
    assert result.per_class()[1]["precision"] == pytest.approx(0.6667)
    assert result.confusion[2] == [0, 0, 0]


def test_classes_beyond_the_names_are_rejected_naming_them() -> None:
    with pytest.raises(ValueError, match=r"Classes \[7\] occur .* only 2 class names"):
        classification_metrics(np.array([0, 1]), np.array([0, 7]), ["no", "yes"])


def test_mismatched_lengths_and_empty_input_are_rejected() -> None:
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        classification_metrics(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="No predictions"):
        classification_metrics(np.zeros(0), np.zeros(0))


def test_misclassified_digits_are_spread_over_the_true_classes() -> None:
    labels = np.array([1, 1, 1, 1, 2, 2, 3])
    predictions = np.array([0, 0, 0, 1, 0, 0, 3])
    # class 1 has three mistakes (rows 0, 1, 2), class 2 two (rows 4, 5): alternate between them
    assert misclassified_indices(labels, predictions, 10).tolist() == [0, 4, 1, 5, 2]
    assert misclassified_indices(labels, predictions, 3).tolist() == [0, 4, 1]
    assert misclassified_indices(labels, labels, 5).tolist() == []


def test_html_shows_the_numbers_the_matrix_and_an_inline_montage() -> None:
    result = classification_metrics(LABELS, PREDICTIONS, ["zero", "one", "two"])
    images = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    png = captioned_montage(images, ["zero → one", "one → two", "two → zero"])
    assert png.startswith(b"\x89PNG")
    page = classification_report_html("XGBoost on MNIST", result, png, {"run_id": "manual__1"})

    assert "id='metric-accuracy'>0.7<" in page
    assert "id='metric-misclassified'>3<" in page
    assert "<th>one</th><td>0.7500</td><td>0.7500</td><td>0.7500</td><td>4</td>" in page
    confusion = page[page.index('id="confusion"') :]
    cells = re.findall(r"<td class='(diagonal)?'[^>]*>(\d+)</td>", confusion)
    assert [int(count) for _, count in cells] == [2, 1, 0, 0, 3, 1, 1, 0, 2]
    assert [count for diagonal, count in cells if diagonal] == ["2", "3", "2"]
    embedded = re.search(r"src='data:image/png;base64,([^']+)'", page).group(1)
    assert base64.b64decode(embedded) == png
    assert "manual__1" in page
    assert "http://" not in page
    assert "https://" not in page


def test_html_without_mistakes_says_so() -> None:
    result = classification_metrics(LABELS, LABELS)
    page = classification_report_html("perfect", result, None, {})
    assert "No digit was misclassified." in page
    assert "data:image" not in page
    assert "id='metric-accuracy'>1.0<" in page


def test_captioned_montage_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        captioned_montage(np.zeros((2, 10)), ["a", "b"])
    with pytest.raises(ValueError, match="2 images but 1 captions"):
        captioned_montage(np.zeros((2, 784)), ["a"])
    with pytest.raises(ValueError, match="No images"):
        captioned_montage(np.zeros((0, 784)), [])


def test_html_with_mistakes_but_no_montage_counts_them() -> None:
    page = classification_report_html("no samples", classification_metrics(LABELS, PREDICTIONS), None, {})
    assert "3 digits were misclassified (none drawn)." in page
    assert "No digit was misclassified." not in page

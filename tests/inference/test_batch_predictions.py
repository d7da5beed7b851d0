from __future__ import annotations

import io

import numpy as np
import pytest

from include.inference.batch_predictions import (
    pair_transform_output,
    predictions_npz,
    read_labelled_csv,
    read_predicted_labels,
)

LABELLED = b"3,0,0.5\n7,1,0.25\n"
MORE_LABELLED = b"1,0.75,0\n"


def test_labelled_csv_splits_label_and_features() -> None:
    features, labels = read_labelled_csv(LABELLED)
    assert labels.tolist() == [3, 7]
    assert labels.dtype == np.int64
    assert features.dtype == np.float32
    assert features.tolist() == [[0.0, 0.5], [1.0, 0.25]]
    with pytest.raises(ValueError, match="empty"):
        read_labelled_csv(b"\n")


def test_predicted_labels_skip_blank_lines_and_read_the_first_cell() -> None:
    assert read_predicted_labels(b"3\n7.0\n\n2,0.9\n").tolist() == [3, 7, 2]
    with pytest.raises(ValueError, match=r"Line 2 .*'seven'"):
        read_predicted_labels(b"3\nseven\n")
    with pytest.raises(ValueError, match=r"Line 1 .*'0\.4'"):
        read_predicted_labels(b"0.4\n")


def test_outputs_pair_with_their_labelled_objects_in_order() -> None:
    images, labels, predictions = pair_transform_output(
        [("a.csv", LABELLED), ("b.csv", MORE_LABELLED)], [("a.csv.out", b"3\n1\n"), ("b.csv.out", b"1\n")]
    )
    assert labels.tolist() == [3, 7, 1]
    assert predictions.tolist() == [3, 1, 1]
    assert images.shape == (3, 2)


def test_a_count_mismatch_names_the_objects() -> None:
    with pytest.raises(ValueError, match=r"a\.csv\.out holds 1 predictions for the 2 records of a\.csv"):
        pair_transform_output([("a.csv", LABELLED)], [("a.csv.out", b"3\n")])
    with pytest.raises(ValueError, match="2 labelled objects but 1 transform outputs"):
        pair_transform_output([("a.csv", LABELLED), ("b.csv", MORE_LABELLED)], [("a.csv.out", b"3\n1\n")])


def test_predictions_npz_holds_what_the_report_reads() -> None:
    body = predictions_npz(np.zeros((2, 4)), np.array([1, 2]), np.array([1.0, 3.0]))
    arrays = np.load(io.BytesIO(body))
    assert arrays["images"].dtype == np.float32
    assert arrays["predictions"].tolist() == [1, 3]
    with pytest.raises(ValueError, match="2 images, 1 labels and 2 predictions"):
        predictions_npz(np.zeros((2, 4)), np.array([1]), np.array([1, 3]))

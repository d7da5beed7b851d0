from __future__ import annotations

import io

import numpy as np
import pytest

from include.inference.batch_predictions import (
    digit_index,
    pair_digit_outputs,
    predicted_digit,
    predictions_npz,
)


def test_a_transform_output_is_read_as_the_seed_reads_it() -> None:
    # The MXNet default output handler's JSON, as the notebook's ast.literal_eval reads it.
    assert predicted_digit(b"[[0.01, 0.02, 0.9, 0.07, 0, 0, 0, 0, 0, 0]]") == 2
    with pytest.raises(ValueError, match="not"):
        predicted_digit(b"7\n")


def test_digit_files_name_their_digit() -> None:
    assert digit_index("run/csv-digits/test/data-17.csv") == 17
    assert digit_index("data-0.csv") == 0
    with pytest.raises(ValueError, match=r"part-00000\.csv"):
        digit_index("run/part-00000.csv")


def test_each_output_pairs_with_its_digits_image_and_label() -> None:
    images = np.arange(12, dtype=np.float32).reshape(3, 4)
    labels = np.array([5, 0, 4])
    outputs = [
        ("p/data-2.csv", b"[[0, 0, 0, 0, 0.9, 0.1, 0, 0, 0, 0]]"),
        ("p/data-0.csv", b"[[0, 0, 0, 0.6, 0, 0.4, 0, 0, 0, 0]]"),
    ]
    paired_images, paired_labels, predictions = pair_digit_outputs(images, labels, outputs)
    assert paired_labels.tolist() == [4, 5]
    assert predictions.tolist() == [4, 3]
    assert paired_images.tolist() == [images[2].tolist(), images[0].tolist()]
    with pytest.raises(ValueError, match="holds 3 digits"):
        pair_digit_outputs(images, labels, [("p/data-3.csv", b"[[1]]")])
    with pytest.raises(ValueError, match="No transform output"):
        pair_digit_outputs(images, labels, [])


def test_predictions_npz_holds_what_the_report_reads() -> None:
    body = predictions_npz(np.zeros((2, 4)), np.array([1, 2]), np.array([1.0, 3.0]))
    arrays = np.load(io.BytesIO(body))
    assert arrays["images"].dtype == np.float32
    assert arrays["predictions"].tolist() == [1, 3]
    with pytest.raises(ValueError, match="2 images, 1 labels and 2 predictions"):
        predictions_npz(np.zeros((2, 4)), np.array([1]), np.array([1, 3]))

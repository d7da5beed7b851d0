"""IDX parsing: round trips, and every malformed header or body is a clear error with the offending value."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from include.mnist.errors import DataFormatError
from include.mnist.idx import encode_idx, parse_idx, read_images, read_labels


def test_images_and_labels_round_trip(tmp_path, tiny):
    images_path = tmp_path / "images.gz"
    images_path.write_bytes(gzip.compress(encode_idx(tiny.train_images.reshape(-1, 28, 28))))
    labels_path = tmp_path / "labels"  # uncompressed files are read too
    labels_path.write_bytes(encode_idx(tiny.train_labels))

    np.testing.assert_array_equal(read_images(images_path), tiny.train_images)
    labels = read_labels(labels_path)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, tiny.train_labels)


def test_wrong_magic_number_names_file_and_expected_magic():
    data = b"\x50\x4b\x03\x04" + bytes(20)  # a zip file's signature
    with pytest.raises(
        DataFormatError, match=r"labels\.idx: magic number 0x504b0304 is not IDX \(expected 0x00000801"
    ):
        parse_idx(data, name="labels.idx", ndim=1)


def test_wrong_element_type_is_named():
    data = bytes([0, 0, 0x0D, 1]) + (2).to_bytes(4, "big") + bytes(8)
    with pytest.raises(DataFormatError, match=r"type 0x0d \(float\).*expected 0x00000801"):
        parse_idx(data, name="f", ndim=1)


def test_labels_file_given_as_images_is_a_rank_error():
    data = encode_idx(np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataFormatError, match="declares 1 dimensions, expected 3"):
        parse_idx(data, name="f", ndim=3)


def test_truncated_body_reports_byte_offset():
    data = encode_idx(np.zeros((2, 28, 28), dtype=np.uint8))[:-100]
    with pytest.raises(DataFormatError, match=r"shape \(2, 28, 28\).*truncated at byte offset 1484"):
        parse_idx(data, name="f", ndim=3)


def test_trailing_bytes_are_an_error():
    data = encode_idx(np.zeros(3, dtype=np.uint8)) + b"\x00"
    with pytest.raises(DataFormatError, match="extra bytes from byte offset 11"):
        parse_idx(data, name="f", ndim=1)


def test_short_header():
    with pytest.raises(DataFormatError, match="too short for an IDX header"):
        parse_idx(b"\x00\x00", name="f", ndim=1)


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    compressed = gzip.compress(encode_idx(np.arange(1000, dtype=np.uint8) % 10))
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataFormatError, match=r"train-labels-idx1-ubyte\.gz: truncated gzip"):
        read_labels(path)


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    with pytest.raises(DataFormatError, match=r"bad\.gz: corrupt gzip"):
        read_labels(path)


def test_images_must_be_28_by_28(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(encode_idx(np.zeros((2, 32, 32), dtype=np.uint8)))
    with pytest.raises(DataFormatError, match=r"images are \(32, 32\), expected \(28, 28\)"):
        read_images(path)


def test_labels_must_be_digits(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(encode_idx(np.array([1, 2, 12], dtype=np.uint8)))
    with pytest.raises(DataFormatError, match="label 12 at index 2 is not a digit"):
        read_labels(path)

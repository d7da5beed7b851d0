"""Request decoding and response encoding shared by the algorithms."""

from __future__ import annotations

import json

import numpy as np
import pytest

from include.local_sagemaker.algorithms import payloads
from include.local_sagemaker.algorithms.base import InferenceError


def test_sparse_json_instances_are_expanded():
    body = {"instances": [{"data": {"features": {"keys": [0, 3], "shape": [4], "values": [1.5, 2]}}}]}

    rows = payloads.decode_features(json.dumps(body).encode(), "application/json", 4)

    np.testing.assert_array_equal(rows, [[1.5, 0, 0, 2]])


def test_sparse_key_outside_the_shape_is_rejected():
    body = {"instances": [{"features": {"keys": [9], "shape": [4], "values": [1]}}]}

    with pytest.raises(InferenceError, match="key outside shape"):
        payloads.decode_features(json.dumps(body).encode(), "application/json", 4)


def test_bare_lists_are_accepted_as_instances():
    assert payloads.decode_features(b"[[1, 2], [3, 4]]", "application/json", 2).shape == (2, 2)
    assert payloads.decode_features(b"[1, 2]", "application/json; charset=utf-8", 2).shape == (1, 2)


def test_csv_request_may_carry_label_columns():
    rows = payloads.decode_features(b"9,1,2\n8,3,4\n", "text/csv; label_size=1", 2)

    np.testing.assert_array_equal(rows, [[1, 2], [3, 4]])


def test_jsonlines_aliases_and_blank_lines():
    rows = payloads.decode_features(b'{"features": [1, 2]}\n\n[3, 4]\n', "application/x-jsonlines", 2)

    np.testing.assert_array_equal(rows, [[1, 2], [3, 4]])


def test_jsonlines_bad_line_is_named():
    with pytest.raises(InferenceError, match="JSON Lines line 2 is not valid JSON"):
        payloads.decode_features(b'{"features": [1, 2]}\n{oops\n', "application/jsonlines", 2)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("image/png, application/jsonlines;q=0.9", "application/jsonlines"),
        ("application/x-recordio-protobuf", "application/x-recordio-protobuf"),
    ],
)
def test_accept_picks_the_first_offered_type(accept, chosen):
    assert payloads.choose_accept(accept) == chosen


def test_vector_columns_flatten_into_csv_and_stay_lists_in_json():
    columns = {"projection": np.array([[1.0, 2.5], [3.0, -0.25]], dtype=np.float32)}

    assert payloads.encode_response(columns, "text/csv") == b"1.0,2.5\n3.0,-0.25\n"
    assert json.loads(payloads.encode_response(columns, "application/json", json_key="projections")) == {
        "projections": [{"projection": [1.0, 2.5]}, {"projection": [3.0, -0.25]}]
    }


def test_recordio_label_record_bytes_follow_the_wire_format():
    body = payloads.encode_response(
        {"x": np.array([1.0], dtype=np.float32)}, "application/x-recordio-protobuf"
    )

    # Record.label{"x": Value.float32_tensor{values: [1.0]}}: 12 0d | 0a 01 'x' | 12 08 | 12 06 | 0a 04 <1.0>
    payload = bytes.fromhex("120d0a0178120812060a040000803f")
    assert body == bytes.fromhex("0a23d7ce") + len(payload).to_bytes(4, "little") + payload + b"\0"

"""The MNIST source param of the trigger form."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import ParamValidationError

from mnist_workflows.source_param import mnist_source_param


def test_source_param_is_typed_and_validates_trigger_input():
    param = mnist_source_param()
    assert param.resolve() == "sample"
    assert param.schema["type"] == "string"
    for good in ("mnist", "fashion-mnist", "https://mirror/mnist/", "s3://b/k/mnist.pkl.gz", "/data/idx"):
        assert param.resolve(good) == good

    with pytest.raises(ParamValidationError):
        param.resolve("imagenet")

"""Hyperparameter specs: defaults, parsing and SageMaker-worded failures."""

from __future__ import annotations

import pytest

from include.local_sagemaker.algorithms.hyperparameters import (
    Hyperparameter,
    boolean,
    integer,
    json_list_of,
    number,
    one_of,
    or_auto,
    parse_hyperparameters,
)
from include.local_sagemaker.failures import JobFailure

SPECS = (
    Hyperparameter("k", integer(minimum=1), required=True),
    Hyperparameter("feature_dim", integer(minimum=1), required=True),
    Hyperparameter("init_method", one_of("random", "kmeans++"), default="random"),
    Hyperparameter("tol", number(0, 1), default="0.0001"),
    Hyperparameter("factor", or_auto(integer(minimum=1)), default="auto"),
    Hyperparameter("subtract_mean", boolean, default="true"),
    Hyperparameter("eval_metrics", json_list_of("msd", "ssd", name="eval_metrics"), default='["msd"]'),
    Hyperparameter("optional_without_default", integer()),
)


def failure(given: dict[str, str]) -> str:
    with pytest.raises(JobFailure) as caught:
        parse_hyperparameters(SPECS, given)
    return str(caught.value)


def test_defaults_fill_in_and_values_are_parsed():
    parsed = parse_hyperparameters(
        SPECS, {"k": "10", "feature_dim": "784.0", "factor": "3", "subtract_mean": "False"}
    )

    assert parsed == {
        "k": 10,
        "feature_dim": 784,
        "init_method": "random",
        "tol": 0.0001,
        "factor": 3,
        "subtract_mean": False,
        "eval_metrics": ["msd"],
    }


def test_missing_required_hyperparameters_use_sagemakers_sentence():
    assert failure({}) == (
        "ClientError: No value(s) were specified for 'k', 'feature_dim' which are required "
        "hyperparameter(s) (caused by ValidationError)"
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"k": "0"},
            "The value '0' is not valid for the 'k' hyperparameter "
            "which expects an integer greater than or equal to 1",
        ),
        ({"k": "ten"}, "The value 'ten' is not valid for the 'k' hyperparameter"),
        ({"k": "2.5"}, "The value '2.5' is not valid for the 'k' hyperparameter"),
        (
            {"tol": "1.5"},
            "The value '1.5' is not valid for the 'tol' hyperparameter which expects a number in [0, 1]",
        ),
        ({"tol": "nan"}, "The value 'nan' is not valid for the 'tol' hyperparameter"),
        ({"init_method": "kmeans||"}, "which expects one of the following: 'random', 'kmeans++'"),
        (
            {"factor": "0"},
            "which expects one of the following: 'auto'; or an integer greater than or equal to 1",
        ),
        ({"subtract_mean": "yes"}, "The value 'yes' is not valid for the 'subtract_mean' hyperparameter"),
        (
            {"eval_metrics": '["msd", "rmse"]'},
            "The value '[\"msd\", \"rmse\"]' is not valid for the 'eval_metrics'",
        ),
    ],
)
def test_invalid_values_name_the_hyperparameter_and_the_value(given, message):
    reason = failure({"k": "3", "feature_dim": "2", **given})

    assert reason.startswith("ClientError: ")
    assert message in reason
    assert reason.endswith("(caused by ValidationError)")


def test_eval_metrics_that_are_not_json_fail_like_sagemakers_kmeans():
    assert failure({"k": "3", "feature_dim": "2", "eval_metrics": "[msd"}) == (
        "Customer Error: Hyperparameter must be valid json, "
        "but found eval_metrics: [msd (caused by ValueError)"
    )


def test_eval_metrics_accepts_a_bare_metric_name():
    parsed = parse_hyperparameters(SPECS, {"k": "3", "feature_dim": "2", "eval_metrics": "ssd"})

    assert parsed["eval_metrics"] == ["ssd"]


def test_unknown_hyperparameters_fail_but_platform_ones_pass():
    reason = failure({"k": "3", "feature_dim": "2", "kk": "1"})

    assert (
        reason == "ClientError: Additional hyperparameters are not allowed ('kk' was unexpected) "
        "(caused by ValidationError)"
    )
    parsed = parse_hyperparameters(
        SPECS, {"k": "3", "feature_dim": "2", "_tuning_objective_metric": "test:msd"}
    )
    assert "_tuning_objective_metric" not in parsed

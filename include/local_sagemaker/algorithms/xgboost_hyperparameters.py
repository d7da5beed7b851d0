"""The SageMaker XGBoost container's hyperparameters, validated with the container's rules and wording.

The XGBoost container does not share the first-party algorithms' JSON-schema validation
(:mod:`~include.local_sagemaker.algorithms.hyperparameters`); its own toolkit validates in four passes, and
a job fails at the first problem with one of these messages::

    Missing required hyperparameter: num_round
    Extraneous hyperparameter found: silent
    Hyperparameter eta: could not parse value (caused by ValueError)
    Hyperparameter eta: 2.0 is not in [0, 1]
    Hyperparameter eval_metric: value ['foo'] not in range [...]
    Require input for parameter 'num_class' for multi-classification

1. aliases are replaced by their names (``learning_rate`` → ``eta``, ``min_split_loss`` → ``gamma``,
   ``reg_lambda`` → ``lambda``, ``reg_alpha`` → ``alpha``); required names are checked;
2. every value is parsed (an unknown name fails here, in the order given);
3. every value is checked against its range;
4. checks across hyperparameters run (``objective`` needs ``num_class``, ``eval_metric`` ``auc`` needs a
   classification or ranking objective, constraints need a compatible ``tree_method``).

None has a default: what is not given is left to XGBoost's own defaults, as in the container.

Which names an image accepts depends on its version (:data:`VERSIONED`): ``silent``, for one, is accepted
up to 1.0-1 and extraneous from 1.2-1 on. The rules above are 1.7-1's; the value ranges of older images
(which refused the GPU options, for instance) are not tabled.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from include.local_sagemaker.algorithms import xgboost_versions
from include.local_sagemaker.algorithms.xgboost_versions import LEGACY
from include.local_sagemaker.failures import JobFailure

# XGBoost's evaluation metrics and the container's own (scikit-learn) metrics, by the direction the
# container's metric definitions give them.
MAXIMIZE_METRICS = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "r2",
    "recall",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
)
MINIMIZE_METRICS = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)
OBJECTIVES = (
    "aft_loss_distribution",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)
UPDATERS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "shotgun",
    "coord_descent",
)
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}


def user_error(message: str) -> JobFailure:
    """A customer error of the XGBoost container (its ``UserError``), as the job's ``FailureReason``."""
    return JobFailure(f"ClientError: {message}")


# --- ranges --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A numeric range, rendered as the container renders it: ``[0, 1]``, ``(0, 1]``, ``[1, +inf)``."""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: float) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        if self.min_open is not None:
            low = f"({self.min_open}, "
        elif self.min_closed is not None:
            low = f"[{self.min_closed}, "
        else:
            low = "(-inf, "
        if self.max_open is not None:
            high = f"{self.max_open})"
        elif self.max_closed is not None:
            high = f"{self.max_closed}]"
        else:
            high = "+inf)"
        return low + high


class Choices:
    """A set of accepted strings, optionally with a custom membership rule (``error@0.7``)."""

    def __init__(self, values: tuple, accepts: Callable[[str], bool] | None = None):
        self.values = values
        self._accepts = accepts

    def __contains__(self, value: Any) -> bool:
        return self._accepts(value) if self._accepts else value in self.values

    def __str__(self) -> str:
        return str(list(self.values))


# --- specs ---------------------------------------------------------------------------------------

Kind = str  # "integer" | "continuous" | "categorical" | "list" | "tuple" | "nested"


@dataclass(frozen=True)
class Spec:
    """One hyperparameter: how its string is parsed (``kind``) and which values are in range."""

    name: str
    kind: Kind
    range: Interval | Choices | None = None
    required: bool = False

    def parse(self, raw: str) -> Any:
        if self.kind == "integer":
            return int(raw)  # like the container: "10.0" does not parse
        if self.kind == "continuous":
            return float(raw)
        if self.kind == "list":
            return raw.split(",")
        if self.kind in ("tuple", "nested"):
            try:
                value = ast.literal_eval(raw)
            except (SyntaxError, ValueError):
                raise ValueError(raw) from None
            return tuple(value) if self.kind == "tuple" else list(value)
        return raw

    def check_range(self, value: Any) -> None:
        if self.range is None:
            return
        if self.kind in ("list", "tuple", "nested"):
            items = [item for inner in value for item in inner] if self.kind == "nested" else list(value)
            if any(item not in self.range for item in items):
                raise user_error(f"Hyperparameter {self.name}: value {value} not in range {self.range}")
        elif value not in self.range:
            raise user_error(f"Hyperparameter {self.name}: {value} is not in {self.range}")


def _eval_metric_accepted(metric: str) -> bool:
    if "<function" in metric:
        raise user_error(f"User defined evaluation metric {metric} is not supported yet.")
    if "@" in metric:
        name, _, threshold = (part.strip() for part in metric.partition("@"))
        if name not in ("error", "ndcg", "map"):
            raise user_error(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold "
                "should be one of these options: 'error', 'ndcg', 'map'."
            )
        try:
            float(threshold)
        except ValueError:
            raise user_error(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True
    return metric in MAXIMIZE_METRICS + MINIMIZE_METRICS


def _metric_names() -> tuple[str, ...]:
    return tuple(f"validation:{name}" for name in MAXIMIZE_METRICS + MINIMIZE_METRICS)


def _at_least(value: float) -> Interval:
    return Interval(min_closed=value)


_UNIT = Interval(min_closed=0, max_closed=1)
_FRACTION = Interval(min_open=0, max_closed=1)
_FLAG = Interval(min_closed=0, max_closed=1)

SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("num_round", "integer", _at_least(1), required=True),
        Spec("csv_weights", "integer", _FLAG),
        Spec("early_stopping_rounds", "integer", _at_least(1)),
        Spec("booster", "categorical", Choices(("gbtree", "gblinear", "dart"))),
        Spec("verbosity", "integer", Interval(min_closed=0, max_closed=3)),
        Spec("nthread", "integer", _at_least(1)),
        Spec("eta", "continuous", _UNIT),
        Spec("gamma", "continuous", _at_least(0)),
        Spec("max_depth", "integer", _at_least(0)),
        Spec("min_child_weight", "continuous", _at_least(0)),
        Spec("max_delta_step", "continuous", _at_least(0)),
        Spec("subsample", "continuous", _FRACTION),
        Spec("colsample_bytree", "continuous", _FRACTION),
        Spec("colsample_bylevel", "continuous", _FRACTION),
        Spec("colsample_bynode", "continuous", _FRACTION),
        Spec("lambda", "continuous", _at_least(0)),
        Spec("alpha", "continuous", _at_least(0)),
        Spec("tree_method", "categorical", Choices(("auto", "exact", "approx", "hist", "gpu_hist"))),
        Spec("sketch_eps", "continuous", Interval(min_open=0, max_open=1)),
        Spec("scale_pos_weight", "continuous", Interval(min_open=0)),
        Spec("updater", "list", Choices(UPDATERS)),
        Spec("dsplit", "categorical", Choices(("row", "col"))),
        Spec("refresh_leaf", "integer", _FLAG),
        Spec("process_type", "categorical", Choices(("default", "update"))),
        Spec("grow_policy", "categorical", Choices(("depthwise", "lossguide"))),
        Spec("max_leaves", "integer", _at_least(0)),
        Spec("max_bin", "integer", _at_least(0)),
        Spec("predictor", "categorical", Choices(("auto", "cpu_predictor", "gpu_predictor"))),
        Spec("monotone_constraints", "tuple", Choices((-1, 0, 1))),
        Spec("interaction_constraints", "nested", _at_least(1)),
        Spec("sample_type", "categorical", Choices(("uniform", "weighted"))),
        Spec("normalize_type", "categorical", Choices(("tree", "forest"))),
        Spec("rate_drop", "continuous", _UNIT),
        Spec("one_drop", "integer", _FLAG),
        Spec("skip_drop", "continuous", _UNIT),
        Spec("lambda_bias", "continuous", _UNIT),
        Spec("tweedie_variance_power", "continuous", Interval(min_open=1, max_open=2)),
        Spec("objective", "categorical", Choices(OBJECTIVES)),
        Spec("num_class", "integer", _at_least(2)),
        Spec("base_score", "continuous", _at_least(0)),
        Spec("_kfold", "integer", _at_least(2)),
        Spec("_num_cv_round", "integer", _at_least(1)),
        Spec("_tuning_objective_metric", "categorical", Choices(_metric_names())),
        Spec("eval_metric", "list", Choices(MAXIMIZE_METRICS + MINIMIZE_METRICS, _eval_metric_accepted)),
        Spec("seed", "integer", Interval(min_open=-(2**31), max_open=2**31 - 1)),
        Spec("num_parallel_tree", "integer", _at_least(1)),
        Spec("save_model_on_termination", "categorical", Choices(("true", "false"))),
        Spec("aft_loss_distribution", "categorical", Choices(("normal", "logistic", "extreme"))),
        Spec("aft_loss_distribution_scale", "continuous", _at_least(0)),
        Spec("deterministic_histogram", "categorical", Choices(("true", "false"))),
        Spec("sampling_method", "categorical", Choices(("uniform", "gradient_based"))),
        Spec("prob_buffer_row", "integer", Interval(min_open=1.0)),
        Spec("use_dask_gpu_training", "categorical", Choices(("true", "false"))),
        Spec("silent", "integer", _FLAG),
        Spec("single_precision_histogram", "categorical", Choices(("true", "false"))),
        Spec("_nfold", "integer", _at_least(2)),
    )
}

# The names that not every image accepts: name -> (first image, last image) that accepts it; None: every
# image since. Read off algorithm_mode/hyperparameter_validation.py on each version's branch of
# github.com/aws/sagemaker-xgboost-container (0.90-1, 0.90-2, 1.0-1, 1.2-1, 1.2-2, 1.3-1, 1.5-1, 1.7-1 and
# tag v3.0-5, whose names are 1.7-1's). Every other name of SPECS is accepted by every image. The legacy
# image (xgboost:1) is closed source: it takes 0.90-1's names here, a superset of what SageMaker Spark's
# XGBoostSageMakerEstimator, written for xgboost:1, sends (``silent`` among them).
VERSIONED: dict[str, tuple[str, str | None]] = {
    "silent": (LEGACY, "1.0-1"),
    "num_parallel_tree": ("0.90-2", None),
    "interaction_constraints": ("1.0-1", None),
    "monotone_constraints": ("1.0-1", None),
    "save_model_on_termination": ("1.0-1", None),
    "_nfold": ("1.2-1", "1.2-1"),  # renamed _kfold in 1.2-2
    "aft_loss_distribution": ("1.2-1", None),
    "aft_loss_distribution_scale": ("1.2-1", None),
    "deterministic_histogram": ("1.2-1", None),
    "single_precision_histogram": ("1.2-1", "1.5-1"),
    "_kfold": ("1.2-2", None),
    "_num_cv_round": ("1.2-2", None),
    "prob_buffer_row": ("1.3-1", None),
    "sampling_method": ("1.3-1", None),
    "use_dask_gpu_training": ("1.5-1", None),
}


def specs_for(version: str) -> dict[str, Spec]:
    """The hyperparameters the image of ``version`` (``"1.7-1"``, ``LEGACY``...) accepts."""
    return {
        name: spec
        for name, spec in SPECS.items()
        if name not in VERSIONED or xgboost_versions.between(version, *VERSIONED[name])
    }


def validate(given: Mapping[str, str], version: str = xgboost_versions.DEFAULT) -> dict[str, Any]:
    """Parse and check ``hyperparameters.json`` the way the image of ``version`` does; returns the given
    names (aliases resolved) mapped to parsed values. Raises :class:`JobFailure` at the first problem."""
    specs = specs_for(version)
    values = {ALIASES.get(name, name): raw for name, raw in given.items()}
    for spec in specs.values():
        if spec.required and spec.name not in values:
            raise user_error(f"Missing required hyperparameter: {spec.name}")
    parsed: dict[str, Any] = {}
    for name, raw in values.items():
        spec = specs.get(name)
        if spec is None:
            raise user_error(f"Extraneous hyperparameter found: {name}")
        try:
            parsed[name] = spec.parse(str(raw))
        except ValueError:
            raise user_error(f"Hyperparameter {name}: could not parse value (caused by ValueError)") from None
    for name, value in parsed.items():
        specs[name].check_range(value)
    _check_dependencies(parsed)
    return parsed


def _check_dependencies(parsed: dict[str, Any]) -> None:
    objective = parsed.get("objective")
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in parsed:
        raise user_error("Require input for parameter 'num_class' for multi-classification")
    metrics = parsed.get("eval_metric") or []
    # XGBoost's default objective applies when none is given.
    effective_objective = objective or "reg:squarederror"
    if "auc" in metrics and not effective_objective.startswith(("binary:", "rank:")):
        raise user_error("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in metrics and effective_objective != "survival:aft":
        raise user_error("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")
    tree_method = parsed.get("tree_method")
    if "monotone_constraints" in parsed and tree_method not in ("exact", "hist"):
        raise user_error(
            "monotone_constraints can be used only when the tree_method parameter is set to "
            "either 'exact' or 'hist'."
        )
    if "interaction_constraints" in parsed and tree_method not in ("exact", "hist", "approx"):
        raise user_error(
            "interaction_constraints can be used only when the tree_method parameter is set to "
            "either 'exact', 'hist' or 'approx'."
        )
    if parsed.get("booster") == "gblinear" and "updater" in parsed:
        updaters = parsed["updater"]
        if len(updaters) != 1 or updaters[0] not in ("shotgun", "coord_descent"):
            raise user_error("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")

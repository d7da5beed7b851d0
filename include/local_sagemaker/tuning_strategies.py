"""Hyperparameter search spaces and the strategies that pick the next training job's values.

A :class:`SearchSpace` is built from a tuning job's ``ParameterRanges`` (integer, continuous and
categorical, with SageMaker's ``Linear`` / ``Logarithmic`` / ``ReverseLogarithmic`` scaling) and
validated with SageMaker's rules beyond the service model (which has already checked names, enums and
sizes). Strategies:

* ``Random``: independent draws (``RandomSeed`` makes them reproducible);
* ``Grid``: every combination of the categorical values, in order (SageMaker allows only categorical
  ranges with Grid);
* ``Bayesian``: a Gaussian process (scikit-learn) fitted to the finished jobs' objective values in the
  scaled unit cube, proposing the random candidate of highest expected improvement; the first jobs are
  random draws, as there is nothing to fit yet.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from include.local_sagemaker.errors import validation

_RANDOM_STARTS = 3
_CANDIDATES = 512


@dataclass(frozen=True)
class NumericRange:
    name: str
    low: float
    high: float
    integer: bool
    scaling: str

    def to_unit(self, value: float) -> float:
        """Position of ``value`` in [0, 1] on this range's scale."""
        if self.high == self.low:
            return 0.0
        if self.scaling == "Logarithmic":
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        if self.scaling == "ReverseLogarithmic":
            return (math.log(1 - self.low) - math.log(1 - value)) / (
                math.log(1 - self.low) - math.log(1 - self.high)
            )
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, position: float) -> float | int:
        """The value at ``position`` in [0, 1] on this range's scale (rounded for integers)."""
        if self.scaling == "Logarithmic":
            value = math.exp(math.log(self.low) + position * (math.log(self.high) - math.log(self.low)))
        elif self.scaling == "ReverseLogarithmic":
            value = 1 - math.exp(
                math.log(1 - self.low) - position * (math.log(1 - self.low) - math.log(1 - self.high))
            )
        else:
            value = self.low + position * (self.high - self.low)
        value = min(max(value, self.low), self.high)
        return round(value) if self.integer else value

    def format(self, value: float | int) -> str:
        return str(int(value)) if self.integer else repr(float(value))


@dataclass(frozen=True)
class CategoricalRange:
    name: str
    values: tuple[str, ...]


def _number(kind: str, name: str, field: str, raw) -> float:
    try:
        return float(raw) if kind == "Continuous" else int(raw)
    except (TypeError, ValueError):
        raise validation(
            f"{kind}ParameterRange {name!r}: {field} {raw!r} is not a valid {kind.lower()} value"
        ) from None


def _numeric_range(kind: str, spec: dict) -> NumericRange:
    name = spec["Name"]
    low = _number(kind, name, "MinValue", spec["MinValue"])
    high = _number(kind, name, "MaxValue", spec["MaxValue"])
    scaling = spec.get("ScalingType", "Auto")
    if low > high:
        raise validation(f"{kind}ParameterRange {name!r}: MinValue {low} is greater than MaxValue {high}")
    if scaling == "Logarithmic" and low <= 0:
        raise validation(
            f"{kind}ParameterRange {name!r}: Logarithmic scaling needs MinValue greater than 0, got {low}"
        )
    if scaling == "ReverseLogarithmic" and (kind == "Integer" or not 0 <= low < high < 1):
        raise validation(
            f"{kind}ParameterRange {name!r}: ReverseLogarithmic scaling applies to continuous ranges within "
            f"[0, 1) only, got [{low}, {high}]"
        )
    # Auto lets SageMaker choose; linear is its choice unless a log scale is clearly better.
    return NumericRange(name, low, high, kind == "Integer", "Linear" if scaling == "Auto" else scaling)


class SearchSpace:
    """The tuned hyperparameters of a tuning job."""

    def __init__(self, parameter_ranges: dict, static_hyperparameters: dict | None = None):
        parameter_ranges = parameter_ranges or {}
        self.numeric = [
            _numeric_range("Integer", spec) for spec in parameter_ranges.get("IntegerParameterRanges") or []
        ] + [
            _numeric_range("Continuous", spec)
            for spec in parameter_ranges.get("ContinuousParameterRanges") or []
        ]
        self.categorical = []
        for spec in parameter_ranges.get("CategoricalParameterRanges") or []:
            self.categorical.append(CategoricalRange(spec["Name"], tuple(spec["Values"])))
        names = [r.name for r in self.numeric] + [r.name for r in self.categorical]
        if not names:
            raise validation("ParameterRanges must define at least one hyperparameter range to tune")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise validation(f"Hyperparameters {duplicates} appear in more than one parameter range")
        clashes = sorted(set(names) & set(static_hyperparameters or {}))
        if clashes:
            raise validation(
                f"Hyperparameters {clashes} are both tuned and static; a name may be only one of them"
            )
        self.names = names

    def sample(self, rng: np.random.Generator) -> dict[str, str]:
        values = {r.name: r.format(r.from_unit(rng.random())) for r in self.numeric}
        values.update({r.name: r.values[rng.integers(len(r.values))] for r in self.categorical})
        return values

    def encode(self, values: dict[str, str]) -> np.ndarray:
        """A point of the unit cube (categoricals one-hot) for the Gaussian process."""
        point = [r.to_unit(float(values[r.name])) for r in self.numeric]
        for r in self.categorical:
            point += [1.0 if values[r.name] == v else 0.0 for v in r.values]
        return np.array(point)

    def grid(self) -> list[dict[str, str]]:
        return [
            dict(zip([r.name for r in self.categorical], combination, strict=True))
            for combination in itertools.product(*(r.values for r in self.categorical))
        ]


class RandomStrategy:
    def __init__(self, space: SearchSpace, seed: int | None):
        self.space = space
        self.rng = np.random.default_rng(seed)

    def propose(self, history: list[tuple[dict[str, str], float | None]]) -> dict[str, str] | None:
        return self.space.sample(self.rng)


class GridStrategy:
    def __init__(self, space: SearchSpace):
        self.points = space.grid()
        self.next_index = 0

    def propose(self, history: list[tuple[dict[str, str], float | None]]) -> dict[str, str] | None:
        if self.next_index >= len(self.points):
            return None
        self.next_index += 1
        return self.points[self.next_index - 1]


class BayesianStrategy:
    """Expected improvement under a Gaussian process; ``history`` values are to be minimised."""

    def __init__(self, space: SearchSpace, seed: int | None):
        self.space = space
        self.rng = np.random.default_rng(seed)
        self.seed = seed

    def propose(self, history: list[tuple[dict[str, str], float | None]]) -> dict[str, str] | None:
        from scipy.stats import norm
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import Matern, WhiteKernel

        observed = [
            (values, value) for values, value in history if value is not None and math.isfinite(value)
        ]
        if len(observed) < _RANDOM_STARTS:
            return self.space.sample(self.rng)
        points = np.array([self.space.encode(values) for values, _ in observed])
        targets = np.array([value for _, value in observed])
        process = GaussianProcessRegressor(
            kernel=Matern(nu=2.5) + WhiteKernel(), normalize_y=True, random_state=self.seed
        )
        process.fit(points, targets)
        candidates = [self.space.sample(self.rng) for _ in range(_CANDIDATES)]
        mean, std = process.predict(np.array([self.space.encode(c) for c in candidates]), return_std=True)
        std = np.maximum(std, 1e-12)
        improvement = targets.min() - mean
        z = improvement / std
        expected = improvement * norm.cdf(z) + std * norm.pdf(z)
        return candidates[int(np.argmax(expected))]


def make_strategy(strategy: str, space: SearchSpace, seed: int | None):
    """The strategy object for a tuning job (validated by the control plane first)."""
    if strategy == "Grid":
        return GridStrategy(space)
    if strategy == "Random":
        return RandomStrategy(space, seed)
    return BayesianStrategy(space, seed)


def check_strategy(strategy: str, space: SearchSpace) -> None:
    """SageMaker's rules for a strategy and its ranges."""
    if strategy == "Hyperband":
        raise validation(
            "Strategy Hyperband is not supported by the local engine; use Bayesian, Random or Grid"
        )
    if strategy == "Grid" and space.numeric:
        raise validation(
            "The Grid strategy supports only CategoricalParameterRanges; "
            f"{[r.name for r in space.numeric]} are integer or continuous ranges"
        )

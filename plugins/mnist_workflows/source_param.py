"""``mnist_source_param``: the trigger form's field naming where the digits come from."""

from __future__ import annotations

from airflow.sdk import Param

from include.mnist import DEFAULT_SOURCE, SPEC_PATTERN, VALID_FORMS


def mnist_source_param(default: str = DEFAULT_SOURCE, *, section: str | None = None) -> Param:
    """A typed DAG param for the MNIST source, valid in the trigger form; ``sample`` works offline.
    ``section`` names the trigger form's group of fields it appears in."""
    return Param(
        default,
        type="string",
        pattern=SPEC_PATTERN,
        title="MNIST source",
        description="Where to get MNIST. One of: " + ", ".join(VALID_FORMS) + ".",
        examples=["sample", "mnist", "fashion-mnist"],
        **({"section": section} if section else {}),
    )

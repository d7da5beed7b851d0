"""How a job or an endpoint fails: one exception whose message is its ``FailureReason``.

SageMaker keeps at most 1,024 characters of a ``FailureReason`` (``DescribeTrainingJob``,
``DescribeTransformJob``, ``DescribeEndpoint``, ``DescribeHyperParameterTuningJob``: "Length
Constraints: Maximum length of 1024"), so every reason the engine stores is cut here and nowhere else.
"""

from __future__ import annotations

__all__ = ["FAILURE_REASON_LIMIT", "JobFailure", "failure_reason"]

FAILURE_REASON_LIMIT = 1024


def failure_reason(text: str) -> str:
    """``text`` as a ``FailureReason``: at most :data:`FAILURE_REASON_LIMIT` characters."""
    return text[:FAILURE_REASON_LIMIT]


class JobFailure(Exception):
    """A training job, transform job, tuning job or endpoint deployment failed for the reason in the
    message, phrased the way SageMaker phrases it (``ClientError: ...``, ``AlgorithmError: ...``).

    A runner that catches it ends the resource as ``Failed`` with :attr:`reason`; inside an algorithm
    container the message goes to ``output/failure``, which becomes the job's ``FailureReason``.
    """

    @property
    def reason(self) -> str:
        return failure_reason(str(self))
